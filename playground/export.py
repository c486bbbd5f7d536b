"""Export a session as a standalone PyTorch script that reruns it: same data, same initial weights, same rule.

The script is written for people to read: an nn.Sequential, autograd, torch.optim, and TF Playground's batching
and regularization spelled out in a few lines. It prints every epoch's losses as the app computes them (the tests
run it and compare, to 1e-9).
"""
from __future__ import annotations

from .session import TrainingSession

SCRIPT = '''#!/usr/bin/env python3
"""A Neural Network Playground run, exported as plain PyTorch.

It rebuilds the run from its start, with the same data, the same initial weights and the same training rule and
options, trains it and prints each epoch's losses as the playground computes them.

    pip install torch
    python {filename} [epochs]        # default: {epochs}

Options: {summary}
"""
import sys

import torch
from torch import nn

torch.set_default_dtype(torch.float64)

CONFIG = {config!r}
FEATURES = {features!r}
TRAIN = torch.tensor([
{train}
]).view(-1, 3)                      # x, y, label: in the order training goes through them
TEST = torch.tensor([
{test}
]).view(-1, 3)
INITIAL_WEIGHTS = {weights!r}       # [layer][to][from]
INITIAL_BIASES = {biases!r}         # [layer][to]


def features(points):
    """The input features, unscaled as in TensorFlow Playground."""
    x, y = points[:, 0], points[:, 1]
    columns = {{"x": x, "y": y, "xSquared": x * x, "ySquared": y * y, "xTimesY": x * y,
               "sinX": torch.sin(x), "sinY": torch.sin(y)}}
    return torch.stack([columns[name] for name in FEATURES], dim=1) if FEATURES else points[:, :0]


ACTIVATIONS = {{"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity}}


def build_model():
    """Linear layers with the hidden activation between them; the model returns the output neuron's input z."""
    layers = []
    for index, (weights, biases) in enumerate(zip(INITIAL_WEIGHTS, INITIAL_BIASES)):
        linear = nn.Linear(len(weights[0]), len(weights))
        with torch.no_grad():
            linear.weight.copy_(torch.tensor(weights).view(len(weights), -1))
            linear.bias.copy_(torch.tensor(biases))
        layers.append(linear)
        if index < len(INITIAL_WEIGHTS) - 1:
            layers.append(ACTIVATIONS[CONFIG["activation"]]())
    return nn.Sequential(*layers)


def output(z):
    """The output neuron: tanh (classification), linear (regression), or 2·sigmoid(z) − 1 with cross-entropy."""
    if CONFIG["problem"] == "regression":
        return z
    return torch.tanh(0.5 * z) if LOSS == "crossEntropy" else torch.tanh(z)


LOSS = "crossEntropy" if CONFIG["problem"] == "classification" and CONFIG["loss"] == "crossEntropy" else "squared"


def point_losses(z, labels):
    if LOSS == "crossEntropy":       # binary cross-entropy; labels ±1 are the classes 0 and 1
        return nn.functional.binary_cross_entropy_with_logits(z, (labels + 1) / 2, reduction="none")
    return 0.5 * (output(z) - labels) ** 2


def make_optimizer(parameters):
    lr = CONFIG["learningRate"]
    return {{"sgd": lambda: None,
            "momentum": lambda: torch.optim.SGD(parameters, lr=lr, momentum=CONFIG["momentum"]),
            "adam": lambda: torch.optim.Adam(parameters, lr=lr),
            "rmsprop": lambda: torch.optim.RMSprop(parameters, lr=lr)}}[CONFIG["optimizer"]]()


def update(model, optimizer, samples, dead):
    """One update from the gradients summed over `samples` points, then TF Playground's L1/L2 on weights only,
    with the penalty's derivative taken at the weight before the step. L1 kills a link whose weight it pushes
    across zero."""
    lr, rate, kind = CONFIG["learningRate"], CONFIG["regularizationRate"], CONFIG["regularization"]
    weights = [layer.weight for layer in model if isinstance(layer, nn.Linear)]
    with torch.no_grad():
        slopes = [w.sign() if kind == "L1" else w.clone() for w in weights] if kind != "none" and rate else None
        for parameter in model.parameters():
            parameter.grad /= samples                         # the batch mean
        if optimizer is None:
            for parameter in model.parameters():
                parameter -= lr * parameter.grad
        else:
            optimizer.step()
        for index, weight in enumerate(weights):
            if slopes is not None:
                after = weight - lr * rate * slopes[index]
                if kind == "L1":
                    dead[index] |= weight * after < 0
                weight.copy_(after)
            weight[dead[index]] = 0.0
    model.zero_grad()


def evaluate(model, inputs, labels):
    with torch.no_grad():
        z = model(inputs).view(-1)
        loss = point_losses(z, labels).mean().item()
        accuracy = ((output(z) >= 0) == (labels > 0)).double().mean().item()
    return loss, accuracy


def main(epochs):
    model = build_model()
    optimizer = make_optimizer(model.parameters())
    dead = [torch.zeros_like(layer.weight, dtype=torch.bool) for layer in model if isinstance(layer, nn.Linear)]
    train_x, train_y = features(TRAIN[:, :2]), TRAIN[:, 2]
    test_x, test_y = features(TEST[:, :2]), TEST[:, 2]
    batch = max(1, min(CONFIG["batchSize"], len(train_x)))
    waiting = 0                      # points whose gradients wait for the next update
    for epoch in range(1, epochs + 1):
        # One epoch: every training point once, in order; an update every `batch` points of the epoch, so a
        # partial batch at the end waits and joins the next epoch's first update (TF Playground's rule).
        for start in range(0, len(train_x), batch):
            x, y = train_x[start:start + batch], train_y[start:start + batch]
            point_losses(model(x).view(-1), y).sum().backward()   # gradients add up in .grad
            waiting += len(x)
            if len(x) == batch:
                update(model, optimizer, waiting, dead)
                waiting = 0
        train_loss, train_accuracy = evaluate(model, train_x, train_y)
        test_loss, test_accuracy = evaluate(model, test_x, test_y)
        report = f"epoch {{epoch}}: train loss {{train_loss!r}}, test loss {{test_loss!r}}"
        if CONFIG["problem"] == "classification":
            report += f", train accuracy {{train_accuracy:.3f}}, test accuracy {{test_accuracy:.3f}}"
        print(report)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else {epochs})
'''

DEFAULT_EPOCHS = 100


def python_script(session: TrainingSession, filename: str = "playground_run.py") -> str:
    """The session's experiment from its initial weights, as a script that needs only PyTorch."""
    weights, biases = session.initial_parameters
    data = session.data
    config = dict(session.config, networkShape=list(session.config["networkShape"]))

    def rows(points, labels):
        return "\n".join(f"    [{x!r}, {y!r}, {label!r}]," for (x, y), label in zip(points.tolist(), labels.tolist()))

    summary = ", ".join(f"{name}={config[name]}" for name in (
        "problem", "activation", "networkShape", "learningRate", "batchSize", "optimizer", "loss",
        "regularization", "regularizationRate", "seed"))
    return SCRIPT.format(filename=filename, epochs=DEFAULT_EPOCHS, summary=summary, config=config,
                         features=session.feature_names, train=rows(data.train_points, data.train_labels),
                         test=rows(data.test_points, data.test_labels), weights=weights, biases=biases)
