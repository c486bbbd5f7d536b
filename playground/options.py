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

from . import network
from .datasets import CLASSIFICATION_DATASETS, GENERATORS, NUM_SAMPLES, REGRESSION_DATASETS
from .jsmath import js_number_to_string, js_to_number

MAX_HIDDEN_LAYERS = 6
MAX_NEURONS = 8
MAX_SEED_LENGTH = 4000  # as long as a link can carry (docs/protocol.md: open_link)
# What TF Playground can read as a seed from location.hash: printable ASCII that the browser leaves unencoded in a
# fragment, except "&" and "=", which split the hash.
SEED_CHARACTERS = "".join(char for char in map(chr, range(0x21, 0x7F)) if char not in '"<>`&=')
SEED_PATTERN = re.compile(f"[{re.escape(SEED_CHARACTERS)}]{{1,{MAX_SEED_LENGTH}}}")


@dataclass(frozen=True)
class Option:
    name: str  # the TensorFlow Playground URL key and protocol field
    kind: str  # choice | int | float | bool | shape | seed
    default: Any
    effect: str  # regenerate | reset | live | view
    label: str
    choices: tuple = ()  # allowed values (choice), or the values the UI offers (float)
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None  # the UI's slider step; links may carry values between steps
    omit_in_url_when: Any = field(default=None, compare=False)  # TF Playground skips null values
    choice_labels: dict = field(default_factory=dict, compare=False)  # value -> what the UI shows

    def describe(self) -> str:
        """What is allowed, in words, for error messages and the protocol document."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "shape":
            return f"a list of 0 to {MAX_HIDDEN_LAYERS} layer sizes, each a whole number from 1 to {MAX_NEURONS}"
        if self.kind == "seed":
            return (
                f"1 to {MAX_SEED_LENGTH} characters: letters, digits or printable ASCII punctuation other than "
                "space, '\"', '&', '<', '=', '>' and '`'"
            )
        what = "a whole number" if self.kind == "int" else "a number"
        low, high = _range(self)
        return f"{what} from {_fmt(low)} to {_fmt(high)}"

    def to_json(self) -> dict:
        """The option as the browser and docs see it."""
        out = {
            "name": self.name,
            "kind": self.kind,
            "default": self.default,
            "effect": self.effect,
            "label": self.label,
            "allowed": self.describe(),
        }
        for key in ("choices", "minimum", "maximum", "step"):
            value = getattr(self, key)
            if value not in (None, ()):
                out[key] = list(value) if isinstance(value, tuple) else value
        if self.choice_labels:
            out["choiceLabels"] = dict(self.choice_labels)
        return out


def _fmt(number: float) -> str:
    return f"{number:g}"


def _choice(name: str, default: str, effect: str, label: str, labels: dict, implemented, **more) -> Option:
    """A choice option: its values are those of `labels` (in the UI's order, each with what the UI shows), and each
    must be a key of the registry that implements it."""
    missing = set(labels) - set(implemented)
    assert not missing, f"{name}: {missing} not implemented"
    return Option(name, "choice", default, effect, label, choices=tuple(labels), choice_labels=dict(labels), **more)


# The seven inputs of TF Playground, in its display order, with its labels (features.py computes them).
FEATURES = ("x", "y", "xSquared", "ySquared", "xTimesY", "sinX", "sinY")
FEATURE_LABELS = ("X₁", "X₂", "X₁²", "X₂²", "X₁X₂", "sin(X₁)", "sin(X₂)")
LABELS = {
    "relu": "ReLU",
    "tanh": "Tanh",
    "sigmoid": "Sigmoid",
    "linear": "Linear",
    "none": "None",
    "L1": "L1",
    "L2": "L2",
    "classification": "Classification",
    "regression": "Regression",
    "circle": "Circle",
    "xor": "Exclusive or",
    "gauss": "Gaussian",
    "spiral": "Spiral",
    "reg-plane": "Plane",
    "reg-gauss": "Multi gaussian",
    "moons": "Two moons",
    "checkerboard": "Checkerboard",
    "rings": "Concentric rings",
    "sgd": "SGD",
    "momentum": "SGD with momentum",
    "adam": "Adam",
    "rmsprop": "RMSprop",
    "squared": "Squared error",
    "crossEntropy": "Cross-entropy",
}
HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear")  # network.ACTIVATIONS also has the output's
# SGD is the trainer's own rule (TF Playground's); the others are torch.optim optimizers.
IMPLEMENTED_OPTIMIZERS = ("sgd", *(name for name in network.OPTIMIZERS if name != "sgd"))
# The trainer implements these penalties and losses by name (network.Trainer).
REGULARIZATIONS = ("none", "L1", "L2")
LOSSES = ("squared", "crossEntropy")


def _labels(values) -> dict:
    return {value: LABELS[value] for value in values}


OPTIONS: tuple[Option, ...] = (
    _choice("activation", "tanh", "reset", "Activation", _labels(HIDDEN_ACTIVATIONS), network.ACTIVATIONS),
    _choice(
        "regularization",
        "none",
        "reset",
        "Regularization",
        _labels(REGULARIZATIONS),
        REGULARIZATIONS,
        omit_in_url_when="none",
    ),
    Option("batchSize", "int", 10, "reset", "Batch size", minimum=1, maximum=30, step=1),
    _choice(
        "dataset", "circle", "regenerate", "Dataset (classification)", _labels(CLASSIFICATION_DATASETS), GENERATORS
    ),
    _choice("regDataset", "reg-plane", "regenerate", "Dataset (regression)", _labels(REGRESSION_DATASETS), GENERATORS),
    Option(
        "learningRate",
        "float",
        0.03,
        "live",
        "Learning rate",
        minimum=0.00001,
        maximum=10,
        choices=(0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10),
    ),
    Option(
        "regularizationRate",
        "float",
        0,
        "reset",
        "Regularization rate",
        minimum=0,
        maximum=10,
        choices=(0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10),
    ),
    # The slider stops at 50; TF Playground links may carry up to 80 (it raises the slider's maximum for them).
    Option("noise", "int", 0, "regenerate", "Noise", minimum=0, maximum=80, step=5),
    Option("networkShape", "shape", (4, 2), "reset", "Hidden layers"),
    Option("seed", "seed", None, "regenerate", "Seed"),
    Option("showTestData", "bool", False, "view", "Show test data"),
    Option("discretize", "bool", False, "view", "Discretize output"),
    Option("percTrainData", "int", 50, "regenerate", "Ratio of training to test data", minimum=10, maximum=90, step=10),
    *(
        Option(name, "bool", name in ("x", "y"), "reset", label)
        for name, label in zip(FEATURES, FEATURE_LABELS, strict=True)
    ),
    _choice("problem", "classification", "regenerate", "Problem type", _labels(NUM_SAMPLES), NUM_SAMPLES),
    Option("initZero", "bool", False, "reset", "Initialise weights to zero"),
    Option("hideText", "bool", False, "view", "Hide the explanatory text"),
    # Beyond TF Playground; the defaults are its behaviour.
    _choice("optimizer", "sgd", "reset", "Optimizer", _labels(IMPLEMENTED_OPTIMIZERS), IMPLEMENTED_OPTIMIZERS),
    Option(
        "momentum",
        "float",
        0.9,
        "live",
        "Momentum (SGD with momentum)",
        minimum=0,
        maximum=0.999,
        choices=(0.5, 0.9, 0.95, 0.99),
    ),
    _choice("loss", "squared", "reset", "Loss (classification)", _labels(LOSSES), LOSSES),
    Option(
        "epochsPerSecond",
        "float",
        0,
        "live",
        "Speed in epochs per second (0: as fast as the server allows)",
        minimum=0,
        maximum=1000,
        choices=(0, 1, 2, 5, 10, 30, 100),
    ),
    Option(
        "stopAfterEpochs", "int", 0, "live", "Stop after this many epochs (0: never)", minimum=0, maximum=10_000_000
    ),
    Option(
        "stopBelowTestLoss", "float", 0, "live", "Stop when the test loss falls below (0: never)", minimum=0, maximum=10
    ),
    # "Run with K seeds" (playground/seeds.py): how many runs, and on which data. They change nothing in the run
    # itself (view); the link keeps them.
    Option("seedRuns", "int", 20, "view", "Runs of “Run with K seeds”", minimum=2, maximum=50),
    _choice(
        "seedData",
        "same",
        "view",
        "Data of the K runs",
        {"same": "The same data", "redrawn": "K redrawn datasets"},
        ("same", "redrawn"),
    ),
)
OPTIONS_BY_NAME = {option.name: option for option in OPTIONS}

# Keys TF Playground writes but never uses: kept (as their text) so that a link survives a round trip. A missing
# boolean is written "false", as TF Playground writes its default; a missing tutorial is left out (null).
INERT_URL_KEYS = {"cosX": "false", "cosY": "false", "collectStats": "false", "tutorial": None}
HIDE_SUFFIX = "_hide"
# TF Playground's URL order (state.ts PROPS).
URL_ORDER = (
    "activation",
    "regularization",
    "batchSize",
    "dataset",
    "regDataset",
    "learningRate",
    "regularizationRate",
    "noise",
    "networkShape",
    "seed",
    "showTestData",
    "discretize",
    "percTrainData",
    "x",
    "y",
    "xTimesY",
    "xSquared",
    "ySquared",
    "cosX",
    "sinX",
    "cosY",
    "sinY",
    "collectStats",
    "tutorial",
    "problem",
    "initZero",
    "hideText",
)


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
        if (
            isinstance(value, (list, tuple))
            and len(value) <= MAX_HIDDEN_LAYERS
            and all(isinstance(n, int) and is_whole_number(n, 1, MAX_NEURONS) for n in value)
        ):
            return tuple(value)
        raise bad
    low, high = _range(option)
    if option.kind == "int":
        if not is_whole_number(value, low, high):
            raise bad
        return int(value)
    if not (is_finite_number(value) and low <= value <= high):
        raise bad
    return value


def _range(option: Option) -> tuple[float, float]:
    """A numeric option's limits."""
    assert option.minimum is not None and option.maximum is not None, option.name
    return option.minimum, option.maximum


def is_whole_number(value: Any, low: float, high: float) -> bool:
    """A JSON number with no fractional part from `low` to `high` (2 and 2.0 are, True and 2.5 are not)."""
    return is_finite_number(value) and value == int(value) and low <= value <= high


def training_rule(config: dict) -> tuple[str, str]:
    """The output neuron's activation and the loss a config trains with: TF Playground's tanh and squared error,
    the logistic output with cross-entropy (classification only), and a linear output with squared error for
    regression."""
    if config["problem"] == "regression":
        return "linear", "squared"
    if config["loss"] == "crossEntropy":
        return "logistic", "crossEntropy"
    return "tanh", "squared"


def config_to_json(config: dict) -> dict:
    """A config as plain JSON (the shape as a list)."""
    return dict(config, networkShape=list(config["networkShape"]))


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


# --- TensorFlow Playground URL hashes: the one codec (the page sends location.hash in `open_link`) -------------------

MAX_LINK_LENGTH = 4000
# Noise in a link: TF Playground raises the slider's maximum for values up to 80 and reads larger ones as 50.
LINK_NOISE_LIMIT, LINK_NOISE_ABOVE_LIMIT = 80, 50


@dataclass
class Link:
    """A link as TF Playground reads it: the options it sets (missing ones are not in `config`), the inert and
    `_hide` keys as TF Playground writes them back, and a notice for every value that was replaced or clamped."""

    config: dict
    extras: dict
    notices: list

    @property
    def hidden(self) -> list[str]:
        return hidden_controls(self.extras)


def hidden_controls(extras: dict) -> list[str]:
    """The controls whose `<name>_hide=true` a link carries (the page hides `.ui-<name>`)."""
    return [
        name[: -len(HIDE_SUFFIX)] for name, value in extras.items() if name.endswith(HIDE_SUFFIX) and value == "true"
    ]


def _as_location_hash(text: str) -> str:
    """The text as the browser's location.hash gives it: the URL standard's fragment percent-encoding (controls,
    space, '"', '<', '>', '`' and non-ASCII as UTF-8 %XX), which is what TF Playground reads."""
    out = []
    for char in text:
        if char in ' "<>`' or not 0x20 <= ord(char) <= 0x7E:
            try:
                encoded = char.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate: the URL parser writes U+FFFD
                encoded = "\ufffd".encode("utf-8")
            out.append("".join(f"%{byte:02X}" for byte in encoded))
        else:
            out.append(char)
    return "".join(out)


def _lenient_number(option: Option, text: str) -> tuple[Any, str | None]:
    """A number key read with JavaScript's unary + and brought into range; returns (value, why it was changed)."""
    number = js_to_number(text)
    if math.isnan(number):
        return option.default, "is not a number"
    if option.name == "noise" and number > LINK_NOISE_LIMIT:
        return LINK_NOISE_ABOVE_LIMIT, (
            f"is above {LINK_NOISE_LIMIT}, which TF Playground reads as {LINK_NOISE_ABOVE_LIMIT}"
        )
    low, high = _range(option)
    value = min(max(number, low), high)
    if option.kind == "int":
        value = math.floor(value + 0.5)  # the nearest whole number (ties up, as Math.round)
    return value, None if value == number else f"must be {option.describe()}"


def _lenient_shape(option: Option, text: str) -> tuple[Any, str | None]:
    """TF Playground's `networkShape=4,2` (empty: no hidden layer); a fractional size counts up as its loop does,
    then sizes and depth are brought into range."""
    if text.strip() == "":
        return (), None
    sizes = [js_to_number(part) for part in text.split(",")]
    if any(math.isnan(size) for size in sizes):
        return option.default, "is not a list of numbers"
    shape = tuple(int(min(max(math.ceil(size), 1), MAX_NEURONS)) for size in sizes[:MAX_HIDDEN_LAYERS])
    return shape, None if list(shape) == sizes else f"must be {option.describe()}"


def _lenient_value(option: Option, text: str) -> tuple[Any, str | None]:
    """One hash value read as state.ts reads it; a value it would use that this server cannot is replaced by the
    nearest allowed one (or the default), with the reason."""
    if option.kind == "bool":
        return text != "false", None  # TF Playground: anything but "false" is true
    if option.kind == "choice":
        return (text, None) if text in option.choices else (option.default, f"must be {option.describe()}")
    if option.kind == "seed":
        too_long = f"is longer than {MAX_SEED_LENGTH}"
        return (text, None) if SEED_PATTERN.fullmatch(text) else (text[:MAX_SEED_LENGTH], too_long)
    if option.kind == "shape":
        return _lenient_shape(option, text)
    return _lenient_number(option, text)


def _url_value(option: Option, value: Any) -> str:
    if option.kind == "bool":
        return "true" if value else "false"
    if option.kind == "shape":
        return ",".join(str(n) for n in value)
    if option.kind in ("int", "float"):
        return js_number_to_string(value)
    return str(value)


def read_link(url_hash: Any) -> Link:
    """Read `#activation=tanh&batchSize=10&...` exactly as TF Playground's state.ts does, leniently: every value it
    would use opens here too, clamped or replaced (with a notice) where this server allows less. Unknown keys are
    ignored; keys TF Playground writes but never uses and `<control>_hide` keys come back in `extras`."""
    if not isinstance(url_hash, str) or len(url_hash) > MAX_LINK_LENGTH:
        raise ConfigError(
            {"hash": f"must be a string of at most {MAX_LINK_LENGTH} characters (the page's location.hash)"}
        )
    text = _as_location_hash(url_hash)
    raw: dict[str, str | None] = {}
    cut: dict[str, str] = {}
    for pair in text.removeprefix("#").split("&"):
        name, *values = pair.split("=")
        raw[name] = values[0] if values else None  # JS: let [name, value] = pair.split("=")
        if len(values) > 1:
            cut[name] = pair[len(name) + 1 :]
    config, notices = {}, []
    for option in OPTIONS:
        value_text = raw.get(option.name)
        if value_text is None or (value_text.strip() == "" and option.kind != "shape"):
            continue  # state.ts's hasKey(): missing or blank keeps the default
        value, reason = _lenient_value(option, value_text)
        config[option.name] = value
        shown = cut.get(option.name, value_text)
        if reason or option.name in cut:
            why = reason or "has a second '=', and TF Playground reads only what comes before it"
            notices.append(
                {
                    "field": option.name,
                    "message": f"the link had {_show(shown)}, but {option.name} "
                    f"{why}; used {_show(_url_value(option, value))}",
                }
            )
    extras = {}
    for name, value_text in raw.items():
        if name in INERT_URL_KEYS and value_text is not None and value_text.strip() != "":
            extras[name] = (
                value_text if INERT_URL_KEYS[name] is None else ("false" if value_text == "false" else "true")
            )
        elif name.endswith(HIDE_SUFFIX):
            extras[name] = "true" if value_text == "true" else "false"
    return Link(validate_changes(config), extras, notices)


def to_url_hash(config: dict, extras: dict | None = None) -> str:
    """Write a config as TF Playground writes its hash (state.ts serialize(): its key order, numbers as JavaScript
    writes them); our own options follow where they differ from their defaults, so a TF Playground experiment's
    link reads exactly as the original's, then the `_hide` keys."""
    extras = extras or {}
    parts = []
    for name in URL_ORDER:
        option = OPTIONS_BY_NAME.get(name)
        if option is None:
            value = extras.get(name, INERT_URL_KEYS[name])
            if value is not None:
                parts.append(f"{name}={value}")
            continue
        value = config.get(name)
        if value is None or value == option.omit_in_url_when:
            continue
        parts.append(f"{name}={_url_value(option, value)}")
    parts += [
        f"{option.name}={_url_value(option, config[option.name])}"
        for option in OPTIONS
        if option.name not in URL_ORDER and config.get(option.name, option.default) != option.default
    ]
    parts += [f"{name}={value}" for name, value in extras.items() if name.endswith(HIDE_SUFFIX)]
    return "#" + "&".join(parts)
