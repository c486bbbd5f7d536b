"""The network: a real PyTorch model, trained with TensorFlow Playground's exact rule.

`PlaygroundNet` is an ordinary `nn.Module` (float64 `nn.Linear` layers and activations) that you can call, export
and differentiate with autograd. Its weights and biases are views into one flat buffer, laid out layer by layer as
augmented matrices [W | b] of shape (out, in + 1). That layout lets `Trainer` do TF Playground's SGD with very few
tensor operations: a hand-written backward pass writes every gradient straight into a flat accumulator of the same
layout, and one in-place `add_` updates all weights and biases at once. At these network sizes the cost is
per-operation overhead, not arithmetic, so the operation count is what sets the speed (see bench/engine.py).

TF Playground semantics kept exactly (nn.ts, playground.ts oneStep):
- loss 0.5·(ŷ−y)²; an update every `batch_size` samples of an epoch ((i+1) % batch == 0) using the batch-mean
  gradient; a trailing partial batch is not flushed, its gradients carry into the next epoch's first update;
- L1/L2 act on weights only, with the penalty's derivative taken at the weight before the gradient step;
- L1: a weight whose regularization step crosses zero is set to 0 and its link is dead until the next reset;
- ReLU's derivative is 0 at 0; output activation tanh (classification) or linear (regression).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import nn

class SymmetricSigmoid(nn.Module):
    """2·σ(z) − 1 = tanh(z/2): the logistic output for cross-entropy, kept in [-1, 1] like TF Playground's tanh
    output so that maps, labels (±1) and colours mean the same; the probability of the blue class is (out + 1) / 2."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(0.5 * z)


ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity,
               "logistic": SymmetricSigmoid}
INITIAL_BIAS = 0.1
OPTIMIZERS = {"momentum": lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
              "adam": lambda params: torch.optim.Adam(params, lr=0.1),
              "rmsprop": lambda params: torch.optim.RMSprop(params, lr=0.1)}


class PlaygroundNet(nn.Module):
    """A fully connected float64 network of shape [inputs, *hidden, 1]."""

    def __init__(self, layer_sizes: list[int], activation: str, output_activation: str):
        super().__init__()
        self.layer_sizes = list(layer_sizes)
        self.activation_names = [activation] * (len(layer_sizes) - 2) + [output_activation]
        sizes = list(zip(layer_sizes[:-1], layer_sizes[1:]))
        self.flat = torch.zeros(sum(out * (inp + 1) for inp, out in sizes), dtype=torch.float64)
        self.augmented: list[torch.Tensor] = []        # [W | b] views into self.flat
        self.layers = nn.ModuleList()
        offset = 0
        for (inp, out), name in zip(sizes, self.activation_names):
            block = self.flat[offset:offset + out * (inp + 1)].view(out, inp + 1)
            offset += out * (inp + 1)
            linear = nn.utils.skip_init(nn.Linear, inp, out, dtype=torch.float64)   # its init is replaced
            # Parameters alias the flat buffer, so the trainer's in-place updates are the model's weights.
            linear.weight = nn.Parameter(block[:, :inp])
            linear.bias = nn.Parameter(block[:, inp])
            self.augmented.append(block)
            self.layers.append(nn.Sequential(linear, ACTIVATIONS[name]()))
        # 1 where the flat buffer holds a weight, 0 where it holds a bias: regularization touches weights only.
        self.weight_mask = torch.cat([torch.cat([torch.ones(out, inp), torch.zeros(out, 1)], 1).flatten()
                                      for inp, out in sizes]).to(torch.float64)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            inputs = layer(inputs)
        return inputs

    @property
    def num_layers(self) -> int:
        return len(self.augmented)

    def init_parameters(self, random, zero: bool = False) -> None:
        """TF Playground's initialisation: weights U(-0.5, 0.5) drawn in order layer, to-node, from-node; biases 0.1.

        `random` is a callable returning floats in [0, 1) (the session's seeded stream). With `zero`, weights and
        biases are 0 but the draws still happen, so the stream stays where TF Playground leaves it.
        """
        with torch.no_grad():
            for block in self.augmented:
                out, cols = block.shape
                draws = [random() - 0.5 for _ in range(out * (cols - 1))]
                block[:, :-1] = torch.tensor(draws, dtype=torch.float64).view(out, cols - 1)
                block[:, -1] = INITIAL_BIAS
            if zero:
                self.flat.zero_()

    def get_parameters(self) -> tuple[list, list]:
        """(weights[layer][to][from], biases[layer][to]) as plain lists."""
        return ([block[:, :-1].tolist() for block in self.augmented],
                [block[:, -1].tolist() for block in self.augmented])

    def set_parameters(self, weights: list, biases: list) -> None:
        if not (isinstance(weights, list) and isinstance(biases, list)
                and len(weights) == len(biases) == self.num_layers):
            raise ValueError(f"expected lists of {self.num_layers} layers of weights and biases")
        new = []
        for index, (block, w, b) in enumerate(zip(self.augmented, weights, biases)):
            try:
                w, b = torch.as_tensor(w, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError):
                raise ValueError(f"layer {index}: weights and biases must be nested lists of numbers") from None
            out, cols = block.shape
            if w.shape != (out, cols - 1) or b.shape != (out,):
                raise ValueError(f"layer {index}: expected weights of shape {(out, cols - 1)} and biases of "
                                 f"shape {(out,)}, got {tuple(w.shape)} and {tuple(b.shape)}")
            new.append((block, w, b))
        with torch.no_grad():
            for block, w, b in new:
                block[:, :-1] = w
                block[:, -1] = b


