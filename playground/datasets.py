"""Port of TF Playground's ``src/dataset.ts``, bit for bit.

Every random draw goes through the given SeedRandom in the original's call
order, and the arithmetic follows the original expression by expression, so
a Playground seed yields the same points, shuffle and train/test split.

Three classification datasets that TF Playground lacks (moons, checkerboard,
rings) follow after the port, drawing from the same SeedRandom stream.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .jsmath import js_cos, js_log, js_sin
from .rng import SeedRandom

Point = tuple[float, float, float]  # (x, y, label)
Generator = Callable[[SeedRandom, int, float], list[Point]]

# --- dataset.ts -----------------------------------------------------------


def _js_loop_count(limit: float) -> int:
    """How often ``for (let i = 0; i < limit; i++)`` runs (limit may be fractional)."""
    return max(0, math.ceil(limit))


def _d3_linear(d0: float, d1: float, r0: float, r1: float, clamp: bool = False) -> Callable[[float], float]:
    """d3 v3's ``scale.linear().domain([d0, d1]).range([r0, r1])``, same arithmetic."""
    span = d1 - d0

    def scale(v: float) -> float:
        t = (v - d0) / span
        if clamp:
            t = max(0.0, min(1.0, t))
        return r0 * (1 - t) + r1 * t

    return scale


def _dist(ax: float, ay: float, bx: float, by: float) -> float:
    dx = ax - bx
    dy = ay - by
    return math.sqrt(dx * dx + dy * dy)


def rand_uniform(rng: SeedRandom, a: float, b: float) -> float:
    return rng.random() * (b - a) + a


def normal_random(rng: SeedRandom, mean: float = 0.0, variance: float = 1.0) -> float:
    """Marsaglia's polar method, exactly as dataset.ts draws it."""
    while True:
        v1 = 2 * rng.random() - 1
        v2 = 2 * rng.random() - 1
        s = v1 * v1 + v2 * v2
        if s <= 1:
            break
    result = math.sqrt(-2 * js_log(s) / s) * v1
    return mean + math.sqrt(variance) * result


def shuffle(rng: SeedRandom, items: list) -> None:
    """Fisher-Yates in place, with dataset.ts's draw order."""
    counter = len(items)
    while counter > 0:
        index = math.floor(rng.random() * counter)
        counter -= 1
        items[counter], items[index] = items[index], items[counter]


