"""The network: a real PyTorch model, trained with TensorFlow Playground's exact rule, many networks at once.

`PlaygroundNet` is an ordinary `nn.Module` (float64 `nn.Linear` layers and activations) that you can call, export
and differentiate with autograd. Its weights and biases are views into one flat buffer, laid out layer by layer as
augmented matrices [W | b] of shape (out, in + 1).

`Trainer` is one network's training state (what TF Playground keeps in its nodes and links: the accumulated
gradient, the carried sample count, L1's dead links, plus the optimizer's state) and its data. `TrainerGroup` trains
trainers of one kind (equal `Trainer.kind`) together: their flat buffers stacked as [N, P], viewed per layer as
[N, out, in + 1], so one batched matrix product per layer per batch step serves every member. At these network
sizes the cost is per-operation overhead, not arithmetic, so N members cost little more than one (see
bench/engine.py). A trainer alone is a group of one: there is one implementation of the maths.

TF Playground semantics kept exactly (nn.ts, playground.ts oneStep):
- loss 0.5·(ŷ−y)²; an update every `batch_size` samples of an epoch ((i+1) % batch == 0) using the batch-mean
  gradient; a trailing partial batch is not flushed, its gradients carry into the next epoch's first update;
- L1/L2 act on weights only, with the penalty's derivative taken at the weight before the gradient step;
- L1: a weight whose regularization step crosses zero is set to 0 and its link is dead until the next reset;
- ReLU's derivative is 0 at 0; output activation tanh (classification) or linear (regression);
- the mean loss is a sum divided by the count, so one overflowing point makes it Infinity, not NaN.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn


class SymmetricSigmoid(nn.Module):
    """2·σ(z) − 1 = tanh(z/2): the logistic output for cross-entropy, kept in [-1, 1] like TF Playground's tanh
    output so that maps, labels (±1) and colours mean the same; the probability of the blue class is (out + 1) / 2."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(0.5 * z)


ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "linear": nn.Identity,
    "logistic": SymmetricSigmoid,
}
INITIAL_BIAS = 0.1


def split(flat: torch.Tensor, layer_sizes: Sequence[int]) -> list[torch.Tensor]:
    """Views of a [..., P] tensor laid out layer by layer as [W | b] blocks, as per-layer [..., out, in + 1]."""
    blocks, offset = [], 0
    for inp, out in pairwise(layer_sizes):
        blocks.append(flat[..., offset : offset + out * (inp + 1)].unflatten(-1, (out, inp + 1)))
        offset += out * (inp + 1)
    return blocks


@functools.lru_cache(maxsize=128)
def weight_mask(layer_sizes: tuple[int, ...]) -> torch.Tensor:
    """1 where the flat layout holds a weight, 0 where it holds a bias: regularization touches weights only."""
    return torch.cat(
        [torch.cat([torch.ones(out, inp), torch.zeros(out, 1)], 1).flatten() for inp, out in pairwise(layer_sizes)]
    ).to(torch.float64)


