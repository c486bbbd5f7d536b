"""TF Playground parity, checked against Node.js where it is about numbers: V8's sin in the features, JavaScript's
number text in links, the random stream on a problem switch, links read as state.ts reads them, hidden inputs."""

import itertools
import json
import math
import random

import pytest
import torch

from playground import datasets, features, frames, network, options
from playground.custom_data import parse_csv
from playground.jsmath import js_number_to_string, js_to_number
from playground.options import (
    OPTIONS_BY_NAME,
    ConfigError,
    config_to_json,
    default_config,
    is_whole_number,
    read_link,
    to_url_hash,
    training_rule,
    validate_changes,
)
from playground.rng import SeedRandom, new_seed
from playground.session import DIVERGED, RUNNING, STOPPED, TrainingSession
from tests.configs import DIVERGING
from tests.test_datasets import JS_REFERENCE, needs_node, run_node

# JS_REFERENCE's functions without its main(): seedrandom, the generators and shuffle of dataset.ts.
JS_LIBRARY = JS_REFERENCE.rsplit("main();", 1)[0]


# --- sin features with V8's sin ---------------------------------------------------------------------------------


@needs_node
def test_sin_features_are_javascripts_math_sin():
    rnd = random.Random(1)
    points = torch.tensor([[rnd.uniform(-6, 6), rnd.uniform(-6, 6)] for _ in range(5000)], dtype=torch.float64)
    points = torch.cat([points, frames.grid_points().to(torch.float64)])
    computed = features.feature_matrix(points, ["sinX", "sinY"])
    script = (
        "const d = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(d.map(([x, y]) => [Math.sin(x), Math.sin(y)])));"
    )
    assert computed.tolist() == run_node(script, points.tolist())


def test_there_is_one_list_of_features():
    assert features.FEATURES is options.FEATURES
    assert tuple(features.FEATURE_FUNCTIONS) == options.FEATURES


# --- numbers in links as JavaScript writes and reads them ------------------------------------------------------------


@needs_node
def test_numbers_are_written_as_javascript_writes_them():
    rnd = random.Random(2)
    values = [
        0.00001,
        1e-7,
        1e-6,
        1.5e-6,
        0.03,
        1e20,
        1e21,
        123456789012345680000,
        5e-324,
        1.7976931348623157e308,
        0.1 + 0.2,
        -0.0001,
        100,
        2.5,
    ]
    values += [option_value for option in options.OPTIONS if option.kind == "float" for option_value in option.choices]
    values += [rnd.uniform(-1, 1) * 10 ** rnd.randint(-30, 30) for _ in range(3000)]
    script = (
        "const d = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(d.map(String)));"
    )
    assert [js_number_to_string(float(v)) for v in values] == run_node(script, values)


@needs_node
def test_link_values_are_read_as_javascripts_unary_plus():
    texts = [
        " 12 ",
        "0x10",
        "0b101",
        "0o17",
        "1e3",
        "1E-5",
        ".5",
        "5.",
        "abc",
        "12abc",
        "Infinity",
        "-Infinity",
        "inf",
        "nan",
        "1_000",
        "+3",
        "-0x10",
        "",
        "\t7\n",
        "1e400",
        "0.1e-2",
        "++1",
        "0x",
        "3,5",
    ]
    script = (
        "const d = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "process.stdout.write(JSON.stringify(d.map((t) => String(+t))));"
    )
    assert [js_number_to_string(js_to_number(text)) for text in texts] == run_node(script, texts)


def test_hash_numbers_never_use_python_exponents_or_a_cut():
    config = {**default_config("s"), "learningRate": 0.00001, "momentum": 0.123456789012, "stopBelowTestLoss": 1e-7}
    url = to_url_hash(config)
    assert "learningRate=0.00001&" in url and "momentum=0.123456789012" in url and "stopBelowTestLoss=1e-7" in url


def test_a_tf_hash_rewritten_here_is_tf_playgrounds_own_rewrite():
    tf_hash = (
        "#activation=relu&batchSize=3&dataset=spiral&regDataset=reg-plane&learningRate=1e-5"
        "&regularizationRate=0.003&noise=35&networkShape=8,1&seed=my.seed&showTestData=false"
        "&discretize=false&percTrainData=70&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false"
        "&cosX=false&sinX=true&cosY=false&sinY=false&collectStats=false&problem=classification"
        "&initZero=false&hideText=false&numHiddenLayers_hide=true"
    )
    link = read_link(tf_hash)
    rewritten = to_url_hash({**default_config("x"), **link.config}, link.extras)
    assert rewritten == tf_hash.replace("learningRate=1e-5", "learningRate=0.00001")  # String(+"1e-5")