def classify_two_gauss(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    variance = _d3_linear(0, 0.5, 0.5, 4)(noise)
    points: list[Point] = []
    for cx, cy, label in ((2, 2, 1.0), (-2, -2, -1.0)):
        for _ in range(_js_loop_count(num_samples / 2)):
            x = normal_random(rng, cx, variance)
            y = normal_random(rng, cy, variance)
            points.append((x, y, label))
    return points


def _uniform_with_noisy_labels(
    rng: SeedRandom, num_samples: int, noise: float, label_at: Callable[[float, float], float]
) -> list[Point]:
    """TF Playground's regression sampling: points uniform in [-6, 6]², each labelled at a position moved by
    U(-6, 6)·noise (the stored point stays where it was drawn)."""
    radius = 6
    points: list[Point] = []
    for _ in range(_js_loop_count(num_samples)):
        x = rand_uniform(rng, -radius, radius)
        y = rand_uniform(rng, -radius, radius)
        noise_x = rand_uniform(rng, -radius, radius) * noise
        noise_y = rand_uniform(rng, -radius, radius) * noise
        points.append((x, y, label_at(x + noise_x, y + noise_y)))
    return points


def regress_plane(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    label_scale = _d3_linear(-10, 10, -1, 1)
    return _uniform_with_noisy_labels(rng, num_samples, noise, lambda x, y: label_scale(x + y))


_GAUSSIANS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def regress_gaussian(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    label_scale = _d3_linear(0, 2, 1, 0, clamp=True)

    def label_at(x: float, y: float) -> float:
        """The centre's signed, clamped closeness that is largest in absolute value."""
        label = 0.0
        for cx, cy, sign in _GAUSSIANS:
            new_label = sign * label_scale(_dist(x, y, cx, cy))
            if abs(new_label) > abs(label):
                label = new_label
        return label

    return _uniform_with_noisy_labels(rng, num_samples, noise, label_at)


def classify_spiral(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    n = num_samples / 2
    points: list[Point] = []
    for delta_t, label in ((0.0, 1.0), (math.pi, -1.0)):
        for i in range(_js_loop_count(n)):
            r = i / n * 5
            t = 1.75 * i / n * 2 * math.pi + delta_t
            x = r * js_sin(t) + rand_uniform(rng, -1, 1) * noise
            y = r * js_cos(t) + rand_uniform(rng, -1, 1) * noise
            points.append((x, y, label))
    return points


def classify_circle(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    radius = 5
    points: list[Point] = []
    # Positives inside radius/2, then negatives in the ring out to radius.
    for r_min, r_max in ((0, radius * 0.5), (radius * 0.7, radius)):
        for _ in range(_js_loop_count(num_samples / 2)):
            r = rand_uniform(rng, r_min, r_max)
            angle = rand_uniform(rng, 0, 2 * math.pi)
            x = r * js_sin(angle)
            y = r * js_cos(angle)
            noise_x = rand_uniform(rng, -radius, radius) * noise
            noise_y = rand_uniform(rng, -radius, radius) * noise
            label = 1.0 if _dist(x + noise_x, y + noise_y, 0, 0) < radius * 0.5 else -1.0
            points.append((x, y, label))
    return points


def classify_xor(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    padding = 0.3
    points: list[Point] = []
    for _ in range(_js_loop_count(num_samples)):
        x = rand_uniform(rng, -5, 5)
        x += padding if x > 0 else -padding
        y = rand_uniform(rng, -5, 5)
        y += padding if y > 0 else -padding
        noise_x = rand_uniform(rng, -5, 5) * noise
        noise_y = rand_uniform(rng, -5, 5) * noise
        label = 1.0 if (x + noise_x) * (y + noise_y) >= 0 else -1.0
        points.append((x, y, label))
    return points


# --- beyond TF Playground --------------------------------------------------
# Same signature and SeedRandom stream; every draw happens whatever the noise,
# so one seed gives the same underlying points at every noise level.


def _even_counts(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` counts that differ by at most one, larger first."""
    return [total // parts + (i < total % parts) for i in range(parts)]


def classify_moons(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    """make_moons at radius 3.5, centred on the origin; noise adds N(0, (2 * noise)^2) to x and y."""
    radius = 3.5
    variance = (2 * noise) ** 2
    points: list[Point] = []
    # The lower moon (-1) is the upper one (+1) turned half a turn about the origin.
    for (sign, label), count in zip(((1, 1.0), (-1, -1.0)), _even_counts(num_samples, 2), strict=True):
        for _ in range(count):
            angle = rand_uniform(rng, 0, math.pi)
            x = sign * (radius * js_cos(angle) - radius / 2) + normal_random(rng, 0, variance)
            y = sign * (radius * js_sin(angle) - radius / 4) + normal_random(rng, 0, variance)
            points.append((x, y, label))
    return points


def classify_checkerboard(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    """Uniform in [-6, 6]^2, +1 on even 3-unit squares; noise shifts only where the label is read, U(-3, 3) * noise."""
    radius, square = 6, 3
    points: list[Point] = []
    for _ in range(num_samples):
        x = rand_uniform(rng, -radius, radius)
        y = rand_uniform(rng, -radius, radius)
        # Like xor's U(-5, 5) against its 5-wide quadrants: the shift scales with the square.
        noise_x = rand_uniform(rng, -square, square) * noise
        noise_y = rand_uniform(rng, -square, square) * noise
        parity = (math.floor((x + noise_x) / square) + math.floor((y + noise_y) / square)) % 2
        points.append((x, y, 1.0 if parity == 0 else -1.0))
    return points


_RINGS = ((1.0, 1.0), (2.5, -1.0), (4.0, 1.0), (5.5, -1.0))  # (radius, label)


def classify_rings(rng: SeedRandom, num_samples: int, noise: float) -> list[Point]:
    """Four rings at radius 1, 2.5, 4, 5.5 (+-0.5), alternating +1/-1; noise adds N(0, noise^2) to x and y."""
    variance = noise**2
    points: list[Point] = []
    for (ring, label), count in zip(_RINGS, _even_counts(num_samples, len(_RINGS)), strict=True):
        for _ in range(count):
            angle = rand_uniform(rng, 0, 2 * math.pi)
            r = ring + rand_uniform(rng, -0.5, 0.5)
            x = r * js_sin(angle) + normal_random(rng, 0, variance)
            y = r * js_cos(angle) + normal_random(rng, 0, variance)
            points.append((x, y, label))
    return points


GENERATORS: dict[str, Generator] = {
    "circle": classify_circle,
    "xor": classify_xor,
    "gauss": classify_two_gauss,
    "spiral": classify_spiral,
    "moons": classify_moons,
    "checkerboard": classify_checkerboard,
    "rings": classify_rings,
    "reg-plane": regress_plane,
    "reg-gauss": regress_gaussian,
}
# TF Playground's four first, then ours.
TF_DATASETS = {"classification": ("circle", "xor", "gauss", "spiral"), "regression": ("reg-plane", "reg-gauss")}
CLASSIFICATION_DATASETS = ("circle", "xor", "gauss", "spiral", "moons", "checkerboard", "rings")
REGRESSION_DATASETS = ("reg-plane", "reg-gauss")
NUM_SAMPLES = {"classification": 500, "regression": 1200}


def _generator(dataset_name: str) -> Generator:
    try:
        return GENERATORS[dataset_name]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset_name!r}") from None


# eq=False: a generated __eq__ would compare arrays with ==, which is ambiguous.
@dataclass(frozen=True, eq=False)
class DataSplit:
    train_points: np.ndarray  # (n_train, 2) float64
    train_labels: np.ndarray  # (n_train,) float64
    test_points: np.ndarray  # (n_test, 2) float64
    test_labels: np.ndarray  # (n_test,) float64


def _as_arrays(points: list[Point]) -> tuple[np.ndarray, np.ndarray]:
    table = np.array(points, dtype=np.float64).reshape(-1, 3)
    return np.ascontiguousarray(table[:, :2]), np.ascontiguousarray(table[:, 2])


def generate_split(
    rng: SeedRandom, dataset_name: str, num_samples: int, noise_percent: float, percent_train: float
) -> DataSplit:
    """TF Playground's generateData(): generate, shuffle, split the front off as training data.

    ``noise_percent`` and ``percent_train`` are the UI's slider values (0-100).
    """
    points = _generator(dataset_name)(rng, num_samples, noise_percent / 100)
    shuffle(rng, points)
    split = math.floor(len(points) * percent_train / 100)
    train_points, train_labels = _as_arrays(points[:split])
    test_points, test_labels = _as_arrays(points[split:])
    return DataSplit(train_points, train_labels, test_points, test_labels)


THUMBNAIL_SAMPLES = 200


def draw_problem_thumbnails(rng: SeedRandom, problem: str) -> None:
    """What TF Playground's problem-type handler draws between the new data and the new weights: it redraws the
    dataset picker's thumbnails (200 noise-free points of each of its datasets for the problem) from the seeded
    stream. Drawing the same numbers here keeps the weights that follow the original's."""
    for name in TF_DATASETS[problem]:
        GENERATORS[name](rng, THUMBNAIL_SAMPLES, 0.0)


def thumbnail_points(dataset_name: str, count: int = THUMBNAIL_SAMPLES) -> list[Point]:
    """The noise-free points of the dataset picker's thumbnail.

    TF draws these from the unseeded Math.random; a fixed seed keeps ours stable.
    """
    return _generator(dataset_name)(SeedRandom("thumbnail"), count, 0.0)