class PlaygroundNet(nn.Module):
    """A fully connected float64 network of shape [inputs, *hidden, 1]."""

    def __init__(self, layer_sizes: list[int], activation: str, output_activation: str):
        super().__init__()
        self.layer_sizes = list(layer_sizes)
        self.activation_names = [activation] * (len(layer_sizes) - 2) + [output_activation]
        sizes = list(pairwise(layer_sizes))
        self.flat = torch.zeros(sum(out * (inp + 1) for inp, out in sizes), dtype=torch.float64)
        self.augmented = self.split(self.flat)  # [W | b] views into self.flat
        self.layers = nn.ModuleList()
        for (inp, out), name, block in zip(sizes, self.activation_names, self.augmented, strict=True):
            linear = nn.utils.skip_init(nn.Linear, inp, out, dtype=torch.float64)  # its init is replaced
            # Parameters alias the flat buffer, so the trainer's in-place updates are the model's weights.
            linear.weight = nn.Parameter(block[:, :inp])
            linear.bias = nn.Parameter(block[:, inp])
            self.layers.append(nn.Sequential(linear, ACTIVATIONS[name]()))

    def split(self, flat: torch.Tensor) -> list[torch.Tensor]:
        """Views of a tensor laid out like `flat` ([..., P]) as per-layer [..., out, in + 1] blocks."""
        return split(flat, self.layer_sizes)

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
        return (
            [block[:, :-1].tolist() for block in self.augmented],
            [block[:, -1].tolist() for block in self.augmented],
        )

    def set_parameters(self, weights: Any, biases: Any) -> None:
        if not (
            isinstance(weights, list) and isinstance(biases, list) and len(weights) == len(biases) == self.num_layers
        ):
            raise ValueError(f"expected lists of {self.num_layers} layers of weights and biases")
        new = []
        for index, (block, w, b) in enumerate(zip(self.augmented, weights, biases, strict=True)):
            try:
                w, b = torch.as_tensor(w, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
            except (TypeError, ValueError, RuntimeError):
                raise ValueError(f"layer {index}: weights and biases must be nested lists of numbers") from None
            out, cols = block.shape
            if w.shape != (out, cols - 1) or b.shape != (out,):
                raise ValueError(
                    f"layer {index}: expected weights of shape {(out, cols - 1)} and biases of "
                    f"shape {(out,)}, got {tuple(w.shape)} and {tuple(b.shape)}"
                )
            new.append((block, w, b))
        with torch.no_grad():
            for block, w, b in new:
                block[:, :-1] = w
                block[:, -1] = b


def _tanh_grad(out, grad, ones):  # d tanh = 1 - tanh²
    torch.addcmul(ones, out, out, value=-1.0, out=grad)


def _sigmoid_grad(out, grad, ones):  # d σ = σ(1 - σ)
    torch.addcmul(out, out, out, value=-1.0, out=grad)


def _relu_grad(out, grad, ones):  # 1 where the input was > 0, i.e. where the output is > 0; 0 at 0
    torch.sign(out, out=grad)


def _logistic_grad(out, grad, ones):  # d tanh(z/2) = (1 - out²) / 2
    torch.addcmul(ones, out, out, value=-1.0, out=grad).mul_(0.5)


# tanh and σ must give every element the same value wherever it sits in a tensor, or a member in a group would
# drift from its solo run by an ulp at a time: torch's σ does not (its vector and scalar loops differ in the last
# bit), and torch's and numpy's tanh differ from each other, so each is computed one way only. numpy's tanh is the
# faster at every size but the smallest (bench/engine.py, "tanh_kernels"); σ is TF Playground's 1 / (1 + e^−z).


def _tanh(z, out):
    np.tanh(z.numpy(), out=out.numpy())


def _sigmoid(z, out):
    torch.neg(z, out=out).exp_().add_(1.0).reciprocal_()


def _logistic(z, out):
    _tanh(torch.mul(z, 0.5, out=out), out)


# name -> (in-place forward from pre-activation z into out, derivative written into grad from the output)
_KERNELS = {
    "tanh": (_tanh, _tanh_grad),
    "sigmoid": (_sigmoid, _sigmoid_grad),
    "relu": (lambda z, out: torch.clamp_min(z, 0.0, out=out), _relu_grad),
    "linear": (lambda z, out: out.copy_(z), None),
    "logistic": (_logistic, _logistic_grad),
}


# --- optimizers: torch.optim's single-tensor formulas, batched over members with their own rates and steps -----
# Each `update` gets the stacked parameters [N, P], the summed gradients, the sample count of each member's batch
# and per-member [N, 1] learning rates and momenta; state tensors and step counts are per member as well.


class SGD:
    """TF Playground's rule: w −= (lr / count) · accumulated, as nn.ts writes it."""

    state_names: tuple[str, ...] = ()

    def update(self, params, accumulated, counts, learning_rates, momenta, state, steps) -> None:
        params.addcmul_(accumulated, learning_rates / counts, value=-1)


class Momentum:
    """torch.optim.SGD(momentum=m): buf = m·buf + grad (buf = grad on the first step: it starts at 0), w −= lr·buf."""

    state_names = ("momentum_buffer",)

    def update(self, params, accumulated, counts, learning_rates, momenta, state, steps) -> None:
        buffer = state["momentum_buffer"]
        buffer.mul_(momenta).add_(accumulated / counts)
        params.addcmul_(buffer, learning_rates, value=-1)


class Adam:
    """torch.optim.Adam (betas 0.9, 0.999, eps 1e-8), `_single_tensor_adam` with a step count per member."""

    state_names = ("exp_avg", "exp_avg_sq")
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def update(self, params, accumulated, counts, learning_rates, momenta, state, steps) -> None:
        grad = accumulated / counts
        steps.add_(1)
        state["exp_avg"].lerp_(grad, 1 - self.beta1)
        state["exp_avg_sq"].mul_(self.beta2).addcmul_(grad, grad, value=1 - self.beta2)
        step_sizes = learning_rates / (1 - torch.pow(self.beta1, steps))
        bias_correction2_sqrt = (1 - torch.pow(self.beta2, steps)).sqrt_()
        denominator = (state["exp_avg_sq"].sqrt() / bias_correction2_sqrt).add_(self.eps)
        params.addcmul_(state["exp_avg"] / denominator, step_sizes, value=-1)


class RMSprop:
    """torch.optim.RMSprop (alpha 0.99, eps 1e-8), `_single_tensor_rmsprop`; it counts steps as torch does."""

    state_names = ("square_avg",)
    alpha, eps = 0.99, 1e-8

    def update(self, params, accumulated, counts, learning_rates, momenta, state, steps) -> None:
        grad = accumulated / counts
        steps.add_(1)
        square_avg = state["square_avg"]
        square_avg.mul_(self.alpha).addcmul_(grad, grad, value=1 - self.alpha)
        params.addcmul_(grad / square_avg.sqrt().add_(self.eps), learning_rates, value=-1)


OPTIMIZERS = {"sgd": SGD(), "momentum": Momentum(), "adam": Adam(), "rmsprop": RMSprop()}


class TrainingData(NamedTuple):
    train_inputs: torch.Tensor  # (n, features) float64, in training order
    train_labels: torch.Tensor  # (n,)
    test_inputs: torch.Tensor
    test_labels: torch.Tensor
    batch_size: int  # already cut to the training set


class Kind(NamedTuple):
    """What must match for trainers to train together: the update's code path and the data's batching. Networks of
    any shapes and activations train together, inside one `Envelope`."""

    regularization: str
    optimizer: str
    loss: str
    batch_size: int
    train_count: int
    test_count: int


class Shape(NamedTuple):
    layer_sizes: tuple[int, ...]
    activation_names: tuple[str, ...]


class Evaluation(NamedTuple):
    train_loss: float
    test_loss: float
    train_accuracy: float | None  # classification only: the share of points on the right side of 0
    test_accuracy: float | None


class Trainer:
    """One network's training state and data; `TrainerGroup` does the maths (alone, as a group of one).

    The default (SGD, squared loss) is TF Playground's rule exactly. Beyond the original: momentum, Adam and RMSprop
    (torch.optim's formulas) and binary cross-entropy with a logistic output. L1/L2 always follow the original's
    rule, applied after whichever step the optimizer took.
    """

    def __init__(self, net: PlaygroundNet, regularization: str = "none", optimizer: str = "sgd", loss: str = "squared"):
        if loss == "crossEntropy" and net.activation_names[-1] != "logistic":
            raise ValueError("cross-entropy needs the logistic output")
        self.net, self.regularization, self.optimizer, self.loss = net, regularization, optimizer, loss
        flat = net.flat.detach()  # plain tensor: no autograd overhead
        self.accumulated = torch.zeros_like(flat)  # summed gradients of the `carried` samples not yet applied
        self.carried = 0
        self.dead = torch.zeros_like(flat, dtype=torch.bool)
        self.optimizer_state = {name: torch.zeros_like(flat) for name in OPTIMIZERS[optimizer].state_names}
        self.steps = 0  # optimizer steps taken (Adam's bias correction needs them)
        self.data: TrainingData | None = None
        self.stacked: tuple | None = None  # its last group's stacked data (TrainerGroup._stack_data)

    def set_data(self, train_inputs, train_labels, test_inputs, test_labels, batch_size: int) -> None:
        """Fix the training order, the batches and the evaluation set (all float64 tensors).

        A batch larger than the training set is cut to its size: TF Playground never has fewer than 50 training
        points, and with its rule a smaller set (your own data) would never be trained on at all.
        """
        batch_size = max(1, min(batch_size, len(train_inputs)))
        self.data = TrainingData(
            train_inputs, train_labels.reshape(-1), test_inputs, test_labels.reshape(-1), batch_size
        )

    @property
    def kind(self) -> Kind:
        data = self.data  # a trainer without data can be drawn, not trained
        counts = (0, 0, 0) if data is None else (data.batch_size, len(data.train_labels), len(data.test_labels))
        return Kind(self.regularization, self.optimizer, self.loss, *counts)

    @property
    def shape(self) -> Shape:
        return Shape(tuple(self.net.layer_sizes), tuple(self.net.activation_names))

    def train_epoch(self, learning_rate: float, regularization_rate: float, momentum: float = 0.9) -> None:
        """One pass over the training set in its fixed order, exactly as TF Playground's oneStep()."""
        group = TrainerGroup([self])
        group.set_rates([learning_rate], [regularization_rate], [momentum])
        group.train_epoch()
        group.write_back()

    def evaluate(self) -> Evaluation:
        """Mean loss (without the regularization penalty) and, for ±1 labels, accuracy on both sets."""
        return TrainerGroup([self], keeps_stack=False).evaluate()[0]

    def dead_links(self) -> list:
        """dead[layer][to][from] as booleans (L1 killed the link)."""
        return [block[:, :-1].tolist() for block in self.net.split(self.dead)]

    def set_dead_links(self, dead: list) -> None:
        """Restore which links L1 killed (dead[layer][to][from]); raises ValueError on a wrong shape."""
        if not isinstance(dead, list) or len(dead) != self.net.num_layers:
            raise ValueError(f"dead links must be a list of {self.net.num_layers} layers")
        masks = []
        for index, block in enumerate(self.net.split(self.dead)):
            rows, cols = block.shape
            try:
                mask = torch.as_tensor(dead[index], dtype=torch.bool)
            except (TypeError, ValueError, RuntimeError, IndexError):
                mask = None
            if mask is None or mask.shape != (rows, cols - 1):
                raise ValueError(f"dead links of layer {index} must be {rows}×{cols - 1} booleans")
            masks.append((block, mask))
        for block, mask in masks:
            block[:, :-1] = mask


def _stack(tensors: list[torch.Tensor]) -> torch.Tensor:
    """[N, ...] from N tensors; one tensor is viewed, not copied, so a group of one trains its trainer in place."""
    return tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)


