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

from dataclasses import dataclass

import torch

GRID_SIZE = 100
THUMBNAIL_SIZE = 10
DOMAIN = 6.0
NAN_CODE = 255
LEVELS = 248          # 31 shades × 8


def grid_points() -> torch.Tensor:
    """(10000, 2) float64 (x, y) of the heat map's pixels, row by row from the top."""
    xs = torch.linspace(-DOMAIN, DOMAIN, GRID_SIZE, dtype=torch.float64)
    ys = torch.linspace(DOMAIN, -DOMAIN, GRID_SIZE, dtype=torch.float64)
    return torch.stack([xs.repeat(GRID_SIZE), ys.repeat_interleave(GRID_SIZE)], dim=1)


def quantize(values: torch.Tensor) -> bytes:
    """float64 values in the colour domain [-1, 1] -> one byte each (see the module docstring)."""
    codes = torch.add(values, 1.0).mul_(LEVELS / 2).floor_().clamp_(0, LEVELS - 1)
    return torch.nan_to_num_(codes, nan=NAN_CODE).to(torch.uint8).numpy().tobytes()


def dequantize(code: int) -> float | None:
    """The centre of a byte's value range (None for NaN); the inverse the browser uses, for tests and docs."""
    return None if code == NAN_CODE else (code + 0.5) / (LEVELS / 2) - 1.0


def thumbnails(maps: torch.Tensor) -> bytes:
    """(k, 100, 100) maps -> k quantised 10×10 block averages, map after map."""
    pooled = torch.nn.functional.avg_pool2d(maps.view(-1, 1, GRID_SIZE, GRID_SIZE), GRID_SIZE // THUMBNAIL_SIZE)
    return quantize(pooled)


@dataclass(frozen=True)
class Frame:
    heatmap: bytes        # 100×100 codes of the shown node (the output unless another node is in focus)
    thumbnails: bytes     # 10×10 codes per node, nodes in order: inputs, hidden layers, output
    node_count: int


class FrameRenderer:
    """Renders frames for one network and feature set; build a new one when either changes."""

    def __init__(self, trainer, grid_inputs: torch.Tensor):
        self.trainer = trainer
        self.buffers = trainer.buffers(grid_inputs)
        sizes = trainer.net.layer_sizes
        self.node_rows = torch.tensor([start + i for start, n in zip(self.buffers.row_starts, sizes)
                                       for i in range(n)], dtype=torch.long)
        self.node_count = len(self.node_rows)

    def render(self, focus: int | None = None) -> Frame:
        """Every node's map in one vectorised forward pass; `focus` picks the node shown full size."""
        with torch.inference_mode():
            self.trainer.forward(self.buffers)
            maps = self.buffers.nodes.index_select(0, self.node_rows)
            shown = self.node_count - 1 if focus is None else focus
            return Frame(quantize(maps[shown]), thumbnails(maps), self.node_count)
