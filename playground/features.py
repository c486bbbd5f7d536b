"""The seven input features of TensorFlow Playground, computed from a point's (x, y), unscaled as in the original."""
import torch

FEATURES = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")

FEATURE_FUNCTIONS = {
    "x": lambda x, y: x,
    "y": lambda x, y: y,
    "xSquared": lambda x, y: x * x,
    "ySquared": lambda x, y: y * y,
    "xTimesY": lambda x, y: x * y,
    "sinX": lambda x, y: torch.sin(x),
    "sinY": lambda x, y: torch.sin(y),
}
assert tuple(FEATURE_FUNCTIONS) == FEATURES


def active_features(config: dict) -> list[str]:
    """The enabled inputs, in TF Playground's display order."""
    return [name for name in FEATURES if config[name]]


def feature_matrix(points: torch.Tensor, names: list[str]) -> torch.Tensor:
    """(n, 2) points -> (n, len(names)) float64 inputs."""
    x, y = points[:, 0], points[:, 1]
    if not names:
        return points.new_zeros((points.shape[0], 0))
    return torch.stack([FEATURE_FUNCTIONS[name](x, y) for name in names], dim=1).to(torch.float64)
