"""Frames: every neuron's output over the plane, computed in one pass and packed as bytes for the browser.

Grid: 100×100 points on [-6, 6]², row-major from the top-left: pixel (row r, column c) is x = -6 + 12c/99,
y = 6 - 12r/99, as in TF Playground's heat map. Thumbnails are 10×10 block averages of the same grid.

Quantisation (one byte per value; the browser owns the colours):
    q = clamp(floor((v + 1) · 124), 0, 247),  q = 255 for NaN.
So q >> 3 is exactly TF Playground's shade index floor(31·(v+1)/2) clamped to 0..30 (its 31-shade orange-grey-blue
scale), q ≥ 124 exactly when v ≥ 0 ("discretize output"), and the 8 levels inside a shade are there for smooth
rendering. Values outside [-1, 1] saturate, as TF Playground's clamped scale does.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from . import features
from .network import Buffers, TrainerGroup, blocks_of_buffers

GRID_SIZE = 100
THUMBNAIL_SIZE = 10
DOMAIN = 6.0
NAN_CODE = 255
LEVELS = 248  # 31 shades × 8


def grid_points() -> torch.Tensor:
    """(10000, 2) float64 (x, y) of the heat map's pixels, row by row from the top."""
    xs = torch.linspace(-DOMAIN, DOMAIN, GRID_SIZE, dtype=torch.float64)
    ys = torch.linspace(DOMAIN, -DOMAIN, GRID_SIZE, dtype=torch.float64)
    return torch.stack([xs.repeat(GRID_SIZE), ys.repeat_interleave(GRID_SIZE)], dim=1)


@functools.cache
def _grid_feature(name: str) -> torch.Tensor:
    """One feature over the grid (80 KB; seven in all): sin's are V8's, a Python call per distinct value."""
    return features.feature_matrix(grid_points(), [name])[:, 0]


@functools.lru_cache(maxsize=16)
def grid_inputs(feature_names: tuple[str, ...]) -> torch.Tensor:
    """The grid's (10000, features) float64 inputs for these features: one tensor shared by every session that uses
    them (160 KB for the default two features, 560 KB for all seven, which each session used to keep), never
    changed in place. Stacked from the cached features: a class of thirty feature sets is more than the cache
    holds, and computing sin's anew was two fifths of a frame."""
    if not feature_names:
        return torch.zeros(GRID_SIZE * GRID_SIZE, 0, dtype=torch.float64)
    return torch.stack([_grid_feature(name) for name in feature_names], dim=1)


def quantize(values: torch.Tensor) -> bytes:
    """Values in the colour domain [-1, 1] -> one byte each (see the module docstring)."""
    codes = torch.add(values, 1.0).mul_(LEVELS / 2).floor_().clamp_(0, LEVELS - 1)
    return torch.nan_to_num_(codes, nan=NAN_CODE).to(torch.uint8).numpy().tobytes()


def dequantize(code: int) -> float | None:
    """The centre of a byte's value range (None for NaN); the inverse the browser uses, for tests and docs."""
    return None if code == NAN_CODE else (code + 0.5) / (LEVELS / 2) - 1.0


