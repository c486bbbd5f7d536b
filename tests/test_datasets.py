import json
import math
import random
import shutil
import subprocess
from typing import Any

import numpy as np
import pytest

from playground.datasets import (
    CLASSIFICATION_DATASETS,
    GENERATORS,
    NUM_SAMPLES,
    REGRESSION_DATASETS,
    DataSplit,
    classify_checkerboard,
    classify_circle,
    classify_moons,
    classify_rings,
    classify_spiral,
    classify_two_gauss,
    classify_xor,
    generate_split,
    regress_gaussian,
    regress_plane,
    shuffle,
    thumbnail_points,
)
from playground.jsmath import js_cos, js_log, js_sin
from playground.rng import SeedRandom, new_seed

ALL_DATASETS = CLASSIFICATION_DATASETS + REGRESSION_DATASETS
# TF Playground's own datasets, checked point for point against JavaScript, and ours beyond them.
TF_DATASETS = ("circle", "xor", "gauss", "spiral", *REGRESSION_DATASETS)
NEW_DATASETS = ("moons", "checkerboard", "rings")


def num_samples(name: str) -> int:
    return NUM_SAMPLES["regression" if name in REGRESSION_DATASETS else "classification"]


def split(seed: str, name: str, noise_percent: float = 0, percent_train: float = 50) -> DataSplit:
    return generate_split(SeedRandom(seed), name, num_samples(name), noise_percent, percent_train)


def columns(points):
    x, y, label = np.array(points).T
    return x, y, label


def test_registry():
    assert set(GENERATORS) == set(ALL_DATASETS)
    assert ("circle", "xor", "gauss", "spiral", *NEW_DATASETS) == CLASSIFICATION_DATASETS
    assert REGRESSION_DATASETS == ("reg-plane", "reg-gauss")
    assert NUM_SAMPLES == {"classification": 500, "regression": 1200}


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_half_split_shapes(name):
    data = split("0.59704", name)
    half = num_samples(name) // 2
    assert len(data.train_labels) == half
    assert data.train_points.shape == (half, 2) and data.test_points.shape == (half, 2)
    assert data.train_labels.shape == (half,) and data.test_labels.shape == (half,)
    for array in (data.train_points, data.train_labels, data.test_points, data.test_labels):
        assert array.dtype == np.float64 and array.flags.c_contiguous


@pytest.mark.parametrize("name", ["circle", "reg-plane"])
@pytest.mark.parametrize("percent_train", range(10, 100, 10))
def test_split_uses_floor(name, percent_train):
    data = split("7", name, percent_train=percent_train)
    total = num_samples(name)
    assert len(data.train_labels) == math.floor(total * percent_train / 100)
    assert len(data.train_labels) + len(data.test_labels) == total


def test_split_floor_on_odd_sizes():
    data = generate_split(SeedRandom("s"), "xor", 7, 0, 50)
    assert (len(data.train_labels), len(data.test_labels)) == (3, 4)


@pytest.mark.parametrize("name", CLASSIFICATION_DATASETS)
@pytest.mark.parametrize("noise_percent", [0, 50])
def test_classification_labels_are_plus_minus_one(name, noise_percent):
    data = split("1", name, noise_percent)
    labels = np.concatenate([data.train_labels, data.test_labels])
    assert set(labels) == {-1.0, 1.0}


@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_circle_stored_points_lie_in_their_bands(noise):
    x, y, _ = columns(classify_circle(SeedRandom("c"), 500, noise))
    radii = np.hypot(x, y)
    assert radii[:250].max() < 2.5 + 1e-12
    assert radii[250:].min() > 3.5 - 1e-12 and radii[250:].max() < 5 + 1e-12


def test_circle_labels_at_zero_noise_follow_the_radius():
    x, y, label = columns(classify_circle(SeedRandom("c"), 500, 0.0))
    assert np.array_equal(label, np.where(np.sqrt(x * x + y * y) < 2.5, 1.0, -1.0))
    assert np.array_equal(label, [1.0] * 250 + [-1.0] * 250)


def test_xor_padding_and_zero_noise_labels():
    x, y, label = columns(classify_xor(SeedRandom("x"), 500, 0.0))
    assert np.abs(x).min() >= 0.3 and np.abs(y).min() >= 0.3
    assert np.array_equal(label, np.where(x * y >= 0, 1.0, -1.0))