# --- links TF Playground opens must open here ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url,name,used,noticed",
    [
        ("#noise=95", "noise", 50, True),  # TF Playground reads a noise above 80 as 50
        ("#noise=65", "noise", 65, False),  # and raises its slider's maximum up to 80
        ("#noise=-5", "noise", 0, True),
        ("#noise=12.5", "noise", 13, True),
        ("#batchSize=100", "batchSize", 30, True),
        ("#batchSize=0", "batchSize", 1, True),
        ("#networkShape=8,8,8,8,8,8,8,8,8,8", "networkShape", (8,) * 6, True),
        ("#networkShape=12,2.5", "networkShape", (8, 3), True),
        ("#networkShape=4,x", "networkShape", (4, 2), True),
        ("#networkShape=", "networkShape", (), False),
        ("#percTrainData=55.5", "percTrainData", 56, True),
        ("#percTrainData=100", "percTrainData", 90, True),
        ("#learningRate=20", "learningRate", 10, True),
        ("#learningRate=0", "learningRate", 0.00001, True),
        ("#learningRate=abc", "learningRate", 0.03, True),
        ("#regularizationRate=Infinity", "regularizationRate", 10, True),
        ("#dataset=moon", "dataset", "circle", True),
        ("#activation=swish", "activation", "tanh", True),
        ("#regularization=none", "regularization", "none", False),
        ("#seed=abc=def", "seed", "abc", True),  # state.ts: [name, value] = pair.split("=")
        ("#seed=a%20b", "seed", "a%20b", False),  # location.hash text, as TF Playground seeds with it
        ("#seed=héllo wörld", "seed", "h%C3%A9llo%20w%C3%B6rld", False),  # what location.hash gives for it
        ("#seed=../weird!", "seed", "../weird!", False),
        ("#x=yes", "x", True, False),
    ],
)
def test_links_open_as_tf_playground_reads_them(url, name, used, noticed):
    link = read_link(url)
    assert link.config[name] == used
    assert [notice["field"] for notice in link.notices] == ([name] if noticed else [])
    for notice in link.notices:
        assert name in notice["message"] and "the link had" in notice["message"] and "used" in notice["message"]


def test_controls_stay_strict():
    for changes in (
        {"noise": 95},
        {"batchSize": 100},
        {"networkShape": [9]},
        {"percTrainData": 55.5},
        {"learningRate": 20},
        {"dataset": "moon"},
        {"seed": "abc=def"},
        {"seed": "a b"},
    ):
        with pytest.raises(ConfigError) as caught:
            validate_changes(changes)
        assert set(caught.value.errors) == set(changes)


@pytest.mark.parametrize("bad", [None, 5, "#" + "a" * 4000])
def test_a_hash_must_be_a_string_of_at_most_4000_characters(bad):
    with pytest.raises(ConfigError) as caught:
        read_link(bad)
    assert "hash" in caught.value.errors


def test_inert_and_hide_keys_are_kept_as_tf_playground_writes_them():
    link = read_link("#cosX=1&tutorial=intro&x_hide=true&problem_hide=yes&collectStats=false&junk=1")
    assert link.extras == {
        "cosX": "true",
        "tutorial": "intro",
        "x_hide": "true",
        "problem_hide": "false",
        "collectStats": "false",
    }
    assert link.hidden == ["x"]
    url = to_url_hash(default_config("s"), link.extras)
    assert "&cosX=true&" in url and "&tutorial=intro&" in url and url.endswith("&x_hide=true&problem_hide=false")


# --- the session: hidden inputs, problem switch, a link's seed --------------------------------------------------------


def tf_weights(rng, sizes):
    return [[[rng.random() - 0.5 for _ in range(inp)] for _ in range(out)] for inp, out in itertools.pairwise(sizes)]


def test_a_hidden_input_is_absent_from_the_network_while_its_flag_is_on():
    session = TrainingSession()
    result = session.open_link("#seed=hide&x=true&y=true&xSquared=true&x_hide=true")
    assert result["hidden"] == ["x"]
    assert session.feature_names == ["y", "xSquared"] and session.net.layer_sizes == [2, 4, 2, 1]
    rng = SeedRandom("hide")
    datasets.generate_split(rng, "circle", 500, 0, 50)
    assert session.net.get_parameters()[0] == tf_weights(rng, [2, 4, 2, 1])
    assert session.url_hash().endswith("&x_hide=true")
    session.open_link(session.url_hash().replace("x_hide=true", "x_hide=false"))
    assert session.feature_names == ["x", "y", "xSquared"]