def _tanh_grad(out, grad, ones):   # d tanh = 1 - tanh²
    torch.addcmul(ones, out, out, value=-1.0, out=grad)


def _sigmoid_grad(out, grad, ones):  # d σ = σ(1 - σ)
    torch.addcmul(out, out, out, value=-1.0, out=grad)


def _relu_grad(out, grad, ones):   # 1 where the input was > 0, i.e. where the output is > 0; 0 at 0
    torch.sign(out, out=grad)


def _logistic_grad(out, grad, ones):  # d tanh(z/2) = (1 - out²) / 2
    torch.addcmul(ones, out, out, value=-1.0, out=grad).mul_(0.5)


def _logistic(z, out):
    torch.mul(z, 0.5, out=out).tanh_()


# name -> (in-place forward from pre-activation z into out, derivative written into grad from the output)
_KERNELS = {
    "tanh": (lambda z, out: torch.tanh(z, out=out), _tanh_grad),
    "sigmoid": (lambda z, out: torch.sigmoid(z, out=out), _sigmoid_grad),
    "relu": (lambda z, out: torch.clamp_min(z, 0.0, out=out), _relu_grad),
    "linear": (lambda z, out: out.copy_(z), None),
    "logistic": (_logistic, _logistic_grad),
}


class _Buffers:
    """Preallocated activations for a fixed block of input points, one column per point.

    `nodes` holds every node's output, one row per node, each layer followed by a row of ones:
    [inputs; 1; layer 1; 1; ...; output; 1]. A layer's input is a row slice of it (the ones multiply the bias
    column of [W | b]), each layer's output is a contiguous block (fast element-wise kernels), and a frame's
    thumbnails pool the whole matrix at once. The per-layer scratch tensors depend only on the number of points and
    are shared between blocks of equal size.
    """

    def __init__(self, inputs: torch.Tensor, layer_sizes: list[int], scratch: dict):
        points = inputs.shape[0]
        self.nodes = torch.ones(sum(n + 1 for n in layer_sizes), points, dtype=torch.float64)
        starts = [0]
        for n in layer_sizes:
            starts.append(starts[-1] + n + 1)
        self.row_starts = starts[:-1]
        self.augmented = [self.nodes[s:s + n + 1] for s, n in zip(starts, layer_sizes)]   # [A; 1]
        self.outputs = [self.nodes[s:s + n] for s, n in zip(starts, layer_sizes)]        # A
        self.outputs[0].copy_(inputs.t())
        if points not in scratch:
            scratch[points] = tuple([torch.empty(n, points, dtype=torch.float64) for n in layer_sizes[1:]]
                                    for _ in range(3))
        self.pre, self.delta, self.grad = scratch[points]