@pytest.mark.parametrize(
    ("generator", "rule"),
    [
        (classify_circle, lambda x, y: np.where(np.hypot(x, y) < 2.5, 1.0, -1.0)),
        (classify_xor, lambda x, y: np.where(x * y >= 0, 1.0, -1.0)),
    ],
)
def test_noise_moves_labels_not_points(generator, rule):
    # Noise draws happen either way, so the same seed gives the same points.
    clean = columns(generator(SeedRandom("n"), 500, 0.0))
    noisy = columns(generator(SeedRandom("n"), 500, 0.5))
    assert np.array_equal(clean[0], noisy[0]) and np.array_equal(clean[1], noisy[1])
    flipped = noisy[2] != rule(noisy[0], noisy[1])
    assert 0 < flipped.sum() < 250


@pytest.mark.parametrize(("noise", "variance", "tolerance"), [(0.0, 0.5, 0.1), (0.5, 4.0, 0.6)])
def test_gauss_variance_follows_noise(noise, variance, tolerance):
    x, y, label = columns(classify_two_gauss(SeedRandom("g"), 4000, noise))
    for sign in (1.0, -1.0):
        cluster = label == sign
        assert cluster.sum() == 2000
        for axis in (x[cluster], y[cluster]):
            assert abs(axis.mean() - 2 * sign) < 0.2
            assert abs(axis.var() - variance) < tolerance


def test_spiral_at_zero_noise_is_exactly_the_formula():
    points = classify_spiral(SeedRandom("s"), 500, 0.0)
    n = 250.0
    expected = []
    for delta_t, label in ((0.0, 1.0), (math.pi, -1.0)):
        for i in range(250):
            r = i / n * 5
            t = 1.75 * i / n * 2 * math.pi + delta_t
            expected.append((r * js_sin(t), r * js_cos(t), label))
    assert points == expected


def test_reg_plane_labels_at_zero_noise():
    x, y, label = columns(regress_plane(SeedRandom("p"), 1200, 0.0))
    assert np.abs(label - (x + y) / 10).max() < 1e-12
    assert np.abs(x).max() <= 6 and np.abs(y).max() <= 6
    assert np.abs(label).max() > 1  # not clamped: |x + y| reaches 12


def test_reg_gauss_labels_pick_the_strongest_centre():
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    points = regress_gaussian(SeedRandom("q"), 1200, 0.0)
    for x, y, label in points:
        values = [sign * max(0.0, 1 - math.hypot(x - cx, y - cy) / 2) for cx, cy, sign in centres]
        assert label == pytest.approx(max(values, key=abs), abs=1e-12)
    labels = [p[2] for p in points]
    assert min(labels) >= -1 and max(labels) <= 1 and labels.count(0.0) > 0


@pytest.mark.parametrize(
    ("generator", "count", "expected"),
    [(classify_two_gauss, 7, 8), (classify_circle, 7, 8), (classify_spiral, 7, 8), (classify_xor, 7, 7)],
)
def test_odd_counts_run_loops_like_js(generator, count, expected):
    # `for (i = 0; i < numSamples / 2; i++)` runs ceil(7 / 2) == 4 times per class.
    assert len(generator(SeedRandom("o"), count, 0.0)) == expected


def test_shuffle_is_a_seeded_permutation():
    items = list(range(100))
    shuffle(SeedRandom("k"), items)
    assert sorted(items) == list(range(100)) and items != list(range(100))
    again = list(range(100))
    shuffle(SeedRandom("k"), again)
    assert items == again
    other = list(range(100))
    shuffle(SeedRandom("l"), other)
    assert items != other


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_same_seed_same_data_other_seed_other_data(name):
    a, b, c = split("0.1", name, 25), split("0.1", name, 25), split("0.2", name, 25)
    assert np.array_equal(a.train_points, b.train_points) and np.array_equal(a.test_labels, b.test_labels)
    assert not np.array_equal(a.train_points, c.train_points)


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        generate_split(SeedRandom("x"), "no-such-dataset", 500, 0, 50)
    with pytest.raises(ValueError):
        thumbnail_points("no-such-dataset")