def test_an_exported_network_with_a_hidden_input_imports_with_it_hidden():
    exported_from = TrainingSession()
    exported_from.open_link("#seed=hide&x=true&y=true&xSquared=true&x_hide=true")
    exported_from.step()
    exported = json.loads(json.dumps(exported_from.export_json()))
    imported = TrainingSession()
    imported.import_json(exported)
    assert imported.feature_names == ["y", "xSquared"] and imported.url_hash() == exported_from.url_hash()
    exported_from.step()
    imported.step()
    assert imported.net.get_parameters() == exported_from.net.get_parameters()


@needs_node
@pytest.mark.parametrize(
    "start,switch_to,dataset",
    [("classification", "regression", "reg-plane"), ("regression", "classification", "circle")],
)
def test_switching_the_problem_draws_tf_playgrounds_weights(start, switch_to, dataset):
    """TF Playground's problem handler: generateData() (a new seed from the stream), drawDatasetThumbnails()
    (200 noise-free points of each dataset of the new problem, from the seeded stream), then reset()."""
    script = (
        JS_LIBRARY
        + r"""
    var c = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    var thumbnails = {classification: ['circle', 'xor', 'gauss', 'spiral'], regression: ['reg-plane', 'reg-gauss']};
    function drawWeights(sizes) {
      var weights = [];
      for (var l = 1; l < sizes.length; l++) {
        var layer = [];
        for (var to = 0; to < sizes[l]; to++) {
          var row = [];
          for (var from = 0; from < sizes[l - 1]; from++) row.push(Math.random() - 0.5);
          layer.push(row);
        }
        weights.push(layer);
      }
      return weights;
    }
    Math.random = seedrandom(c.seed);                      // page load: the link's seed, its data, its weights
    shuffle(generators[c.startDataset](c.startSamples, 0));
    drawWeights([2, 4, 2, 1]);
    var seed = Math.random().toFixed(5);                   // the problem handler: generateData()
    Math.random = seedrandom(seed);
    var data = generators[c.dataset](c.samples, 0);
    shuffle(data);
    thumbnails[c.problem].forEach(function(name) { generators[name](200, 0); });   // drawDatasetThumbnails()
    var weights = drawWeights([2, 4, 2, 1]);               // reset()
    process.stdout.write(JSON.stringify({seed: seed, weights: weights,
                                         points: data.map(function(p) { return [p.x, p.y, p.label]; })}));
    """
    )
    session = TrainingSession({"seed": "switch", "problem": start})
    expected = run_node(
        script,
        {
            "seed": "switch",
            "dataset": dataset,
            "problem": switch_to,
            "samples": datasets.NUM_SAMPLES[switch_to],
            "startDataset": "reg-plane" if start == "regression" else "circle",
            "startSamples": datasets.NUM_SAMPLES[start],
        },
    )
    session.update_config({"problem": switch_to})
    assert session.config["seed"] == expected["seed"]
    data = session.data
    points = [
        [*p, label]
        for p, label in zip(
            data.train_points.tolist() + data.test_points.tolist(),
            data.train_labels.tolist() + data.test_labels.tolist(),
            strict=True,
        )
    ]
    assert points == expected["points"]
    assert session.net.get_parameters()[0] == expected["weights"]


def test_a_link_with_a_seed_gives_tf_playgrounds_data_and_weights_even_for_the_current_seed():
    session = TrainingSession({"seed": "same"})
    session.step()
    session.reset()  # weights from further down the stream
    session.open_link("#seed=same&activation=relu&networkShape=3")
    rng = SeedRandom("same")
    data = datasets.generate_split(rng, "circle", 500, 0, 50)
    assert (session.data.train_points == data.train_points).all()
    assert session.net.get_parameters()[0] == tf_weights(rng, [2, 3, 1]) and session.epoch == 0


def test_opening_the_sessions_own_link_changes_nothing():
    session = TrainingSession({"seed": "own", "learningRate": 0.1, "optimizer": "adam"})
    session.step()
    parameters = session.net.get_parameters()
    result = session.open_link(session.url_hash())
    assert result["changed"] == [] and not result["reset"] and result["notices"] == []
    assert session.net.get_parameters() == parameters and session.epoch == 1


def test_a_link_without_a_key_takes_its_default_and_without_a_seed_keeps_the_stream():
    session = TrainingSession({"seed": "keep", "activation": "relu", "learningRate": 1})
    rng = SeedRandom("keep")
    datasets.generate_split(rng, "circle", 500, 0, 50)
    tf_weights(rng, [2, 4, 2, 1])
    session.open_link("#dataset=xor")
    assert session.config["activation"] == "tanh" and session.config["learningRate"] == 0.03
    assert session.config["seed"] == new_seed(rng)  # a new dataset draws a new seed, as TF Playground does


