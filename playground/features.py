"""The seven input features of TensorFlow Playground, computed from a point's (x, y), unscaled as in the original.

sin uses V8's fdlibm (jsmath.js_sin), not torch.sin, which differs from Math.sin in the last bit for a few percent of
arguments: the inputs are then the original's bit for bit. Features are computed once per dataset and network, so
the Python loop costs little.
"""

import torch

from .jsmath import js_sin
from .options import FEATURES, HIDE_SUFFIX


def _js_sin(values: torch.Tensor) -> torch.Tensor:
    # Once per distinct value: the 100×100 map grid has only 100 x and 100 y values.
    distinct, index = values.unique(return_inverse=True)
    return torch.tensor([js_sin(value) for value in distinct.tolist()], dtype=torch.float64)[index]


FEATURE_FUNCTIONS = {
    "x": lambda x, y: x,
    "y": lambda x, y: y,
    "xSquared": lambda x, y: x * x,
    "ySquared": lambda x, y: y * y,
    "xTimesY": lambda x, y: x * y,
    "sinX": lambda x, y: _js_sin(x),
    "sinY": lambda x, y: _js_sin(y),
}
assert tuple(FEATURE_FUNCTIONS) == FEATURES


def active_features(config: dict, url_extras: dict | None = None) -> list[str]:
    """The enabled inputs, in TF Playground's display order, without those a link hides (`x_hide=true`), which TF
    Playground removes from the network."""
    extras = url_extras or {}
    return [name for name in FEATURES if config[name] and extras.get(name + HIDE_SUFFIX) != "true"]


def feature_matrix(points: torch.Tensor, names: list[str]) -> torch.Tensor:
    """(n, 2) points -> (n, len(names)) float64 inputs."""
    points = points.to(torch.float64)
    x, y = points[:, 0], points[:, 1]
    if not names:
        return points.new_zeros((points.shape[0], 0))
    return torch.stack([FEATURE_FUNCTIONS[name](x, y) for name in names], dim=1)
