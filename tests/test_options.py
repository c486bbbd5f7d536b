"""The options table: validation of every option, TF Playground URL hashes, round trips, bad configs."""

import pytest

from playground.options import (
    FEATURES,
    OPTIONS,
    OPTIONS_BY_NAME,
    ConfigError,
    default_config,
    read_link,
    to_url_hash,
    validate_changes,
)

TF_DEFAULT_HASH = (
    "#activation=tanh&batchSize=10&dataset=circle&regDataset=reg-plane&learningRate=0.03"
    "&regularizationRate=0&noise=0&networkShape=4,2&seed=0.59704&showTestData=false&discretize=false"
    "&percTrainData=50&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false"
    "&sinX=false&cosY=false&sinY=false&collectStats=false&problem=classification&initZero=false"
    "&hideText=false"
)


def test_defaults_are_tf_playgrounds():
    config = default_config("0.5")
    assert config == {
        "optimizer": "sgd",
        "momentum": 0.9,
        "loss": "squared",
        "epochsPerSecond": 0,
        "stopAfterEpochs": 0,
        "stopBelowTestLoss": 0,
        "seedRuns": 20,
        "seedData": "same",
        **{
            "activation": "tanh",
            "regularization": "none",
            "batchSize": 10,
            "dataset": "circle",
            "regDataset": "reg-plane",
            "learningRate": 0.03,
            "regularizationRate": 0,
            "noise": 0,
            "networkShape": (4, 2),
            "seed": "0.5",
            "showTestData": False,
            "discretize": False,
            "percTrainData": 50,
            "x": True,
            "y": True,
            "xSquared": False,
            "ySquared": False,
            "xTimesY": False,
            "sinX": False,
            "sinY": False,
            "problem": "classification",
            "initZero": False,
            "hideText": False,
        },
    }


def test_every_option_has_a_valid_default_and_a_description():
    for option in OPTIONS:
        assert option.effect in {"regenerate", "reset", "live", "view"}
        assert option.describe()
        if option.default is not None:
            assert validate_changes({option.name: option.default})
        assert option.to_json()["name"] == option.name


VALID = {
    "activation": ["relu", "tanh", "sigmoid", "linear"],
    "regularization": ["none", "L1", "L2"],
    "batchSize": [1, 30, 15.0],
    "dataset": ["circle", "xor", "gauss", "spiral", "moons", "checkerboard", "rings"],
    "regDataset": ["reg-plane", "reg-gauss"],
    "learningRate": [0.00001, 10, 0.5],
    "regularizationRate": [0, 10, 0.003],
    "noise": [0, 50, 80, 12],
    "networkShape": [[], [8] * 6, (1, 2, 3)],
    "seed": ["0.59704", "a", "x" * 4000, "my-seed_1", "a%20b", "../x", "#!$~"],
    "percTrainData": [10, 90, 55],
    "problem": ["classification", "regression"],
    **{name: [True, False] for name in [*FEATURES, "showTestData", "discretize", "initZero", "hideText"]},
    "optimizer": ["sgd", "momentum", "adam", "rmsprop"],
    "momentum": [0, 0.5, 0.999],
    "loss": ["squared", "crossEntropy"],
    "epochsPerSecond": [0, 1, 0.5, 1000],
    "stopAfterEpochs": [0, 1, 10_000_000],
    "stopBelowTestLoss": [0, 0.01, 10],
    "seedRuns": [2, 20, 50],
    "seedData": ["same", "redrawn"],
}
INVALID = {
    "activation": ["softmax", "", None, 1, "TANH"],
    "regularization": ["l1", None],
    "batchSize": [0, 31, 2.5, "10", True, None, float("nan")],
    "dataset": ["two-moons", "reg-plane", 3],
    "regDataset": ["circle"],
    "learningRate": [0, -1, 10.5, float("inf"), float("nan"), "0.03", [0.03]],
    "regularizationRate": [-0.1, 11],
    "noise": [-5, 85, 0.5, False],
    "networkShape": [[0], [9], [1] * 7, [2.5], ["2"], "4,2", [True], None, {"a": 1}],
    "seed": ["", "x" * 4001, "a b", "é", 5, None, "a=b", "a&b", "<b>", "\n"],
    "percTrainData": [0, 95, 100, 5],
    "problem": ["multiclass"],
    **{name: [1, 0, "true", None] for name in [*FEATURES, "showTestData", "discretize", "initZero", "hideText"]},
    "optimizer": ["sgd ", "Adam", "lbfgs"],
    "momentum": [-0.1, 1, 2],
    "loss": ["mse", "bce"],
    "epochsPerSecond": [-1, 1001, "fast"],
    "stopAfterEpochs": [-1, 1.5, 10_000_001],
    "stopBelowTestLoss": [-0.01, 11],
    "seedRuns": [1, 51, 2.5, "20", True],
    "seedData": ["new", "", None],
}