# --- one source for each rule -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes,rule",
    [
        ({}, ("tanh", "squared")),
        ({"loss": "crossEntropy"}, ("logistic", "crossEntropy")),
        ({"problem": "regression"}, ("linear", "squared")),
        ({"problem": "regression", "loss": "crossEntropy"}, ("linear", "squared")),
    ],
)
def test_training_rule(changes, rule):
    config = {**default_config("r"), **changes}
    assert training_rule(config) == rule
    session = TrainingSession(changes)
    assert (session.net.activation_names[-1], session.loss_name) == rule


def test_is_whole_number():
    assert is_whole_number(3, 0, 5) and is_whole_number(3.0, 0, 5) and is_whole_number(0, 0, 0)
    for bad in (True, 2.5, -1, 6, math.nan, math.inf, "3", None, 10**400):
        assert not is_whole_number(bad, 0, 5)


def test_config_to_json():
    assert config_to_json(default_config("j"))["networkShape"] == [4, 2]


def test_choices_come_from_their_registries_with_their_labels():
    labels = {name: option.to_json().get("choiceLabels") for name, option in OPTIONS_BY_NAME.items()}
    assert labels["activation"] == {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "linear": "Linear"}
    assert labels["regularization"] == {"none": "None", "L1": "L1", "L2": "L2"}
    assert labels["problem"] == {"classification": "Classification", "regression": "Regression"}
    assert labels["dataset"] == {
        "circle": "Circle",
        "xor": "Exclusive or",
        "gauss": "Gaussian",
        "spiral": "Spiral",
        "moons": "Two moons",
        "checkerboard": "Checkerboard",
        "rings": "Concentric rings",
    }
    assert labels["regDataset"] == {"reg-plane": "Plane", "reg-gauss": "Multi gaussian"}
    assert labels["optimizer"] == {"sgd": "SGD", "momentum": "SGD with momentum", "adam": "Adam", "rmsprop": "RMSprop"}
    assert labels["loss"] == {"squared": "Squared error", "crossEntropy": "Cross-entropy"}
    assert labels["batchSize"] is None
    assert set(OPTIONS_BY_NAME["activation"].choices) <= set(network.ACTIVATIONS)
    assert set(OPTIONS_BY_NAME["optimizer"].choices) - {"sgd"} <= set(network.OPTIMIZERS)
    assert set(OPTIONS_BY_NAME["dataset"].choices) | set(OPTIONS_BY_NAME["regDataset"].choices) == set(
        datasets.GENERATORS
    )


# --- a CSV of junk names line 1 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["hello world", "1;1;1", "a,b,c\n1,1,1", "x,y\n1,1,1"])
def test_a_line_that_is_not_the_header_and_does_not_parse_is_an_error(text):
    with pytest.raises(ConfigError) as caught:
        parse_csv(text, "classification")
    assert caught.value.errors["csv"].startswith("line 1: ")


@pytest.mark.parametrize("text", ["x,y,label\n1,1,1", " X , Y , Label , Set \n1,1,1,train", "\n\nx,y,label\n1,1,1"])
def test_the_header_is_optional(text):
    points, _ = parse_csv(text, "classification")
    assert points == [(1.0, 1.0, 1.0)]


# --- stop rules fire once per condition -------------------------------------------------------------------------------


def play(session, epochs):
    """Start and train until a stop rule holds or `epochs` ran; returns the epoch it stopped at."""
    session.start()
    for _ in range(epochs):
        if not session.train_for(0, max_epochs=1) or session.status != RUNNING:
            break
    return session.epoch


def test_stop_after_n_epochs_fires_at_each_multiple_of_n():
    session = TrainingSession({"seed": "stops", "stopAfterEpochs": 5})
    assert play(session, 100) == 5 and session.stop_reason == "stopped after 5 epochs"
    assert play(session, 100) == 10 and session.status == STOPPED
    session.update_config({"stopAfterEpochs": 4})
    assert play(session, 100) == 12


def test_stop_below_test_loss_fires_again_only_for_a_new_threshold_or_after_a_reset():
    session = TrainingSession({"seed": "stops", "stopBelowTestLoss": 0.4, "learningRate": 0.1})
    stopped_at = play(session, 300)
    assert session.stop_reason and session.stop_reason.startswith("stopped when the test loss fell below")
    assert session.test_loss < 0.4
    assert play(session, 5) == stopped_at + 5 and session.status == RUNNING
    session.stop()
    session.update_config({"stopBelowTestLoss": 0.39})
    assert play(session, 300) < stopped_at + 300 and session.stop_reason
    session.reset(same_weights=True)
    assert play(session, 300) == stopped_at


def test_start_refuses_a_diverged_network():
    session = TrainingSession(DIVERGING)
    session.start()
    session.train_for(30)
    assert session.status == DIVERGED
    with pytest.raises(ConfigError) as caught:
        session.start()
    assert set(caught.value.errors) == {"status"} and session.status == DIVERGED
