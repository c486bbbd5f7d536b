"""Every option of the playground, declared once.

The table below is the single source of truth: validation, TensorFlow Playground URL hashes, the browser's controls
(served as JSON) and docs/protocol.md all read it. An option's `effect` says what changing it does to a running
session, following TensorFlow Playground: `regenerate` draws new data and then new weights, `reset` draws new weights
on the same data, `live` changes training on the fly, `view` only changes what the browser shows.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .datasets import CLASSIFICATION_DATASETS, REGRESSION_DATASETS

MAX_HIDDEN_LAYERS = 6
MAX_NEURONS = 8
SEED_PATTERN = re.compile(r"[0-9A-Za-z._-]{1,32}")


@dataclass(frozen=True)
class Option:
    name: str                     # the TensorFlow Playground URL key and protocol field
    kind: str                     # choice | int | float | bool | shape | seed
    default: Any
    effect: str                   # regenerate | reset | live | view
    label: str
    choices: tuple = ()           # allowed values (choice), or the values the UI offers (float)
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None     # the UI's slider step; links may carry values between steps
    omit_in_url_when: Any = field(default=None, compare=False)  # TF Playground skips null values

    def describe(self) -> str:
        """What is allowed, in words, for error messages and the protocol document."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "shape":
            return (f"a list of 0 to {MAX_HIDDEN_LAYERS} layer sizes, each a whole number from 1 to {MAX_NEURONS}")
        if self.kind == "seed":
            return "1 to 32 characters: letters, digits, '.', '_' or '-'"
        what = "a whole number" if self.kind == "int" else "a number"
        return f"{what} from {_fmt(self.minimum)} to {_fmt(self.maximum)}"

    def to_json(self) -> dict:
        """The option as the browser and docs see it."""
        out = {"name": self.name, "kind": self.kind, "default": self.default, "effect": self.effect,
               "label": self.label, "allowed": self.describe()}
        for key in ("choices", "minimum", "maximum", "step"):
            value = getattr(self, key)
            if value not in (None, ()):
                out[key] = list(value) if isinstance(value, tuple) else value
        if self.kind == "choice":
            out["choiceLabels"] = {choice: CHOICE_LABELS.get(choice, choice) for choice in self.choices}
        return out


def _fmt(number: float) -> str:
    return f"{number:g}"


# How each choice reads on screen (TF Playground's wording for its own choices).
CHOICE_LABELS = {
    "relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear",
    "none": "None", "L1": "L1", "L2": "L2",
    "classification": "Classification", "regression": "Regression",
    "circle": "Circle", "xor": "Exclusive or", "gauss": "Gaussian", "spiral": "Spiral",
    "moons": "Two moons", "checkerboard": "Checkerboard", "rings": "Concentric rings",
    "reg-plane": "Plane", "reg-gauss": "Multi gaussian",
    "sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam", "rmsprop": "RMSprop",
    "squared": "Squared error", "crossEntropy": "Cross-entropy",
}

FEATURES = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")