def test_every_option_is_covered_by_the_tables_below():
    assert set(VALID) == set(OPTIONS_BY_NAME) == set(INVALID)


@pytest.mark.parametrize("name,value", [(name, value) for name, values in VALID.items() for value in values])
def test_valid_values(name, value):
    clean = validate_changes({name: value})
    assert clean[name] == (tuple(value) if name == "networkShape" else value)


@pytest.mark.parametrize("name,value", [(name, value) for name, values in INVALID.items() for value in values])
def test_invalid_values_name_the_field_and_what_is_allowed(name, value):
    with pytest.raises(ConfigError) as caught:
        validate_changes({name: value})
    message = caught.value.errors[name]
    assert message.startswith("must be ") and OPTIONS_BY_NAME[name].describe() in message


def test_all_errors_reported_at_once_and_unknown_names():
    with pytest.raises(ConfigError) as caught:
        validate_changes({"batchSize": 0, "noise": 99, "colour": "red", 7: 1})
    assert set(caught.value.errors) == {"batchSize", "noise", "colour", "7"}
    assert caught.value.errors["colour"] == "is not an option"


@pytest.mark.parametrize("bad", [None, [], "x=1", 5])
def test_config_must_be_an_object(bad):
    with pytest.raises(ConfigError) as caught:
        validate_changes(bad)
    assert "config" in caught.value.errors


def test_error_values_are_shortened():
    with pytest.raises(ConfigError) as caught:
        validate_changes({"seed": "y" * 10_000})
    assert len(caught.value.errors["seed"]) < 200


def parse(url_hash):
    link = read_link(url_hash)
    return link.config, link.extras


def test_parse_tf_playground_default_hash():
    config, extras = parse(TF_DEFAULT_HASH)
    assert {**default_config("0.59704"), **config} == default_config("0.59704")
    assert extras == {"cosX": "false", "cosY": "false", "collectStats": "false"}


def test_tf_hash_round_trip_is_identical_up_to_the_null_regularization():
    config, extras = parse(TF_DEFAULT_HASH)
    full = {**default_config("0.59704"), **config}
    assert to_url_hash(full, extras) == TF_DEFAULT_HASH  # regularization "none" is omitted, as TF does
    assert to_url_hash(full) == TF_DEFAULT_HASH  # TF writes its unused keys' defaults


def test_parse_url_rules_of_state_ts():
    config, extras = parse(
        "#x=yes&y=false&showTestData=&networkShape=&activation=relu&zzz=1"
        "&xSquared_hide=true&learningRate=1e-4&regularization=L1&noise=5"
    )
    assert config["x"] is True  # anything but "false" is true
    assert config["y"] is False
    assert "showTestData" not in config  # empty values are skipped
    assert config["networkShape"] == ()  # networkShape= means no hidden layer
    assert config["learningRate"] == 0.0001 and config["regularization"] == "L1" and config["noise"] == 5
    assert extras == {"xSquared_hide": "true"}  # unknown keys are ignored, _hide keys kept


def test_round_trip_of_every_non_default_config():
    config = {
        **default_config("abc"),
        "activation": "relu",
        "regularization": "L2",
        "batchSize": 3,
        "dataset": "spiral",
        "learningRate": 0.003,
        "regularizationRate": 0.1,
        "noise": 35,
        "networkShape": (8, 1, 3),
        "showTestData": True,
        "discretize": True,
        "percTrainData": 70,
        "sinX": True,
        "x": False,
        "problem": "regression",
        "regDataset": "reg-gauss",
        "initZero": True,
    }
    parsed, _ = parse(to_url_hash(config))
    assert {**default_config("abc"), **parsed} == config
    ours = {**config, "optimizer": "adam", "loss": "crossEntropy", "epochsPerSecond": 2, "stopAfterEpochs": 500}
    url = to_url_hash(ours)
    assert url.endswith("&optimizer=adam&loss=crossEntropy&epochsPerSecond=2&stopAfterEpochs=500")
    assert {**default_config("abc"), **parse(url)[0]} == ours