class Evaluation(NamedTuple):
    train_loss: float
    test_loss: float
    train_accuracy: float | None      # classification only: the share of points on the right side of 0
    test_accuracy: float | None


class Trainer:
    """Trains a PlaygroundNet with a hand-written backward pass into preallocated buffers.

    The default (SGD, squared loss) is TF Playground's rule exactly. It holds the state that TF Playground keeps in
    its node and link objects: the accumulated gradient, how many samples it covers (the carry of a trailing
    partial batch) and which links L1 has killed. Beyond the original: momentum, Adam and RMSprop (torch.optim
    itself, on a Parameter that aliases the flat buffer) and binary cross-entropy with a logistic output. L1/L2
    always follow the original's rule, applied after whichever step the optimizer took.
    """

    def __init__(self, net: PlaygroundNet, regularization: str = "none", optimizer: str = "sgd",
                 loss: str = "squared"):
        self.net = net
        self.regularization = regularization
        self.loss = loss
        if loss == "crossEntropy" and net.activation_names[-1] != "logistic":
            raise ValueError("cross-entropy needs the logistic output")
        self.flat = net.flat.detach()                                      # plain tensor: no autograd overhead
        self.accumulated = torch.zeros_like(self.flat)
        sizes = net.layer_sizes
        offsets, offset = [], 0
        for inp, out in zip(sizes[:-1], sizes[1:]):
            offsets.append((offset, out, inp + 1))
            offset += out * (inp + 1)
        self._acc_blocks = [self.accumulated[s:s + out * cols].view(out, cols) for s, out, cols in offsets]
        self._weights_t = [block.detach()[:, :-1].t() for block in net.augmented]
        self._augmented = [block.detach() for block in net.augmented]
        self._kernels = [_KERNELS[name] for name in net.activation_names]
        if loss == "crossEntropy":
            # d BCE / dz = σ(z) − t = (out − y) / 2 for out = 2σ(z) − 1 and t = (y + 1) / 2: no derivative factor.
            self._kernels[-1] = (self._kernels[-1][0], None)
        self._output_scale = 0.5 if loss == "crossEntropy" else 1.0
        self._ones = torch.ones((), dtype=torch.float64)
        self.carried = 0                               # samples whose gradients wait in `accumulated`
        self.dead = torch.zeros_like(self.flat, dtype=torch.bool)
        self._reg_term = torch.empty_like(self.flat)
        self._scratch = torch.empty_like(self.flat)
        self._crossed = torch.empty_like(self.dead)
        self._zero = torch.zeros((), dtype=torch.float64)
        self._optimizer = None
        if optimizer != "sgd":
            self._parameter = nn.Parameter(self.flat)          # aliases the flat buffer
            self._parameter.grad = torch.zeros_like(self.flat)
            self._optimizer = OPTIMIZERS[optimizer]([self._parameter])
        self._scratch_by_rows: dict = {}
        self._chunks: list = []
        self._eval = None

    # --- data --------------------------------------------------------------------------------------------------

    def buffers(self, inputs: torch.Tensor) -> _Buffers:
        """Buffers holding these input rows, ready for `forward`."""
        return _Buffers(inputs, self.net.layer_sizes, self._scratch_by_rows)

    def set_data(self, train_inputs, train_labels, test_inputs, test_labels, batch_size: int) -> None:
        """Fix the training order, the batches and the evaluation set (all float64 tensors).

        A batch larger than the training set is cut to its size: TF Playground never has fewer than 50 training
        points, and with its rule a smaller set (your own data) would never be trained on at all.
        """
        train_labels, test_labels = train_labels.reshape(1, -1), test_labels.reshape(1, -1)
        n, n_test = train_inputs.shape[0], test_inputs.shape[0]
        batch_size = max(1, min(batch_size, n))
        self.batch_size = batch_size
        self._chunks = []
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            self._chunks.append((self.buffers(train_inputs[start:stop]), train_labels[:, start:stop],
                                 stop - start, stop - start == batch_size))
        everything = torch.cat([train_inputs, test_inputs])
        labels = torch.cat([train_labels, test_labels], dim=1)
        # One matrix-vector product turns per-point values into both means: row 0 averages the training points,
        # row 1 the test points (an empty set gives NaN, as TF Playground's 0/0 does).
        means = torch.zeros(2, n + n_test, dtype=torch.float64)
        means[0, :n] = 1 / n if n else math.nan
        means[1, n:] = 1 / n_test if n_test else math.nan
        self._eval = (self.buffers(everything), labels, means, torch.empty_like(labels), labels > 0)

    # --- maths -------------------------------------------------------------------------------------------------

    def forward(self, buffers: _Buffers) -> torch.Tensor:
        """Every node's output for the rows held in `buffers`; returns the output row."""
        for layer, (activate, _) in enumerate(self._kernels):
            torch.mm(self._augmented[layer], buffers.augmented[layer], out=buffers.pre[layer])
            activate(buffers.pre[layer], buffers.outputs[layer + 1])
        return buffers.outputs[-1]

    def _backward(self, buffers: _Buffers, labels: torch.Tensor, accumulate: bool) -> None:
        """Add (or write) this chunk's summed gradients into `accumulated`."""
        last = len(self._kernels) - 1
        delta = buffers.delta[last]
        torch.sub(buffers.outputs[-1], labels, out=delta)            # d(0.5(ŷ-y)²)/dŷ, or 2·dBCE/dz
        if self._output_scale != 1.0:
            delta.mul_(self._output_scale)
        for layer in range(last, -1, -1):
            derivative = self._kernels[layer][1]
            if derivative is not None:
                grad = buffers.grad[layer]
                derivative(buffers.outputs[layer + 1], grad, self._ones)
                delta.mul_(grad)
            target = self._acc_blocks[layer]
            if accumulate:
                torch.addmm(target, delta, buffers.augmented[layer].t(), out=target)
            else:
                torch.mm(delta, buffers.augmented[layer].t(), out=target)
            if layer:
                torch.mm(self._weights_t[layer], delta, out=buffers.delta[layer - 1])
                delta = buffers.delta[layer - 1]

    def _update(self, learning_rate: float, regularization_rate: float, momentum: float) -> None:
        flat, reg_term = self.flat, self._reg_term
        regularize = self.regularization != "none" and regularization_rate != 0
        if regularize:                                                  # R'(w) at the weight before the step
            if self.regularization == "L2":
                torch.mul(flat, self.net.weight_mask, out=reg_term)
            else:
                torch.sign(flat, out=reg_term).mul_(self.net.weight_mask)
        if self._optimizer is None:
            flat.add_(self.accumulated, alpha=-learning_rate / self.carried)
        else:
            torch.div(self.accumulated, self.carried, out=self._parameter.grad)
            group = self._optimizer.param_groups[0]
            group["lr"] = learning_rate
            if "momentum" in group and self._optimizer.__class__ is torch.optim.SGD:
                group["momentum"] = momentum
            self._optimizer.step()
        if not regularize:
            if self.regularization == "L1":
                flat.masked_fill_(self.dead, 0.0)
            return
        scale = learning_rate * regularization_rate
        if self.regularization == "L2":
            flat.sub_(reg_term, alpha=scale)
            return
        after = torch.sub(flat, reg_term, alpha=scale, out=self._scratch)
        torch.lt(reg_term.copy_(flat).mul_(after), 0.0, out=self._crossed)   # the penalty pushed w across 0
        self.dead.logical_or_(self._crossed)
        torch.where(self.dead, self._zero, after, out=flat)

    def train_epoch(self, learning_rate: float, regularization_rate: float, momentum: float = 0.9) -> None:
        """One pass over the training set in its fixed order, exactly as TF Playground's oneStep()."""
        with torch.no_grad():
            for buffers, labels, rows, full in self._chunks:
                self.forward(buffers)
                self._backward(buffers, labels, accumulate=self.carried > 0)
                self.carried += rows
                if full:
                    self._update(learning_rate, regularization_rate, momentum)
                    self.carried = 0

    def evaluate(self) -> Evaluation:
        """Mean loss (without the regularization penalty) and, for ±1 labels, accuracy on both sets."""
        buffers, labels, means, values, positive = self._eval
        with torch.no_grad():
            output = self.forward(buffers)
            if self.loss == "crossEntropy":       # BCE from the logit z, stably: softplus(z) − t·z
                logits = buffers.pre[-1]
                torch.nn.functional.softplus(logits, out=values)
                values.sub_(logits * (labels + 1) * 0.5)
            else:
                torch.sub(output, labels, out=values).square_().mul_(0.5)
            train_loss, test_loss = torch.mv(means, values.view(-1)).tolist()
            if self.net.activation_names[-1] == "linear":
                return Evaluation(train_loss, test_loss, None, None)
            correct = torch.eq(output >= 0, positive).to(torch.float64)
            train_accuracy, test_accuracy = torch.mv(means, correct.view(-1)).tolist()
        return Evaluation(train_loss, test_loss, train_accuracy, test_accuracy)

    def losses(self) -> tuple[float, float]:
        """(train loss, test loss)."""
        return self.evaluate()[:2]

    def dead_links(self) -> list:
        """dead[layer][to][from] as booleans (L1 killed the link)."""
        out, offset = [], 0
        for block in self.net.augmented:
            rows, cols = block.shape
            out.append(self.dead[offset:offset + rows * cols].view(rows, cols)[:, :-1].tolist())
            offset += rows * cols
        return out

    def set_dead_links(self, dead: list) -> None:
        """Restore which links L1 killed (dead[layer][to][from]); raises ValueError on a wrong shape."""
        if not isinstance(dead, list) or len(dead) != self.net.num_layers:
            raise ValueError(f"dead links must be a list of {self.net.num_layers} layers")
        masks, offset = [], 0
        for index, block in enumerate(self.net.augmented):
            rows, cols = block.shape
            try:
                mask = torch.as_tensor(dead[index], dtype=torch.bool)
            except (TypeError, ValueError, RuntimeError, IndexError):
                mask = None
            if mask is None or mask.shape != (rows, cols - 1):
                raise ValueError(f"dead links of layer {index} must be {rows}×{cols - 1} booleans")
            masks.append((self.dead[offset:offset + rows * cols].view(rows, cols), mask))
            offset += rows * cols
        for view, mask in masks:
            view[:, :-1] = mask