@pytest.mark.parametrize("name", ALL_DATASETS)
def test_thumbnails_are_stable_noise_free_samples(name):
    points = thumbnail_points(name)
    assert len(points) == 200 and points == thumbnail_points(name)
    if name == "circle":
        x, y, label = columns(points)
        assert np.array_equal(label, np.where(np.hypot(x, y) < 2.5, 1.0, -1.0))


def test_golden_default_url():
    # TF Playground's default URL: seed=0.59704, circle, noise 0, 50% training.
    rng = SeedRandom("0.59704")
    data = generate_split(rng, "circle", 500, 0, 50)
    assert data.train_points[:3].tolist() == [
        [0.24014491222149606, 0.46035893207186385],
        [-4.203728859722804, -0.07979141264854898],
        [3.939859638875519, 1.5753253568212204],
    ]
    assert data.train_labels[:3].tolist() == [1.0, -1.0, -1.0]
    assert new_seed(rng) == "0.51396"  # what "regenerate" would pick next


# --- datasets beyond TF Playground: moons, checkerboard, rings ---------------

NEW_GENERATORS = {"moons": classify_moons, "checkerboard": classify_checkerboard, "rings": classify_rings}
MOON_RADIUS = 3.5
RING_RADII = np.array([1.0, 2.5, 4.0, 5.5])


def moon_centres(label):
    # The +1 moon is the upper arc of the circle about (-R/2, -R/4); the -1 moon is it turned about the origin.
    return -label * MOON_RADIUS / 2, -label * MOON_RADIUS / 4


def board_rule(x, y):
    return np.where((np.floor(x / 3) + np.floor(y / 3)) % 2 == 0, 1.0, -1.0)


def nearest_ring(x, y):
    return np.abs(np.hypot(x, y)[:, None] - RING_RADII).argmin(axis=1)


def test_new_generators_are_registered_under_their_names():
    for name, generator in NEW_GENERATORS.items():
        assert GENERATORS[name] is generator and name in CLASSIFICATION_DATASETS


@pytest.mark.parametrize("name", NEW_DATASETS)
@pytest.mark.parametrize("count", [0, 1, 2, 3, 7, 9, 500, 501])
def test_new_datasets_give_exactly_num_samples(name, count):
    # Unlike TF's `i < numSamples / 2` loops, odd counts are not rounded up.
    assert len(NEW_GENERATORS[name](SeedRandom("o"), count, 0.3)) == count


@pytest.mark.parametrize("name", NEW_DATASETS)
@pytest.mark.parametrize("noise", [0.0, 0.5, 0.8])
def test_new_datasets_labels_are_plus_minus_one(name, noise):
    _, _, label = columns(NEW_GENERATORS[name](SeedRandom("l"), 500, noise))
    assert set(label) == {-1.0, 1.0}
    assert abs(label.sum()) < 100  # neither class swamps the other