def thumbnails(maps: torch.Tensor) -> bytes:
    """(..., 100·100) maps -> their quantised 10×10 block averages, map after map."""
    pooled = torch.nn.functional.avg_pool2d(maps.view(-1, 1, GRID_SIZE, GRID_SIZE), GRID_SIZE // THUMBNAIL_SIZE)
    return quantize(pooled)


# Maps are computed in float32: a frame is a picture of 31 shades, and float32's vectorised kernels (tanh above all)
# make it about twice as fast as float64 (bench/engine.py); a shade differs from float64's only for a value within
# about 1e-7 of a shade's edge. Training and losses stay float64.
MAP_DTYPE = torch.float32
# One pass holds its members' node maps over the grid in float32 (about 1.2 MB per member for the default network,
# 6.7 MB for the largest): members are drawn a few at a time so that a pass stays within this many bytes.
PASS_BYTES = 16 * 2**20
# A pass's buffers are views of one float32 arena per native thread (the server runs all session work in one; a lock
# would be a green primitive there), grown to the largest pass and kept while passes use it: allocating megabytes a
# frame cost more than the maths (fresh pages fault in), and a class of thirty shapes draws thirty passes a round.
# It shrinks to what the passes need once no pass needed its size for KEPT_SECONDS (an event that drew one large
# network kept 5 MB for good, and twenty clients' large networks kept their arena while one small one drew on).
KEPT_SECONDS = 2.0
_kept = threading.local()


def _arena(elements: int) -> torch.Tensor:
    """At least `elements` float32 values to draw in; their contents are whatever the last pass left."""
    now = time.monotonic()
    arena: torch.Tensor | None = getattr(_kept, "arena", None)
    if arena is not None and elements * 2 > arena.numel():
        _kept.needed_until = now + KEPT_SECONDS  # a pass of about its size: it is worth keeping
    if arena is None or arena.numel() < elements or now > _kept.needed_until:
        arena = _kept.arena = None  # the old one goes before a new one comes
        _kept.arena = arena = torch.empty(elements, dtype=MAP_DTYPE)
        _kept.needed_until = now + KEPT_SECONDS
    return arena


def _pass_buffers(layer_sizes: list[int], grid_inputs: torch.Tensor, count: int) -> Buffers:
    """Buffers in the arena whose input rows hold `grid_inputs` for `count` members and whose bias rows are ones."""
    points = grid_inputs.shape[0]
    node_elements = count * sum(n + 1 for n in layer_sizes) * points
    pre_elements = [count * n * points for n in layer_sizes[1:]]
    arena = _arena(node_elements + sum(pre_elements))
    nodes = arena[:node_elements].view(1, count, -1, points)
    row = 0
    for n in layer_sizes:
        nodes[0, :, row + n].fill_(1.0)
        row += n + 1
    nodes[0, :, : layer_sizes[0]] = grid_inputs.t()
    pre, start = [], node_elements
    for n, size in zip(layer_sizes[1:], pre_elements, strict=True):
        pre.append(arena[start : start + size].view(count, n, points))
        start += size
    (buffers,) = blocks_of_buffers(nodes, layer_sizes, {(count, points, False, False, MAP_DTYPE): {"pre": pre}}, False)
    return buffers


@dataclass(frozen=True)
class Frame:
    heatmap: bytes  # 100×100 codes of the shown node (the output unless another node is in focus)
    thumbnails: bytes  # 10×10 codes per node, nodes in order: inputs, hidden layers, output


def render(group: TrainerGroup, grid_inputs: torch.Tensor, focuses: Sequence[int | None]) -> list[Frame]:
    """Every member's frame: all nodes' maps from batched forward passes over the grid (the group's shared input
    features), a few members per pass; `focuses[m]` picks the node member m shows full size (None: the output).
    The members are of one shape (`session.frame_signature`): an envelope's padding would be drawn as nodes."""
    if not group.envelope.homogeneous:
        raise ValueError("frames are drawn for networks of one shape")
    sizes = group.layer_sizes
    points, node_count = grid_inputs.shape[0], sum(sizes)
    row_starts = [sum(n + 1 for n in sizes[:layer]) for layer in range(len(sizes))]
    node_rows = torch.tensor(
        [start + i for start, n in zip(row_starts, sizes, strict=True) for i in range(n)], dtype=torch.long
    )
    member_bytes = MAP_DTYPE.itemsize * points * (sum(n + 1 for n in sizes) + sum(sizes[1:]))  # nodes, scratch
    per_pass = max(1, PASS_BYTES // member_bytes)
    frames = []
    with torch.no_grad():
        for start in range(0, len(group), per_pass):
            members = slice(start, min(start + per_pass, len(group)))
            count = members.stop - start
            buffers = _pass_buffers(sizes, grid_inputs, count)
            group.forward(buffers, members)
            nodes = buffers.nodes  # [count, rows, points]: the bias rows of ones too
            shown = node_rows[[node_count - 1 if focus is None else focus for focus in focuses[members]]]
            heatmaps = quantize(nodes[torch.arange(count), shown])
            # Pool every row and keep the nodes' afterwards: the pooled rows are a hundredth of the maps, so this
            # copies far less than picking the nodes' maps out first. Two sums over the blocks' rows and columns
            # take half the time of avg_pool2d here.
            block = GRID_SIZE // THUMBNAIL_SIZE
            sums = nodes.reshape(-1, block, THUMBNAIL_SIZE, block).sum(1).sum(2)  # [rows·10 block rows, 10]
            pooled_rows = sums.view(count, -1, THUMBNAIL_SIZE * THUMBNAIL_SIZE).div_(block * block)
            pooled = quantize(pooled_rows.index_select(1, node_rows))
            size = len(pooled) // count
            frames += [
                Frame(heatmaps[m * points : (m + 1) * points], pooled[m * size : (m + 1) * size]) for m in range(count)
            ]
    return frames
