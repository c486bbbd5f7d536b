"""TF Playground's training rule in plain PyTorch: nn.Linear layers, autograd and torch.optim, written to be read.

This file is the code of the exported script: export.py writes its source, then the run's config, data and initial
weights, then a call of `main`. It needs only PyTorch (no imports from the project), and the tests import it and run
it as code. It agrees with the app's own engine (playground/network.py) to 1e-9 per epoch.
"""

import torch
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity}


def as_tensor(values):
    return torch.tensor(values, dtype=torch.float64)


def features(points, names):
    """The input features, unscaled as in TensorFlow Playground. (torch.sin may differ from JavaScript's Math.sin in
    the last bit, far below the 1e-9 this script is checked to.)"""
    x, y = points[:, 0], points[:, 1]
    columns = {
        "x": x,
        "y": y,
        "xSquared": x * x,
        "ySquared": y * y,
        "xTimesY": x * y,
        "sinX": torch.sin(x),
        "sinY": torch.sin(y),
    }
    return torch.stack([columns[name] for name in names], dim=1) if names else points[:, :0]


def build_model(weights, biases, activation):
    """Linear layers (weights[layer][to][from], biases[layer][to]) with the hidden activation between them; the model
    returns the output neuron's input z."""
    layers = []
    for index, (layer_weights, layer_biases) in enumerate(zip(weights, biases, strict=True)):
        matrix = as_tensor(layer_weights).view(len(layer_weights), -1)
        linear = nn.Linear(matrix.shape[1], matrix.shape[0], dtype=torch.float64)
        with torch.no_grad():
            linear.weight.copy_(matrix)
            linear.bias.copy_(as_tensor(layer_biases))
        layers.append(linear)
        if index < len(weights) - 1:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


class Rule:
    """The output neuron and the loss: tanh with squared error (TF Playground's), a linear output with squared error
    (regression), or the logistic output 2·sigmoid(z) − 1 with binary cross-entropy."""

    def __init__(self, output_activation, loss):
        self.output_activation, self.loss = output_activation, loss

    def output(self, z):
        return {"tanh": torch.tanh, "linear": lambda v: v, "logistic": lambda v: torch.tanh(0.5 * v)}[
            self.output_activation
        ](z)

    def point_losses(self, z, labels):
        if self.loss == "crossEntropy":  # labels ±1 are the classes 0 and 1
            return nn.functional.binary_cross_entropy_with_logits(z, (labels + 1) / 2, reduction="none")
        return 0.5 * (self.output(z) - labels) ** 2


def make_optimizer(parameters, config):
    """None for TF Playground's plain SGD (done by hand in `update`), else a torch.optim optimizer."""
    lr = config["learningRate"]
    return {
        "sgd": lambda: None,
        "momentum": lambda: torch.optim.SGD(parameters, lr=lr, momentum=config["momentum"]),
        "adam": lambda: torch.optim.Adam(parameters, lr=lr),
        "rmsprop": lambda: torch.optim.RMSprop(parameters, lr=lr),
    }[config["optimizer"]]()


def update(model, optimizer, samples, dead, config):
    """One update from the gradients summed over `samples` points, then TF Playground's L1/L2 on weights only,
    with the penalty's derivative taken at the weight before the step. L1 kills a link whose weight it pushes
    across zero."""
    lr, rate, kind = config["learningRate"], config["regularizationRate"], config["regularization"]
    weights = [layer.weight for layer in model if isinstance(layer, nn.Linear)]
    with torch.no_grad():
        slopes = [w.sign() if kind == "L1" else w.clone() for w in weights] if kind != "none" and rate else None
        for parameter in model.parameters():
            parameter.grad /= samples  # the batch mean
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


def evaluate(model, rule, inputs, labels):
    """Mean loss (without the penalty) and the share of points on the side of 0 that their label is."""
    with torch.no_grad():
        z = model(inputs).view(-1)
        loss = rule.point_losses(z, labels).mean().item()
        accuracy = ((rule.output(z) >= 0) == (labels > 0)).double().mean().item()
    return loss, accuracy


def train(run, epochs):
    """Rebuild the run from its initial weights and train it; yields (train loss, test loss, train accuracy,
    test accuracy) after each epoch.

    `run` holds config (the options), rule ((output activation, loss)), features, train and test ((x, y, label)
    rows in training order), initial_weights and initial_biases.
    """
    config, rule = run["config"], Rule(*run["rule"])
    model = build_model(run["initial_weights"], run["initial_biases"], config["activation"])
    optimizer = make_optimizer(model.parameters(), config)
    dead = [torch.zeros_like(layer.weight, dtype=torch.bool) for layer in model if isinstance(layer, nn.Linear)]
    train_rows, test_rows = as_tensor(run["train"]).view(-1, 3), as_tensor(run["test"]).view(-1, 3)
    train_x, train_y = features(train_rows[:, :2], run["features"]), train_rows[:, 2]
    test_x, test_y = features(test_rows[:, :2], run["features"]), test_rows[:, 2]
    batch = max(1, min(config["batchSize"], len(train_x)))
    waiting = 0  # points whose gradients wait for the next update
    for _ in range(epochs):
        # One epoch: every training point once, in order; an update every `batch` points of the epoch, so a
        # partial batch at the end waits and joins the next epoch's first update (TF Playground's rule).
        for start in range(0, len(train_x), batch):
            x, y = train_x[start : start + batch], train_y[start : start + batch]
            rule.point_losses(model(x).view(-1), y).sum().backward()  # gradients add up in .grad
            waiting += len(x)
            if len(x) == batch:
                update(model, optimizer, waiting, dead, config)
                waiting = 0
        train_loss, train_accuracy = evaluate(model, rule, train_x, train_y)
        test_loss, test_accuracy = evaluate(model, rule, test_x, test_y)
        yield train_loss, test_loss, train_accuracy, test_accuracy


def main(run, epochs):
    """Print each epoch's losses (and accuracies, for classification) as the playground shows them."""
    for epoch, (train_loss, test_loss, train_accuracy, test_accuracy) in enumerate(train(run, epochs), 1):
        report = f"epoch {epoch}: train loss {train_loss!r}, test loss {test_loss!r}"
        if run["config"]["problem"] == "classification":
            report += f", train accuracy {train_accuracy:.3f}, test accuracy {test_accuracy:.3f}"
        print(report)