@pytest.mark.parametrize("count", [500, 501, 7])
def test_moons_and_rings_classes_are_balanced_in_order(count):
    _, _, label = columns(classify_moons(SeedRandom("b"), count, 0.5))
    half = (count + 1) // 2
    assert label.tolist() == [1.0] * half + [-1.0] * (count - half)
    _, _, label = columns(classify_rings(SeedRandom("b"), count, 0.5))
    sizes = [count // 4 + (i < count % 4) for i in range(4)]
    expected = [value for size, value in zip(sizes, [1.0, -1.0, 1.0, -1.0], strict=True) for _ in range(size)]
    assert label.tolist() == expected


@pytest.mark.parametrize("name", NEW_DATASETS)
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_new_datasets_follow_the_seed(name, noise):
    generator = NEW_GENERATORS[name]
    a, b, c = (generator(SeedRandom(seed), 500, noise) for seed in ("0.1", "0.1", "0.2"))
    assert a == b
    assert not np.array_equal(np.array(a)[:, :2], np.array(c)[:, :2])


@pytest.mark.parametrize("name", NEW_DATASETS)
def test_new_datasets_draw_only_from_the_seeded_stream(name):
    # Every draw goes through rng.random(), and as many of them at any noise level.
    class CountingRandom(SeedRandom):
        draws = 0

        def random(self):
            self.draws += 1
            return super().random()

    counts = []
    for noise in (0.0, 0.8):
        rng = CountingRandom("d")
        NEW_GENERATORS[name](rng, 300, noise)
        counts.append(rng.draws)
    assert counts[0] == counts[1] > 0


def test_moons_at_zero_noise_lie_on_their_arcs():
    x, y, label = columns(classify_moons(SeedRandom("m"), 500, 0.0))
    cx, cy = moon_centres(label)
    assert np.abs(np.hypot(x - cx, y - cy) - MOON_RADIUS).max() < 1e-12
    assert (label * (y - cy) >= -1e-12).all()  # the upper half for +1, the lower half for -1
    # The pair is centred on the origin and spans about [-5.25, 5.25] x [-2.625, 2.625].
    assert np.abs(x).max() <= 5.25 + 1e-12 and np.abs(y).max() <= 2.625 + 1e-12
    assert np.abs(x).max() > 5 and np.abs(y).max() > 2.5


def test_moons_noise_moves_the_points_by_two_noise():
    clean = columns(classify_moons(SeedRandom("m"), 2000, 0.0))
    noisy = columns(classify_moons(SeedRandom("m"), 2000, 0.5))
    # Same seed, same arc positions: the difference is the N(0, (2 * 0.5)^2) position noise.
    shift = np.concatenate([noisy[0] - clean[0], noisy[1] - clean[1]])
    assert abs(shift.mean()) < 0.1 and abs(shift.std() - 1.0) < 0.1
    assert np.array_equal(clean[2], noisy[2])
    cx, cy = moon_centres(noisy[2])
    off_arc = np.abs(np.hypot(noisy[0] - cx, noisy[1] - cy) - MOON_RADIUS)
    assert np.median(off_arc) > 0.3


def test_checkerboard_at_zero_noise_follows_the_board():
    x, y, label = columns(classify_checkerboard(SeedRandom("k"), 2000, 0.0))
    assert np.array_equal(label, board_rule(x, y))
    assert np.abs(x).max() < 6 and np.abs(y).max() < 6
    # All 16 squares of the 4 x 4 board are populated.
    squares = set(zip(np.floor(x / 3).astype(int), np.floor(y / 3).astype(int), strict=True))
    assert squares == {(i, j) for i in range(-2, 2) for j in range(-2, 2)}
    # The rule itself: +1 where floor(x / 3) + floor(y / 3) is even.
    assert board_rule(np.array([0.5, -0.5, 3.5, -3.5]), np.array([0.5, 0.5, 0.5, -3.5])).tolist() == [1, -1, -1, 1]


@pytest.mark.parametrize(("noise", "low", "high"), [(0.25, 0.1, 0.35), (0.5, 0.25, 0.5)])
def test_checkerboard_noise_flips_labels_near_edges_not_points(noise, low, high):
    clean = columns(classify_checkerboard(SeedRandom("k"), 2000, 0.0))
    noisy = columns(classify_checkerboard(SeedRandom("k"), 2000, noise))
    assert np.array_equal(clean[0], noisy[0]) and np.array_equal(clean[1], noisy[1])
    flipped = noisy[2] != board_rule(noisy[0], noisy[1])
    assert low < flipped.mean() < high
    # The label is read at most 3 * noise away per axis, so only points that close to an edge flip.
    edge = np.minimum(np.abs(noisy[0] - 3 * np.round(noisy[0] / 3)), np.abs(noisy[1] - 3 * np.round(noisy[1] / 3)))
    assert edge[flipped].max() <= 3 * noise


def test_rings_at_zero_noise_lie_in_alternating_bands():
    x, y, label = columns(classify_rings(SeedRandom("r"), 1000, 0.0))
    radii = np.hypot(x, y)
    band = np.repeat(np.arange(4), 250)
    assert np.all(np.abs(radii - RING_RADII[band]) <= 0.5 + 1e-12)
    assert np.array_equal(nearest_ring(x, y), band)
    assert np.array_equal(label, np.where(band % 2 == 0, 1.0, -1.0))
    assert radii.max() <= 6 + 1e-12


def test_rings_noise_moves_the_points_by_noise():
    clean = columns(classify_rings(SeedRandom("r"), 2000, 0.0))
    noisy = columns(classify_rings(SeedRandom("r"), 2000, 0.5))
    shift = np.concatenate([noisy[0] - clean[0], noisy[1] - clean[1]])
    assert abs(shift.mean()) < 0.05 and abs(shift.std() - 0.5) < 0.05
    assert np.array_equal(clean[2], noisy[2])
    band = np.repeat(np.arange(4), 500)
    outside = np.abs(np.hypot(noisy[0], noisy[1]) - RING_RADII[band]) > 0.5
    assert 0.1 < outside.mean() < 0.9


@pytest.mark.parametrize("name", NEW_DATASETS)
@pytest.mark.parametrize(("count", "noise_percent", "percent_train"), [(500, 0, 50), (501, 30, 70), (7, 80, 50)])
def test_generate_split_shuffles_and_splits_new_datasets(name, count, noise_percent, percent_train):
    data = generate_split(SeedRandom("g"), name, count, noise_percent, percent_train)
    assert len(data.train_labels) == math.floor(count * percent_train / 100)
    assert len(data.train_labels) + len(data.test_labels) == count
    assert data.train_points.shape == (len(data.train_labels), 2) and data.test_points.shape == (
        count - len(data.train_labels),
        2,
    )
    # The split is a permutation of what the generator drew from the same stream.
    points = NEW_GENERATORS[name](SeedRandom("g"), count, noise_percent / 100)
    rows = np.column_stack(
        [np.concatenate([data.train_points, data.test_points]), np.concatenate([data.train_labels, data.test_labels])]
    )
    assert sorted(map(tuple, rows.tolist())) == sorted(points)
    if count >= 100:
        assert rows.tolist() != [list(p) for p in points]
        assert set(data.train_labels) == set(data.test_labels) == {-1.0, 1.0}


def test_thumbnails_of_new_datasets_are_clean_shapes():
    x, y, label = columns(thumbnail_points("moons"))
    cx, cy = moon_centres(label)
    assert np.abs(np.hypot(x - cx, y - cy) - MOON_RADIUS).max() < 1e-12
    x, y, label = columns(thumbnail_points("checkerboard"))
    assert np.array_equal(label, board_rule(x, y))
    x, y, label = columns(thumbnail_points("rings"))
    assert np.array_equal(label, np.where(nearest_ring(x, y) % 2 == 0, 1.0, -1.0))
    assert np.array_equal(nearest_ring(x, y), np.repeat(np.arange(4), 50))


# --- cross-check against JavaScript ------------------------------------------

# An independent transcription of seedrandom.js 2.4 (ARC4), d3 v3's linear
# scale and TF Playground's dataset.ts + generateData(), run by node so that
# Math.sin/cos/log and double arithmetic are JavaScript's own.
JS_REFERENCE = r"""
function seedrandom(seed) {
  var width = 256, chunks = 6, startdenom = Math.pow(width, chunks),
      significance = Math.pow(2, 52), overflow = significance * 2,
      mask = width - 1, key = [], smear, j = 0, stringseed = seed + '';
  while (j < stringseed.length) {
    key[mask & j] =
      mask & ((smear ^= key[mask & j] * 19) + stringseed.charCodeAt(j++));
  }
  var t, keylen = key.length, i = 0, s = [], si = 0, sj = 0;
  if (!keylen) { key = [keylen++]; }
  while (i < width) { s[i] = i++; }
  for (i = 0, j = 0; i < width; i++) {
    s[i] = s[j = mask & (j + key[i % keylen] + (t = s[i]))];
    s[j] = t;
  }
  function g(count) {
    var t, r = 0;
    while (count--) {
      t = s[si = mask & (si + 1)];
      r = r * width + s[mask & ((s[si] = s[sj = mask & (sj + t)]) + (s[sj] = t))];
    }
    return r;
  }
  g(width);
  return function() {
    var n = g(chunks), d = startdenom, x = 0;
    while (n < significance) { n = (n + x) * width; d *= width; x = g(1); }
    while (n >= overflow) { n /= 2; d /= 2; x >>>= 1; }
    return (n + x) / d;
  };
}

function linear(domain, range, clamp) {
  var a = +domain[0], b = +domain[1], ra = +range[0], rb = +range[1];
  b = (b -= a) || 1 / b;
  return function(x) {
    var t = (x - a) / b;
    if (clamp) t = Math.max(0, Math.min(1, t));
    return ra * (1 - t) + rb * t;
  };
}

function shuffle(array) {
  var counter = array.length, temp = 0, index = 0;
  while (counter > 0) {
    index = Math.floor(Math.random() * counter);
    counter--;
    temp = array[counter]; array[counter] = array[index]; array[index] = temp;
  }
}
function randUniform(a, b) { return Math.random() * (b - a) + a; }
function normalRandom(mean, variance) {
  var v1, v2, s;
  do {
    v1 = 2 * Math.random() - 1;
    v2 = 2 * Math.random() - 1;
    s = v1 * v1 + v2 * v2;
  } while (s > 1);
  var result = Math.sqrt(-2 * Math.log(s) / s) * v1;
  return mean + Math.sqrt(variance) * result;
}
function dist(a, b) {
  var dx = a.x - b.x, dy = a.y - b.y;
  return Math.sqrt(dx * dx + dy * dy);
}

function classifyTwoGaussData(numSamples, noise) {
  var points = [], variance = linear([0, .5], [0.5, 4])(noise);
  function genGauss(cx, cy, label) {
    for (var i = 0; i < numSamples / 2; i++) {
      var x = normalRandom(cx, variance);
      var y = normalRandom(cy, variance);
      points.push({x: x, y: y, label: label});
    }
  }
  genGauss(2, 2, 1);
  genGauss(-2, -2, -1);
  return points;
}
function regressPlane(numSamples, noise) {
  var radius = 6, labelScale = linear([-10, 10], [-1, 1]), points = [];
  for (var i = 0; i < numSamples; i++) {
    var x = randUniform(-radius, radius);
    var y = randUniform(-radius, radius);
    var noiseX = randUniform(-radius, radius) * noise;
    var noiseY = randUniform(-radius, radius) * noise;
    points.push({x: x, y: y, label: labelScale((x + noiseX) + (y + noiseY))});
  }
  return points;
}
function regressGaussian(numSamples, noise) {
  var points = [], labelScale = linear([0, 2], [1, 0], true);
  var gaussians = [[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1],
                   [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]];
  function getLabel(x, y) {
    var label = 0;
    gaussians.forEach(function(g) {
      var newLabel = g[2] * labelScale(dist({x: x, y: y}, {x: g[0], y: g[1]}));
      if (Math.abs(newLabel) > Math.abs(label)) label = newLabel;
    });
    return label;
  }
  var radius = 6;
  for (var i = 0; i < numSamples; i++) {
    var x = randUniform(-radius, radius);
    var y = randUniform(-radius, radius);
    var noiseX = randUniform(-radius, radius) * noise;
    var noiseY = randUniform(-radius, radius) * noise;
    points.push({x: x, y: y, label: getLabel(x + noiseX, y + noiseY)});
  }
  return points;
}
function classifySpiralData(numSamples, noise) {
  var points = [], n = numSamples / 2;
  function genSpiral(deltaT, label) {
    for (var i = 0; i < n; i++) {
      var r = i / n * 5;
      var t = 1.75 * i / n * 2 * Math.PI + deltaT;
      var x = r * Math.sin(t) + randUniform(-1, 1) * noise;
      var y = r * Math.cos(t) + randUniform(-1, 1) * noise;
      points.push({x: x, y: y, label: label});
    }
  }
  genSpiral(0, 1);
  genSpiral(Math.PI, -1);
  return points;
}
function classifyCircleData(numSamples, noise) {
  var points = [], radius = 5;
  function getCircleLabel(p, center) {
    return (dist(p, center) < (radius * 0.5)) ? 1 : -1;
  }
  function gen(rMin, rMax) {
    for (var i = 0; i < numSamples / 2; i++) {
      var r = randUniform(rMin, rMax);
      var angle = randUniform(0, 2 * Math.PI);
      var x = r * Math.sin(angle);
      var y = r * Math.cos(angle);
      var noiseX = randUniform(-radius, radius) * noise;
      var noiseY = randUniform(-radius, radius) * noise;
      var label = getCircleLabel({x: x + noiseX, y: y + noiseY}, {x: 0, y: 0});
      points.push({x: x, y: y, label: label});
    }
  }
  gen(0, radius * 0.5);
  gen(radius * 0.7, radius);
  return points;
}
function classifyXORData(numSamples, noise) {
  function getXORLabel(p) { return p.x * p.y >= 0 ? 1 : -1; }
  var points = [];
  for (var i = 0; i < numSamples; i++) {
    var x = randUniform(-5, 5);
    var padding = 0.3;
    x += x > 0 ? padding : -padding;
    var y = randUniform(-5, 5);
    y += y > 0 ? padding : -padding;
    var noiseX = randUniform(-5, 5) * noise;
    var noiseY = randUniform(-5, 5) * noise;
    points.push({x: x, y: y, label: getXORLabel({x: x + noiseX, y: y + noiseY})});
  }
  return points;
}

var generators = {
  'circle': classifyCircleData, 'xor': classifyXORData,
  'gauss': classifyTwoGaussData, 'spiral': classifySpiralData,
  'reg-plane': regressPlane, 'reg-gauss': regressGaussian
};

function main() {
  var cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  var results = cases.map(function(c) {  // [seed, dataset, numSamples, noise %, train %]
    Math.random = seedrandom(c[0]);
    var data = generators[c[1]](c[2], c[3] / 100);
    shuffle(data);
    return {
      split: Math.floor(data.length * c[4] / 100),
      points: data.map(function(p) { return [p.x, p.y, p.label]; }),
      nextSeed: Math.random().toFixed(5)
    };
  });
  process.stdout.write(JSON.stringify(results));
}
main();
"""

node = shutil.which("node")
needs_node = pytest.mark.skipif(node is None, reason="node is not installed; the JavaScript cross-check needs it")


def run_node(script: str, payload) -> Any:
    assert node is not None, "the tests that run node are skipped without it"
    result = subprocess.run(
        [node, "-e", script], input=json.dumps(payload), capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(result.stdout)


@needs_node
def test_js_math_matches_node():
    rnd = random.Random(0)
    angles = [rnd.uniform(-15, 15) for _ in range(20000)]
    angles += [k * math.pi / 4 + d for k in range(-20, 21) for d in (0.0, 1e-15, -1e-15, 1e-9)]
    angles += [rnd.uniform(-1e5, 1e5) for _ in range(2000)] + [1e-300, 0.0]
    logs = [rnd.random() for _ in range(20000)] + [5e-324, 1.0, 1 + 2**-30, 1 - 2**-30, 1e300]
    script = (
        "const d = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify([d[0].map(Math.sin), d[0].map(Math.cos), d[1].map(Math.log)]));"
    )
    sines, cosines, logarithms = run_node(script, [angles, logs])
    assert [js_sin(a) for a in angles] == sines
    assert [js_cos(a) for a in angles] == cosines
    assert [js_log(v) for v in logs] == logarithms


CROSS_CHECK_CASES = [
    [seed, name, num_samples(name), noise, percent]
    for seed, noise, percent in [("0.59704", 0, 50), ("0.12345", 35, 70), ("hello.", 50, 10), ("", 5, 90)]
    for name in TF_DATASETS
] + [
    ["héllo 😀", "circle", 500, 20, 50],
    ["0.5", "gauss", 7, 10, 50],
    ["0.5", "spiral", 9, 10, 30],
    ["0.5", "reg-gauss", 3, 80, 50],
]


@needs_node
def test_every_point_matches_javascript():
    expected = run_node(JS_REFERENCE, CROSS_CHECK_CASES)
    for case, js in zip(CROSS_CHECK_CASES, expected, strict=True):
        seed, name, count, noise_percent, percent_train = case
        rng = SeedRandom(seed)
        data = generate_split(rng, name, count, noise_percent, percent_train)
        points = np.column_stack(
            [
                np.concatenate([data.train_points, data.test_points]),
                np.concatenate([data.train_labels, data.test_labels]),
            ]
        )
        assert len(data.train_labels) == js["split"], case
        # Exact equality: JSON carries shortest round-trip doubles.
        assert points.tolist() == js["points"], case
        assert new_seed(rng) == js["nextSeed"], case