def node_matrix(inputs: torch.Tensor, layer_sizes: Sequence[int], dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """[..., points, features] inputs -> [..., rows, points] node matrices: the inputs transposed, the other rows 1
    (the bias rows stay 1; the layers' rows are overwritten by every forward pass)."""
    nodes = torch.ones(*inputs.shape[:-2], sum(n + 1 for n in layer_sizes), inputs.shape[-2], dtype=dtype)
    nodes[..., : layer_sizes[0], :] = inputs.transpose(-1, -2)
    return nodes


class Buffers:
    """Every member's activations for a block of input points, one column per point.

    `nodes[m]` holds member m's node outputs, one row per node, each layer followed by a row of ones:
    [inputs; 1; layer 1; 1; ...; output; 1]. A layer's input is a row slice of it (`augmented`: the ones multiply
    the bias column of [W | b]), each layer's output is a row block written in place (`outputs`), and a frame's
    thumbnails pool the whole matrix at once. The per-layer scratch tensors (pre-activations; for training the
    deltas and derivatives; for members of several activations a spare) depend only on the block's shape and are
    shared between blocks.
    """

    def __init__(self, nodes: torch.Tensor, augmented: list, outputs: list, scratch: dict):
        self.nodes, self.augmented, self.outputs = nodes, augmented, outputs
        self.pre, self.spare = scratch["pre"], scratch.get("spare", [])
        if "delta" in scratch:
            self.delta, self.grad = scratch["delta"], scratch["grad"]
            # The layers' inputs transposed, for the weight gradients: views made once (a group keeps its
            # buffers from turn to turn), not at every step.
            self.augmented_t = [block.transpose(1, 2) for block in augmented]


def blocks_of_buffers(
    nodes: torch.Tensor, layer_sizes: Sequence[int], scratch: dict, backward: bool = True, spare: bool = False
) -> list[Buffers]:
    """Buffers for each block of [blocks, members, rows, points] node matrices (views of them: cheap to make)."""
    _, members, _, points = nodes.shape
    starts = [sum(n + 1 for n in layer_sizes[:layer]) for layer in range(len(layer_sizes))]
    augmented = list(
        zip(*[nodes[:, :, s : s + n + 1].unbind(0) for s, n in zip(starts, layer_sizes, strict=True)], strict=True)
    )
    outputs = list(
        zip(*[nodes[:, :, s : s + n].unbind(0) for s, n in zip(starts, layer_sizes, strict=True)], strict=True)
    )
    key = (members, points, backward, spare, nodes.dtype)
    if key not in scratch:
        names = ["pre"] + (["delta", "grad"] if backward else []) + (["spare"] if spare else [])
        scratch[key] = {
            name: [torch.empty(members, n, points, dtype=nodes.dtype) for n in layer_sizes[1:]] for name in names
        }
    return [
        Buffers(block, list(block_augmented), list(block_outputs), scratch[key])
        for block, block_augmented, block_outputs in zip(nodes.unbind(0), augmented, outputs, strict=True)
    ]


def _aligned(shapes: Sequence[Shape]) -> tuple[int, list[int], list[list[int]], list[list[str]]]:
    """Shapes aligned at their outputs: the envelope's node layers (depth), each shape's first layer in it, and each
    shape's node widths and activations at every layer of it (before its start: its inputs, passed on linearly)."""
    depth = max(len(shape.layer_sizes) for shape in shapes)  # node layers, the inputs and the output included
    starts = [depth - len(shape.layer_sizes) for shape in shapes]
    pairs = list(zip(shapes, starts, strict=True))
    widths = [[shape.layer_sizes[0]] * start + list(shape.layer_sizes) for shape, start in pairs]
    names = [["linear"] * start + list(shape.activation_names) for shape, start in pairs]
    return depth, starts, widths, names


class Envelope:
    """Networks of several shapes and activations as one: the deepest stack and the widest layers of its members,
    each member exactly itself inside it (bench/engine.py: a class of 30 different networks trains as one group).

    - Depth: a member with fewer hidden layers starts later, and the layers before its first pass its inputs on
      unchanged: weights the identity, biases 0, a linear activation. Its inputs are finite features, so I·x + 0 is
      x exactly.
    - Width: every layer is as wide as its widest member. A member's extra neurons and inputs have weights and
      biases 0, restored with the identities after every update (`fixed` where not `trainable`), so they add
      exactly 0; its extra input features are 0.
    - Activations: a layer applies each activation its members use there, and each member takes its own (`plan`).
    The sums only gain zero terms: the same numbers, but BLAS picks its kernel by matrix size, so the order of a
    product's additions, and with it the last bit, can differ from the member's solo run once a batch is large
    (measured: a 1-row product against the same row in a 4-row one differs for 30 points a batch, not for 10). The
    tests hold every member to its solo run within 1e-12 for every option over their epochs; what grows from a last
    bit is Adam's normalised step, most with L1 (1.9e-9 in the weights after 20 epochs at batch 30, where every other
    optimizer stayed within 1e-15). Networks of one shape need none of this and are stacked as they are.
    """

    def __init__(self, shapes: tuple[Shape, ...]):
        self.shapes, count = shapes, len(shapes)
        self.homogeneous = len(set(shapes)) == 1
        depth, starts, widths, names = _aligned(shapes)
        self.layer_sizes = [max(column) for column in zip(*widths, strict=True)]
        # Per layer: the activation most of its members use, then each other one with the members that take it.
        self.plan: list[tuple[str, list[tuple[str, torch.Tensor]]]] = []
        for layer_names in zip(*names, strict=True):
            first, *others = Counter(layer_names).most_common()
            self.plan.append(
                (
                    first[0],
                    [(name, torch.tensor([name == n for n in layer_names]).view(-1, 1, 1)) for name, _ in others],
                )
            )
        self.regression = [shape.activation_names[-1] == "linear" for shape in shapes]
        self.weight_mask = weight_mask(tuple(self.layer_sizes))
        if self.homogeneous:
            return
        sizes, offsets = self.layer_sizes, [0]
        for inp, out in pairwise(sizes):
            offsets.append(offsets[-1] + out * (inp + 1))
        self.fixed = torch.zeros(count, offsets[-1], dtype=torch.float64)
        self.trainable = torch.zeros(count, offsets[-1], dtype=torch.bool)
        self.indices = []  # member -> where its own flat layout's entries sit in the envelope's
        for member, (shape, start) in enumerate(zip(shapes, starts, strict=True)):
            own = []
            for layer in range(depth - 1):
                inp, offset = sizes[layer], offsets[layer]
                columns = inp + 1
                if layer < start:  # the identity on its inputs
                    diagonal = torch.arange(shape.layer_sizes[0])
                    self.fixed[member, offset + diagonal * columns + diagonal] = 1.0
                    continue
                member_in, member_out = shape.layer_sizes[layer - start : layer - start + 2]
                # its [W | b] at the block's top left, its bias in the block's bias column
                cols = torch.cat([torch.arange(member_in), torch.tensor([inp])])
                own.append((offset + torch.arange(member_out)[:, None] * columns + cols).flatten())
            self.indices.append(torch.cat(own))
            self.trainable[member, self.indices[-1]] = True
        self.flat_indices = torch.cat([member * offsets[-1] + index for member, index in enumerate(self.indices)])
        # Rows no member's network has (per layer [N, width, 1]): evaluations zero them so that a real neuron that
        # overflows to Infinity stays Infinity, not 0·∞ = NaN through a padded neuron.
        self.padding = [
            torch.tensor(
                [[[row >= member_widths[layer + 1]] for row in range(sizes[layer + 1])] for member_widths in widths]
            )
            for layer in range(depth - 1)
        ]

    def stack(self, tensors: list[torch.Tensor], parameters: bool = False) -> torch.Tensor:
        """[N, P] in the envelope's layout from each member's own flat tensor; the rest 0 (the identities too, for
        `parameters`)."""
        if self.homogeneous:
            return _stack(tensors)
        stacked = self.fixed.clone() if parameters else torch.zeros(self.fixed.shape, dtype=tensors[0].dtype)
        stacked.view(-1)[self.flat_indices] = torch.cat(tensors)
        return stacked

    def member(self, stacked: torch.Tensor, member: int) -> torch.Tensor:
        """A member's own flat tensor out of a stacked one (a view for networks of one shape, else a copy)."""
        return stacked[member] if self.homogeneous else stacked[member, self.indices[member]]


# A batch step's cost, measured on this machine (bench/engine.py, "envelopes"): about 10 µs a layer, 9 µs more for
# each further activation a layer applies, and 0.035 µs per element of the members' stacked [W | b] blocks.
LAYER_STEP_US, ACTIVATION_STEP_US, ELEMENT_STEP_US = 10.0, 9.0, 0.035


def step_cost(cohorts: Sequence[tuple[Shape, int]]) -> float:
    """The estimated µs of one batch step of a group of these (shape, member count) cohorts in one envelope."""
    depth, _, member_widths, member_names = _aligned([shape for shape, _ in cohorts])
    widths = [max(column) for column in zip(*member_widths, strict=True)]
    activations = [len(set(column)) for column in zip(*member_names, strict=True)]
    members = sum(count for _, count in cohorts)
    return sum(
        LAYER_STEP_US
        + ACTIVATION_STEP_US * (activations[layer] - 1)
        + ELEMENT_STEP_US * members * widths[layer + 1] * (widths[layer] + 1)
        for layer in range(depth - 1)
    )


@functools.lru_cache(maxsize=64)
def _plan_cohorts(cohorts: tuple[tuple[Shape, int], ...]) -> tuple[tuple[int, ...], ...]:
    groups: list[list[int]] = []
    for index, cohort in enumerate(cohorts):  # the largest cohorts first: they set the envelopes
        best, best_saving = None, 0.0
        for group in groups:
            members = [cohorts[i] for i in group]
            saving = step_cost(members) + step_cost([cohort]) - step_cost([*members, cohort])
            if saving > best_saving:
                best, best_saving = group, saving
        if best is None:
            groups.append([index])
        else:
            best.append(index)
    return tuple(tuple(group) for group in groups)


def plan_groups(shapes: Sequence[Shape]) -> list[list[int]]:
    """Trainers of one kind (their shapes, in order) split into groups that train faster together than apart: each
    shape's trainers join the envelope that its step adds least to (`step_cost`), or train apart. One class on one
    network is one group; a class of thirty different networks trains in a few envelopes; one learner's large
    network does not make everyone else's step as deep and wide as it. Cached: the shapes of a class change rarely."""
    by_shape: dict[Shape, list[int]] = {}
    for index, shape in enumerate(shapes):
        by_shape.setdefault(shape, []).append(index)
    cohorts = sorted(by_shape.items(), key=lambda item: (-len(item[1]), item[0]))
    plan = _plan_cohorts(tuple((shape, len(indices)) for shape, indices in cohorts))
    return [[index for cohort in group for index in cohorts[cohort][1]] for group in plan]


@functools.lru_cache(maxsize=64)
def envelope(shapes: tuple[Shape, ...]) -> Envelope:
    """The envelope of these member shapes, made once: a group is made anew every turn, and every frame pass of a
    shape makes one (a class of thirty shapes draws thirty). A padded one holds two [N, P] tensors (135 KB for 30
    members of the largest shape); one of a single shape holds almost nothing."""
    return Envelope(shapes)


class TrainerGroup:
    """Trainers of one kind, trained, evaluated and drawn as one stack of tensors.

    Their state is stacked at construction ([N, P] parameters, gradients, dead masks and optimizer state, per-member
    carries and step counts) and written back by `write_back`; their data is stacked on the first training or
    evaluation. Each member stays exactly what it would be alone: nothing is reduced across members, and the
    per-member counts, rates and steps enter as [N, 1] columns.
    """

    def __init__(self, trainers: Sequence[Trainer], keeps_stack: bool = True):
        if not trainers:
            raise ValueError("a group needs at least one trainer")
        kinds = {trainer.kind for trainer in trainers}
        if len(kinds) != 1:
            raise ValueError("trainers of a group must be of one kind")
        self.trainers = list(trainers)
        first = self.trainers[0]
        self.kind = first.kind
        self.envelope = envelope(tuple(trainer.shape for trainer in self.trainers))
        self.layer_sizes = self.envelope.layer_sizes
        self._mixed = not self.envelope.homogeneous
        self.optimizer = OPTIMIZERS[first.optimizer]
        stack = self.envelope.stack
        self.params = stack([trainer.net.flat.detach() for trainer in self.trainers], parameters=True)
        self.accumulated = stack([trainer.accumulated for trainer in self.trainers])
        self.carried = [trainer.carried for trainer in self.trainers]
        if any(self.carried) and not all(self.carried):  # only carried samples may have a sum waiting
            self.accumulated[torch.tensor([count == 0 for count in self.carried])] = 0.0
        self.dead = stack([trainer.dead for trainer in self.trainers])
        self.state = {
            name: stack([trainer.optimizer_state[name] for trainer in self.trainers])
            for name in self.optimizer.state_names
        }
        self.steps = torch.tensor([[float(trainer.steps)] for trainer in self.trainers], dtype=torch.float64)
        self.augmented = split(self.params, self.layer_sizes)  # [N, out, in + 1] per layer
        self._weights_t = [block[:, :, :-1].transpose(1, 2) for block in self.augmented]
        self._gradients = split(self.accumulated, self.layer_sizes)
        # Per layer: the kernels of its first activation, then the other activations' kernels and member masks.
        self._plan = [
            (_KERNELS[first_name], [(name, _KERNELS[name], mask) for name, mask in others])
            for first_name, others in self.envelope.plan
        ]
        if first.loss == "crossEntropy":
            # d BCE / dz = σ(z) − t = (out − y) / 2 for out = 2σ(z) − 1 and t = (y + 1) / 2: no derivative factor.
            # (Every member's output is logistic: cross-entropy requires it, and the loss is the group's.)
            self._plan[-1] = ((self._plan[-1][0][0], None), [])
        self._output_scale = 0.5 if first.loss == "crossEntropy" else 1.0
        self._ones = torch.ones((), dtype=torch.float64)
        self._zero = torch.zeros((), dtype=torch.float64)
        self._scratch: dict = {}
        self._counts: dict = {}
        self._chunks: list | None = None  # the data, stacked on the first training or evaluation
        # Whether its members keep the stack for their next group (training does; an evaluation for an event does
        # not: a network that is not training would hold half a megabyte of buffers for nothing).
        self._keeps_stack = keeps_stack
        self._evaluation: tuple | None = None

    def member(self, stacked: torch.Tensor, member: int) -> torch.Tensor:
        """A member's own flat tensor (its parameters, gradients, dead links or optimizer state) from the stack."""
        return self.envelope.member(stacked, member)

    def __len__(self) -> int:
        return len(self.trainers)

    def set_rates(
        self, learning_rates: Sequence[float], regularization_rates: Sequence[float], momenta: Sequence[float]
    ) -> None:
        """Each member's learning rate, regularization rate and momentum for the next epochs."""

        def column(values):
            return torch.tensor([[float(v)] for v in values], dtype=torch.float64)

        self._learning_rates = column(learning_rates)
        self._regularization_scales = column(
            [lr * rate for lr, rate in zip(learning_rates, regularization_rates, strict=True)]
        )
        self._momenta = column(momenta)

    # --- data --------------------------------------------------------------------------------------------------

    def _member_data(self) -> list[TrainingData]:
        data = [trainer.data for trainer in self.trainers if trainer.data is not None]
        if len(data) != len(self):
            raise ValueError("every trainer of a group needs its data to train or evaluate (set_data)")
        return data

    def _stack_data(self) -> None:
        """The members' training chunks and evaluation set as node matrices, stacked once per group, or taken from
        the last group of these very members if their data is the same (a trainer's data is replaced, never changed
        in place, so its identity tells). Each member keeps its last group's stack: a group is made anew every
        turn, and restacking 30 members took about a fifth of a two-epoch turn; a stack lives as long as a member
        that last trained in it."""
        data = self._member_data()
        key = (self.kind, self.envelope.shapes, tuple(map(id, self.trainers)), tuple(map(id, data)))
        kept = self.trainers[0].stacked
        if kept is not None and kept[0] == key:
            _, _, self._chunks, self._evaluation, self._scratch = kept
            return
        self._stack_new(data)
        if not self._keeps_stack:
            return
        stacked = (key, data, self._chunks, self._evaluation, self._scratch)  # the data held: its ids stay unique
        for trainer in self.trainers:
            trainer.stacked = stacked

    def _inputs(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        """[N, n, features] from each member's inputs, 0 for the features a member does not have."""
        features = self.layer_sizes[0]
        return _stack([torch.nn.functional.pad(x, (0, features - x.shape[1])) for x in inputs])

    def _stack_new(self, data: list[TrainingData]) -> None:
        train_inputs = self._inputs([d.train_inputs for d in data])  # [N, n, features]
        train_labels = _stack([d.train_labels for d in data]).unsqueeze(1)  # [N, 1, n]
        batch, n = self.kind.batch_size, self.kind.train_count
        full = n // batch
        self._chunks = []
        if full:  # every full batch in one node tensor [chunks, N, rows, batch]: one fill and one copy
            inputs = train_inputs[:, : full * batch].unflatten(1, (full, batch)).transpose(0, 1)
            chunks = blocks_of_buffers(
                node_matrix(inputs, self.layer_sizes), self.layer_sizes, self._scratch, spare=self._mixed
            )
            self._chunks += [
                (chunk, labels, batch, True)
                for chunk, labels in zip(chunks, train_labels[:, :, : full * batch].split(batch, 2), strict=True)
            ]
        if n % batch:
            last = node_matrix(train_inputs[:, full * batch :].unsqueeze(0), self.layer_sizes)
            self._chunks.append(
                (
                    blocks_of_buffers(last, self.layer_sizes, self._scratch, spare=self._mixed)[0],
                    train_labels[:, :, full * batch :],
                    n % batch,
                    False,
                )
            )
        inputs = torch.cat([train_inputs, self._inputs([d.test_inputs for d in data])], 1)
        labels = torch.cat([train_labels, _stack([d.test_labels for d in data]).unsqueeze(1)], 2)
        (buffers,) = blocks_of_buffers(
            node_matrix(inputs.unsqueeze(0), self.layer_sizes),
            self.layer_sizes,
            self._scratch,
            backward=False,
            spare=self._mixed,
        )
        # Row 0 per point losses, row 1 whether the point is on its label's side of 0.
        self._evaluation = (
            buffers,
            labels,
            labels > 0,
            torch.empty(len(self), 2, labels.shape[-1], dtype=torch.float64),
        )

    # --- maths -------------------------------------------------------------------------------------------------

    def forward(self, buffers: Buffers, members: slice | None = None, zero_padding: bool = False) -> torch.Tensor:
        """Every node's output for the points held in `buffers` (for these members, all by default: several only
        for networks of one shape), in the buffers' precision (the frames' are float32); returns the output rows.
        With `zero_padding`, the envelope's extra neurons read 0 whatever their inputs."""
        # Training passes all members in float64: the weights as they are (slicing and converting them cost about
        # a tenth of a training step's time, for nothing).
        as_they_are = members is None and buffers.nodes.dtype == self.params.dtype
        for layer, ((activate, _), others) in enumerate(self._plan):
            weights = self.augmented[layer]
            if not as_they_are:
                weights = weights[members or slice(None)].to(buffers.pre[layer].dtype)
            pre, out = buffers.pre[layer], buffers.outputs[layer + 1]
            torch.bmm(weights, buffers.augmented[layer], out=pre)
            activate(pre, out)
            for name, (other, _), mask in others:  # the members of another activation take theirs
                chosen = pre if name == "linear" else buffers.spare[layer]
                if chosen is not pre:
                    other(pre, chosen)
                torch.where(mask, chosen, out, out=out)
            if zero_padding and self._mixed:
                out.masked_fill_(self.envelope.padding[layer], 0.0)
        return buffers.outputs[-1]

    def _derivative(self, layer: int, buffers: Buffers) -> torch.Tensor | None:
        """Each member's activation derivative at this layer's outputs (None: 1 for every member)."""
        (_, derivative), others = self._plan[layer]
        out, grad = buffers.outputs[layer + 1], buffers.grad[layer]
        if derivative is None and not others:
            return None
        if derivative is None:
            grad.fill_(1.0)
        else:
            derivative(out, grad, self._ones)
        for _, (_, other), mask in others:
            if other is None:
                torch.where(mask, self._ones, grad, out=grad)
            else:
                other(out, buffers.spare[layer], self._ones)
                torch.where(mask, buffers.spare[layer], grad, out=grad)
        return grad

    def _backward(self, buffers: Buffers, labels: torch.Tensor, accumulate: bool) -> None:
        """Add (or write) this chunk's summed gradients into `accumulated`."""
        last = len(self._plan) - 1
        delta = buffers.delta[last]
        torch.sub(buffers.outputs[-1], labels, out=delta)  # d(0.5(ŷ-y)²)/dŷ, or 2·dBCE/dz
        if self._output_scale != 1.0:
            delta.mul_(self._output_scale)
        for layer in range(last, -1, -1):
            grad = self._derivative(layer, buffers)
            if grad is not None:
                delta.mul_(grad)
            target = self._gradients[layer]
            if accumulate:
                target.baddbmm_(delta, buffers.augmented_t[layer])
            else:
                torch.bmm(delta, buffers.augmented_t[layer], out=target)
            if layer:
                torch.bmm(self._weights_t[layer], delta, out=buffers.delta[layer - 1])
                delta = buffers.delta[layer - 1]

    def _sample_counts(self) -> torch.Tensor:
        """[N, 1] samples behind each member's update (they differ only in a first update after joining)."""
        key = tuple(self.carried)
        if key not in self._counts:
            self._counts[key] = torch.tensor([[float(count)] for count in key], dtype=torch.float64)
        return self._counts[key]

    def _update(self) -> None:
        params, regularization = self.params, self.kind.regularization
        slopes = None
        if regularization != "none":  # R'(w) at the weight before the step
            slopes = (params if regularization == "L2" else torch.sign(params)) * self.envelope.weight_mask
        self.optimizer.update(
            params, self.accumulated, self._sample_counts(), self._learning_rates, self._momenta, self.state, self.steps
        )
        if slopes is not None and regularization == "L2":
            params.addcmul_(slopes, self._regularization_scales, value=-1)
        elif slopes is not None:  # L1
            after = torch.addcmul(params, slopes, self._regularization_scales, value=-1)
            self.dead.logical_or_(params * after < 0)  # the penalty pushed w across 0: the link dies
            torch.where(self.dead, self._zero, after, out=params)
        if self._mixed:  # the envelope's identities and zeros stay what they are
            torch.where(self.envelope.trainable, params, self.envelope.fixed, out=params)

    def train_epoch(self) -> None:
        """One pass over every member's training set in its fixed order, exactly as TF Playground's oneStep()."""
        if self._chunks is None:
            self._stack_data()
        assert self._chunks is not None
        with torch.no_grad():
            for buffers, labels, rows, full in self._chunks:
                self.forward(buffers)
                self._backward(buffers, labels, accumulate=any(self.carried))
                self.carried = [count + rows for count in self.carried]
                if full:
                    self._update()
                    self.carried = [0] * len(self.carried)

    def evaluate(self) -> list[Evaluation]:
        """Each member's mean losses (without the regularization penalty) and, for ±1 labels, accuracies."""
        if self._evaluation is None:
            self._stack_data()
        assert self._evaluation is not None
        buffers, labels, positive, values = self._evaluation
        n, n_test = self.kind.train_count, self.kind.test_count
        with torch.no_grad():
            output = self.forward(buffers, zero_padding=True)
            losses, correct = values[:, :1], values[:, 1:]
            if self.kind.loss == "crossEntropy":  # BCE from the logit z, stably: softplus(z) − t·z
                logits = buffers.pre[-1]
                losses.copy_(torch.nn.functional.softplus(logits)).sub_(logits * (labels + 1) * 0.5)
            else:
                torch.sub(output, labels, out=losses).square_().mul_(0.5)
            torch.eq(output >= 0, positive, out=correct)
            # Sums divided by counts: an overflowing point gives Infinity (TF Playground's getLoss sums), and the
            # training and test sets never mix. An empty set (your own data) reads 0, not 0/0.
            means = torch.stack(
                [values[:, :, :n].sum(2) / max(n, 1), values[:, :, n:].sum(2) / max(n_test, 1)], 2
            ).tolist()
        return [
            Evaluation(loss[0], loss[1], None if regression else accuracy[0], None if regression else accuracy[1])
            for (loss, accuracy), regression in zip(means, self.envelope.regression, strict=True)
        ]

    def write_back(self, members: Sequence[int] | None = None) -> None:
        """Copy the stacked state of these members (all by default) back into their trainers."""
        steps = self.steps.view(-1).tolist()
        for index in range(len(self)) if members is None else members:
            trainer = self.trainers[index]
            trainer.carried, trainer.steps = self.carried[index], int(steps[index])
            if len(self) == 1:
                continue  # a group of one trains its trainer's tensors in place
            trainer.net.flat.detach().copy_(self.member(self.params, index))
            if trainer.carried:
                trainer.accumulated.copy_(self.member(self.accumulated, index))
            if trainer.regularization == "L1":
                trainer.dead.copy_(self.member(self.dead, index))
            for name, tensor in self.state.items():
                trainer.optimizer_state[name].copy_(self.member(tensor, index))