def run_epochs(config: dict, weights: list, biases: list, train_inputs, train_labels, test_inputs, test_labels,
               epochs: int) -> dict:
    """The engine as one call: build a network from a config and explicit parameters (weights[layer][to][from],
    biases[layer][to]), train `epochs` epochs on the given features and labels, and return each epoch's
    (train loss, test loss) and the final parameters.

    `config` uses the options' names: activation, problem, loss, regularization, regularizationRate,
    learningRate, batchSize, optimizer and momentum (missing ones take TF Playground's defaults).
    """
    settings = {"activation": "tanh", "problem": "classification", "loss": "squared", "regularization": "none",
                "regularizationRate": 0.0, "learningRate": 0.03, "batchSize": 10, "optimizer": "sgd",
                "momentum": 0.9, **config}
    cross_entropy = settings["problem"] == "classification" and settings["loss"] == "crossEntropy"
    output = "linear" if settings["problem"] == "regression" else "logistic" if cross_entropy else "tanh"
    sizes = [len(weights[0][0])] + [len(layer) for layer in weights]
    net = PlaygroundNet(sizes, settings["activation"], output)
    net.set_parameters(weights, biases)
    trainer = Trainer(net, settings["regularization"], settings["optimizer"],
                      "crossEntropy" if cross_entropy else "squared")
    as_tensor = lambda values: torch.as_tensor(values, dtype=torch.float64)   # noqa: E731
    trainer.set_data(as_tensor(train_inputs), as_tensor(train_labels), as_tensor(test_inputs),
                     as_tensor(test_labels), settings["batchSize"])
    losses = []
    for _ in range(epochs):
        trainer.train_epoch(settings["learningRate"], settings["regularizationRate"], settings["momentum"])
        losses.append(trainer.losses())
    final_weights, final_biases = net.get_parameters()
    return {"losses": losses, "weights": final_weights, "biases": final_biases, "dead": trainer.dead_links()}
