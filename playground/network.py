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

import torch
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid, "linear": nn.Identity}
INITIAL_BIAS = 0.1


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
        if len(weights) != self.num_layers or len(biases) != self.num_layers:
            raise ValueError(f"expected {self.num_layers} layers of weights and biases")
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


# name -> (in-place forward from pre-activation z into out, derivative written into grad from the output)
_KERNELS = {
    "tanh": (lambda z, out: torch.tanh(z, out=out), _tanh_grad),
    "sigmoid": (lambda z, out: torch.sigmoid(z, out=out), _sigmoid_grad),
    "relu": (lambda z, out: torch.clamp_min(z, 0.0, out=out), _relu_grad),
    "linear": (lambda z, out: out.copy_(z), None),
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


class Trainer:
    """TF Playground's SGD on a PlaygroundNet, with a hand-written backward pass into preallocated buffers.

    Holds the training state that TF Playground keeps in its node and link objects: the accumulated gradient, how
    many samples it covers (the carry of a trailing partial batch) and which links L1 has killed.
    """

    def __init__(self, net: PlaygroundNet, regularization: str = "none"):
        self.net = net
        self.regularization = regularization
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
        self._ones = torch.ones((), dtype=torch.float64)
        self.carried = 0                               # samples whose gradients wait in `accumulated`
        self.dead = torch.zeros_like(self.flat, dtype=torch.bool)
        self._reg_term = torch.empty_like(self.flat)
        self._scratch = torch.empty_like(self.flat)
        self._crossed = torch.empty_like(self.dead)
        self._zero = torch.zeros((), dtype=torch.float64)
        self._scratch_by_rows: dict = {}
        self._chunks: list = []
        self._eval = None

    # --- data --------------------------------------------------------------------------------------------------

    def buffers(self, inputs: torch.Tensor) -> _Buffers:
        """Buffers holding these input rows, ready for `forward`."""
        return _Buffers(inputs, self.net.layer_sizes, self._scratch_by_rows)

    def set_data(self, train_inputs, train_labels, test_inputs, test_labels, batch_size: int) -> None:
        """Fix the training order, the batches and the evaluation set (all float64 tensors)."""
        train_labels, test_labels = train_labels.reshape(1, -1), test_labels.reshape(1, -1)
        n = train_inputs.shape[0]
        self.batch_size = batch_size
        self._chunks = []
        for start in range(0, n, batch_size):
            stop = min(start + batch_size, n)
            self._chunks.append((self.buffers(train_inputs[start:stop]), train_labels[:, start:stop],
                                 stop - start, stop - start == batch_size))
        everything = torch.cat([train_inputs, test_inputs])
        buffers = self.buffers(everything)
        # One matrix-vector product turns squared errors into both mean losses: row 0 averages the training
        # points, row 1 the test points.
        weights = torch.zeros(2, everything.shape[0], dtype=torch.float64)
        weights[0, :n] = 0.5 / n if n else math.nan
        weights[1, n:] = 0.5 / test_inputs.shape[0] if test_inputs.shape[0] else math.nan
        labels = torch.cat([train_labels, test_labels], dim=1)
        self._eval = (buffers, labels, weights, torch.empty_like(labels))

    # --- maths -------------------------------------------------------------------------------------------------

    def forward(self, buffers: _Buffers) -> torch.Tensor:
        """Every node's output for the rows held in `buffers`; returns the output column."""
        for layer, (activate, _) in enumerate(self._kernels):
            torch.mm(self._augmented[layer], buffers.augmented[layer], out=buffers.pre[layer])
            activate(buffers.pre[layer], buffers.outputs[layer + 1])
        return buffers.outputs[-1]

    def _backward(self, buffers: _Buffers, labels: torch.Tensor, accumulate: bool) -> None:
        """Add (or write) this chunk's summed gradients into `accumulated`."""
        last = len(self._kernels) - 1
        delta = buffers.delta[last]
        torch.sub(buffers.outputs[-1], labels, out=delta)            # d(0.5(ŷ-y)²)/dŷ
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

    def _update(self, learning_rate: float, regularization_rate: float) -> None:
        step = -learning_rate / self.carried
        flat = self.flat
        if self.regularization == "none" or regularization_rate == 0:
            flat.add_(self.accumulated, alpha=step)
            if self.regularization == "L1":
                flat.masked_fill_(self.dead, 0.0)
            return
        scale = learning_rate * regularization_rate
        reg_term = self._reg_term
        if self.regularization == "L2":
            torch.mul(flat, self.net.weight_mask, out=reg_term)                  # R'(w) = w, before the step
            flat.add_(self.accumulated, alpha=step)
            flat.sub_(reg_term, alpha=scale)
            return
        torch.sign(flat, out=reg_term).mul_(self.net.weight_mask)               # R'(w) = sign(w), before the step
        flat.add_(self.accumulated, alpha=step)
        after = torch.sub(flat, reg_term, alpha=scale, out=self._scratch)
        torch.lt(reg_term.copy_(flat).mul_(after), 0.0, out=self._crossed)   # the penalty pushed w across 0
        self.dead.logical_or_(self._crossed)
        torch.where(self.dead, self._zero, after, out=flat)

    def train_epoch(self, learning_rate: float, regularization_rate: float) -> None:
        """One pass over the training set in its fixed order, exactly as TF Playground's oneStep()."""
        with torch.no_grad():
            for buffers, labels, rows, full in self._chunks:
                self.forward(buffers)
                self._backward(buffers, labels, accumulate=self.carried > 0)
                self.carried += rows
                if full:
                    self._update(learning_rate, regularization_rate)
                    self.carried = 0

    def losses(self) -> tuple[float, float]:
        """Mean 0.5·(ŷ−y)² over the training set and the test set, without the regularization penalty."""
        buffers, labels, weights, errors = self._eval
        with torch.no_grad():
            torch.sub(self.forward(buffers), labels, out=errors).square_()
            train, test = torch.mv(weights, errors.view(-1)).tolist()
        return train, test

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
