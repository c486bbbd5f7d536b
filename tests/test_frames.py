"""Frames: the grid, the one-byte encoding and the renderer against the model itself."""

import math
import random

import pytest
import torch

from playground import features, frames
from playground.network import PlaygroundNet, Trainer, TrainerGroup
from playground.session import TrainingSession, render_frames


def codes(values):
    return list(frames.quantize(torch.tensor(values, dtype=torch.float64)))


def test_encoding_end_points_zero_and_nan():
    assert codes([-1.0, 0.0, 1.0, float("nan"), float("inf"), -float("inf"), 5.0, -5.0]) == [
        0,
        124,
        247,
        255,
        247,
        0,
        247,
        0,
    ]


def test_shade_is_tf_playgrounds_and_sign_is_exact():
    rnd = random.Random(0)
    values = [rnd.uniform(-1.2, 1.2) for _ in range(20000)] + [k / 31 * 2 - 1 for k in range(32)] + [-1e-12, 0.0]
    for value, code in zip(values, codes(values), strict=True):
        assert code >> 3 == min(30, max(0, math.floor(31 * (value + 1) / 2)))
        assert (code >= 124) == (value >= 0)
        centre = frames.dequantize(code)
        assert centre is not None
        assert abs(centre - max(-1, min(1, value))) <= 1 / 248 + 1e-12


def test_grid_is_row_major_from_the_top_left():
    grid = frames.grid_points()
    assert grid.shape == (10000, 2)
    assert grid[0].tolist() == [-6.0, 6.0]
    assert grid[99].tolist() == [6.0, 6.0]
    assert grid[9900].tolist() == [-6.0, -6.0]
    assert grid[101][0] == pytest.approx(-6 + 12 / 99) and grid[101][1] == pytest.approx(6 - 12 / 99)


def test_renderer_matches_the_module_on_every_node():
    names = ["x", "y", "xSquared", "sinY"]
    net = PlaygroundNet([4, 3, 2, 1], "tanh", "tanh")
    net.init_parameters(random.Random(5).random)
    group = TrainerGroup([Trainer(net)])
    inputs = features.feature_matrix(frames.grid_points(), names)
    frame, focused = frames.render(group, inputs, [None]) + frames.render(group, inputs, [5])  # 5: 2nd hidden neuron
    with torch.no_grad():
        output = net(inputs).view(-1)
        hidden = net.layers[0](inputs)
    assert frame.heatmap == frames.quantize(output)
    assert focused.heatmap == frames.quantize(hidden[:, 1])
    thumbs = frame.thumbnails
    assert len(thumbs) == 10 * 100
    block = hidden[:, 1].view(10, 10, 10, 10).mean(dim=(1, 3))
    assert thumbs[500:600] == frames.quantize(block)
    assert thumbs[0:100] == frames.quantize(inputs[:, 0].view(10, 10, 10, 10).mean(dim=(1, 3)))


def test_nan_network_renders_the_nan_code():
    net = PlaygroundNet([2, 1], "tanh", "tanh")
    net.set_parameters([[[float("nan"), 0.0]]], [[0.0]])
    (frame,) = frames.render(
        TrainerGroup([Trainer(net)]), features.feature_matrix(frames.grid_points(), ["x", "y"]), [None]
    )
    assert set(frame.heatmap) == {255}
    assert set(frame.thumbnails[200:]) == {255}


def test_frames_of_many_shapes_draw_in_one_arena_that_goes_when_unused(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(frames.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(frames._kept, "arena", None, raising=False)
    large = TrainingSession()
    large.update_config({"networkShape": [8, 8, 8, 8, 8, 8]})
    small = TrainingSession()
    alone = [render_frames([session], [None])[0] for session in (small, large)]
    arena = frames._kept.arena
    again = [render_frames([session], [None])[0] for session in (large, small, large)]
    assert frames._kept.arena is arena  # the small network drew in the large one's arena: nothing allocated
    assert again == [alone[1], alone[0], alone[1]]  # and each drew exactly its own frame in it
    for _ in range(3):  # the small network draws on, and for a while the arena stays as large
        clock[0] += frames.KEPT_SECONDS / 4
        assert render_frames([small], [None])[0] == alone[0] and frames._kept.arena is arena
    clock[0] += frames.KEPT_SECONDS / 2
    render_frames([small], [None])
    assert frames._kept.arena.numel() < arena.numel()  # the large network's megabytes went
