"""Export a session as a standalone PyTorch script that reruns it: same data, same initial weights, same rule.

The script is plain_torch.py's source (nn.Linear layers, autograd, torch.optim and TF Playground's batching and
regularization spelled out in a few lines), followed by the run itself as data. It prints every epoch's losses as the
app computes them (the tests run it and compare, to 1e-9).
"""

from __future__ import annotations

import ast
import inspect
import pprint

from . import plain_torch
from .options import config_to_json, training_rule
from .session import TrainingSession

DEFAULT_EPOCHS = 100
HEADER = '''#!/usr/bin/env python3
"""A Neural Network Playground run, exported as plain PyTorch.

It rebuilds the run from its start, with the same data, the same initial weights and the same training rule and
options, trains it and prints each epoch's losses as the playground computes them.

    pip install torch
    python {filename} [epochs]        # default: {epochs}

Options: {summary}
"""
'''
FOOTER = """

if __name__ == "__main__":
    import sys

    main(RUN, int(sys.argv[1]) if len(sys.argv) > 1 else {epochs})
"""


def _code_without_docstring(module) -> str:
    """A module's source after its docstring (the script has a header of its own)."""
    source = inspect.getsource(module)
    docstring = ast.parse(source).body[0]
    return "\n".join(source.splitlines()[docstring.end_lineno :]).lstrip("\n")


def run_data(session: TrainingSession) -> dict:
    """What the script reruns: the config, the training rule, the inputs, the data in training order (x, y,
    label rows) and the initial weights (weights[layer][to][from], biases[layer][to])."""
    weights, biases = session.initial_parameters
    data = session.data

    def rows(points, labels):
        return [[x, y, label] for (x, y), label in zip(points.tolist(), labels.tolist(), strict=True)]

    return {
        "config": config_to_json(session.config),
        "rule": list(training_rule(session.config)),
        "features": list(session.feature_names),
        "train": rows(data.train_points, data.train_labels),
        "test": rows(data.test_points, data.test_labels),
        "initial_weights": weights,
        "initial_biases": biases,
    }


def python_script(session: TrainingSession, filename: str = "playground_run.py") -> str:
    """The session's experiment from its initial weights, as a script that needs only PyTorch."""
    run = run_data(session)
    config = run["config"]
    summary = ", ".join(
        f"{name}={config[name]}"
        for name in (
            "problem",
            "activation",
            "networkShape",
            "learningRate",
            "batchSize",
            "optimizer",
            "loss",
            "regularization",
            "regularizationRate",
            "seed",
        )
    )
    return (
        HEADER.format(filename=filename, epochs=DEFAULT_EPOCHS, summary=summary)
        + _code_without_docstring(plain_torch)
        + "\n\nRUN = "
        + pprint.pformat(run, width=120, compact=True)
        + FOOTER.format(epochs=DEFAULT_EPOCHS)
    )