OPTIONS: tuple[Option, ...] = (
    Option("activation", "choice", "tanh", "reset", "Activation", choices=("relu", "tanh", "sigmoid", "linear")),
    Option("regularization", "choice", "none", "reset", "Regularization", choices=("none", "L1", "L2"),
           omit_in_url_when="none"),
    Option("batchSize", "int", 10, "reset", "Batch size", minimum=1, maximum=30, step=1),
    Option("dataset", "choice", "circle", "regenerate", "Dataset (classification)", choices=CLASSIFICATION_DATASETS),
    Option("regDataset", "choice", "reg-plane", "regenerate", "Dataset (regression)", choices=REGRESSION_DATASETS),
    Option("learningRate", "float", 0.03, "live", "Learning rate", minimum=0.00001, maximum=10,
           choices=(0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)),
    Option("regularizationRate", "float", 0, "reset", "Regularization rate", minimum=0, maximum=10,
           choices=(0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)),
    # The slider stops at 50; TF Playground links may carry up to 80 (it raises the slider's maximum for them).
    Option("noise", "int", 0, "regenerate", "Noise", minimum=0, maximum=80, step=5),
    Option("networkShape", "shape", (4, 2), "reset", "Hidden layers"),
    Option("seed", "seed", None, "regenerate", "Seed"),
    Option("showTestData", "bool", False, "view", "Show test data"),
    Option("discretize", "bool", False, "view", "Discretize output"),
    Option("percTrainData", "int", 50, "regenerate", "Ratio of training to test data", minimum=10, maximum=90,
           step=10),
    *(Option(name, "bool", name in ("x", "y"), "reset", label) for name, label in zip(
        FEATURES, ("X₁", "X₂", "X₁²", "X₂²", "X₁X₂", "sin(X₁)", "sin(X₂)"))),
    Option("problem", "choice", "classification", "regenerate", "Problem type",
           choices=("classification", "regression")),
    Option("initZero", "bool", False, "reset", "Initialise weights to zero"),
    Option("hideText", "bool", False, "view", "Hide the explanatory text"),
    # Beyond TF Playground; the defaults are its behaviour.
    Option("optimizer", "choice", "sgd", "reset", "Optimizer", choices=("sgd", "momentum", "adam", "rmsprop")),
    Option("momentum", "float", 0.9, "live", "Momentum (SGD with momentum)", minimum=0, maximum=0.999,
           choices=(0.5, 0.9, 0.95, 0.99)),
    Option("loss", "choice", "squared", "reset", "Loss (classification)", choices=("squared", "crossEntropy")),
    Option("epochsPerSecond", "float", 0, "live", "Speed in epochs per second (0: as fast as the server allows)",
           minimum=0, maximum=1000, choices=(0, 1, 2, 5, 10, 30, 100)),
    Option("stopAfterEpochs", "int", 0, "live", "Stop after this many epochs (0: never)", minimum=0,
           maximum=10_000_000),
    Option("stopBelowTestLoss", "float", 0, "live", "Stop when the test loss falls below (0: never)", minimum=0,
           maximum=10),
)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}

# TF Playground's URL order (state.ts PROPS); keys it writes that have no effect there are kept for round trips.
URL_ORDER = ("activation", "regularization", "batchSize", "dataset", "regDataset", "learningRate",
             "regularizationRate", "noise", "networkShape", "seed", "showTestData", "discretize", "percTrainData",
             "x", "y", "xTimesY", "xSquared", "ySquared", "cosX", "sinX", "cosY", "sinY", "collectStats", "tutorial",
             "problem", "initZero", "hideText")
INERT_URL_KEYS = ("cosX", "cosY", "collectStats", "tutorial")


class ConfigError(ValueError):
    """One or more fields were rejected; `errors` maps each field to a sentence that says what is allowed."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


def default_config(seed: str) -> dict:
    config = {option.name: option.default for option in OPTIONS}
    config["seed"] = seed
    return config


def _check(option: Option, value: Any) -> Any:
    """Return the clean value, or raise ValueError with what is allowed."""
    bad = ValueError(f"must be {option.describe()}, got {_show(value)}")
    if option.kind == "bool":
        if isinstance(value, bool):
            return value
        raise bad
    if option.kind == "choice":
        if isinstance(value, str) and value in option.choices:
            return value
        raise bad
    if option.kind == "seed":
        if isinstance(value, str) and SEED_PATTERN.fullmatch(value):
            return value
        raise bad
    if option.kind == "shape":
        if (isinstance(value, (list, tuple)) and len(value) <= MAX_HIDDEN_LAYERS
                and all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= MAX_NEURONS for n in value)):
            return tuple(value)
        raise bad
    if not is_finite_number(value):
        raise bad
    if option.kind == "int":
        if value != int(value):
            raise bad
        value = int(value)
    if not option.minimum <= value <= option.maximum:
        raise bad
    return value


def is_finite_number(value: Any) -> bool:
    """A JSON number that is a finite float (not a bool, not an int too large for a float)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def field_label(name: Any) -> str:
    """A field name as error messages show it: at most 40 characters, never empty."""
    return str(name)[:40] or '""'


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def validate_changes(changes: Any) -> dict:
    """Check a partial config. Returns the clean changes or raises ConfigError naming every bad field."""
    if not isinstance(changes, dict):
        raise ConfigError({"config": f"must be an object of option names to values, got {_show(changes)}"})
    clean, errors = {}, {}
    for name, value in changes.items():
        option = OPTIONS_BY_NAME.get(name) if isinstance(name, str) else None
        if option is None:
            errors[field_label(name)] = "is not an option"
            continue
        try:
            clean[name] = _check(option, value)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise ConfigError(errors)
    return clean


