"""Configs that several test modules need."""

# Diverges within a few epochs: the loss becomes infinite, then NaN (tests/test_session.py).
DIVERGING = {
    "learningRate": 10,
    "activation": "relu",
    "regularization": "L2",
    "regularizationRate": 10,
    "problem": "regression",
    "batchSize": 1,
}