# --- TensorFlow Playground URL hashes -------------------------------------------------------------------------------

def _parse_url_value(option: Option, text: str) -> Any:
    """Read one hash value the way state.ts does, then hand it to the same validation as every other input."""
    if option.kind == "bool":
        return text != "false"                      # TF Playground: anything but "false" is true
    if option.kind == "shape":
        if text.strip() == "":
            return []
        try:
            return [_js_number(part) for part in text.split(",")]
        except ValueError:
            return text
    if option.kind in ("int", "float"):
        try:
            return _js_number(text)
        except ValueError:
            return text
    return text


def _js_number(text: str) -> float | int:
    """JavaScript's unary + on a URL value (raises ValueError where + would give NaN)."""
    number = float(text.strip() or "0")
    return int(number) if number.is_integer() else number


def parse_url_hash(url_hash: str) -> tuple[dict, dict]:
    """Parse `#activation=tanh&batchSize=10&...` into (clean options, extras).

    Unknown keys are ignored; keys TF Playground writes but never uses, and `<control>_hide` keys, come back in
    `extras` so that a hash survives a round trip. Bad values raise ConfigError.
    """
    raw = {}
    for pair in url_hash.lstrip("#").split("&"):
        name, _, value = pair.partition("=")
        if name:
            raw[name] = value
    changes, extras = {}, {}
    for name, value in raw.items():
        option = OPTIONS_BY_NAME.get(name)
        if option is not None:
            if value.strip() != "" or option.kind == "shape":   # TF Playground's hasKey() skips empty values
                changes[name] = _parse_url_value(option, value)
        elif name in INERT_URL_KEYS or name.endswith("_hide"):
            extras[name] = value
    return validate_changes(changes), extras


def parse_url_hash_leniently(url_hash: str) -> tuple[dict, dict, list[dict]]:
    """Read a link as TF Playground would open it: like `parse_url_hash`, but a number outside its option's range is
    clamped to the nearest allowed value and any other bad value is left out, each with a notice
    `{"field", "message"}` that says what the link had and what was used."""
    pairs = [pair.partition("=") for pair in url_hash.lstrip("#").split("&") if pair]
    notices = []
    while True:
        try:
            changes, extras = parse_url_hash("&".join(name + "=" + value for name, _, value in pairs))
            return changes, extras, notices
        except ConfigError as problem:
            bad = problem.errors
        kept = []
        for name, _, value in pairs:
            if name not in bad:
                kept.append((name, "", value))
                continue
            option = OPTIONS_BY_NAME[name]
            clamped = _clamped(option, value)
            used = f"used {clamped}" if clamped is not None else "kept the current value"
            notices.append({"field": name, "message": f"{name} {bad[name]}: {used}"})
            if clamped is not None:
                kept.append((name, "", clamped))
        pairs = kept


def _clamped(option: Option, text: str) -> str | None:
    """The nearest allowed value of a numeric option for a link's number, as URL text; None if there is none."""
    if option.kind not in ("int", "float") or option.minimum is None or option.maximum is None:
        return None
    try:
        number = _js_number(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    value = min(max(number, option.minimum), option.maximum)
    return str(round(value)) if option.kind == "int" else f"{value:g}"


def _url_value(option: Option, value: Any) -> str:
    if option.kind == "bool":
        return "true" if value else "false"
    if option.kind == "shape":
        return ",".join(str(n) for n in value)
    if option.kind == "float":
        return f"{value:.10g}"
    return str(value)


def to_url_hash(config: dict, extras: dict | None = None) -> str:
    """Write a config as a TF Playground hash, in TF Playground's key order; our own options follow, where they
    differ from their defaults (so a TF Playground experiment's link reads exactly as the original's)."""
    extras = extras or {}
    parts = []
    for name in URL_ORDER:
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            if name in extras:
                parts.append(f"{name}={extras[name]}")
            continue
        value = config.get(name)
        if value is None or value == option.omit_in_url_when:
            continue
        parts.append(f"{name}={_url_value(option, value)}")
    parts += [f"{option.name}={_url_value(option, config[option.name])}" for option in OPTIONS
              if option.name not in URL_ORDER and config.get(option.name, option.default) != option.default]
    parts += [f"{name}={value}" for name, value in extras.items() if name.endswith("_hide")]
    return "#" + "&".join(parts)
