"""A session reproduces TF Playground's experiment from a seed and follows its rules for every change."""

import copy
import itertools
import math

import pytest
import torch

from playground import datasets
from playground.options import ConfigError
from playground.rng import SeedRandom, new_seed
from playground.session import DIVERGED, STOPPED, TrainingSession
from tests.configs import DIVERGING


def expected_start(seed, dataset="circle", sizes=(2, 4, 2, 1), noise=0, percent=50):
    """What TF Playground does on page load: seed, generate, shuffle, split, then draw the weights."""
    rng = SeedRandom(seed)
    data = datasets.generate_split(rng, dataset, 500, noise, percent)
    weights = [[[rng.random() - 0.5 for _ in range(inp)] for _ in range(out)] for inp, out in itertools.pairwise(sizes)]
    return data, weights, rng


def test_a_seed_reproduces_tf_playgrounds_data_and_initial_weights():
    session = TrainingSession({"seed": "0.59704"})
    data, weights, _ = expected_start("0.59704")
    assert (session.data.train_points == data.train_points).all()
    assert (session.data.test_labels == data.test_labels).all()
    assert session.net.get_parameters()[0] == weights
    assert session.data.train_points[0].tolist() == [0.24014491222149606, 0.46035893207186385]
    assert session.epoch == 0 and session.status == STOPPED


def test_reset_draws_new_weights_from_the_continuing_stream():
    session = TrainingSession({"seed": "7"})
    data, _, rng = expected_start("7")
    session.step()
    session.reset()
    assert session.net.get_parameters()[0] == [
        [[rng.random() - 0.5 for _ in range(inp)] for _ in range(out)] for inp, out in ((2, 4), (4, 2), (2, 1))
    ]
    assert (session.data.train_points == data.train_points).all() and session.epoch == 0


def test_regenerate_draws_the_next_seed_and_keeps_training_state():
    session = TrainingSession({"seed": "7"})
    _, _, rng = expected_start("7")
    session.step()
    weights = session.net.get_parameters()
    session.regenerate()
    assert session.config["seed"] == new_seed(rng)
    assert session.net.get_parameters() == weights and session.epoch == 1
    fresh = TrainingSession({"seed": session.config["seed"]})
    assert (fresh.data.train_points == session.data.train_points).all()


def test_effects_of_changes():
    session = TrainingSession({"seed": "s"})
    session.step()
    assert session.update_config({"learningRate": 0.3}) == {
        "changed": ["learningRate"],
        "regenerated": False,
        "reset": False,
    }
    assert session.epoch == 1
    data = session.data
    assert session.update_config({"activation": "relu"})["reset"]
    assert session.data is data and session.epoch == 0
    result = session.update_config({"dataset": "spiral"})
    assert result["regenerated"] and session.config["seed"] != "s"
    assert session.update_config({"dataset": "xor", "seed": "given"})["regenerated"]
    assert session.config["seed"] == "given"
    assert session.update_config({"dataset": "circle", "seed": "given"})["regenerated"]  # the same seed, named
    assert session.config["seed"] == "given"
    assert session.data.train_points.tolist() == TrainingSession({"seed": "given"}).data.train_points.tolist()
    assert session.update_config({"discretize": True, "showTestData": True}) == {
        "changed": ["discretize", "showTestData"],
        "regenerated": False,
        "reset": False,
    }
    assert session.update_config({"activation": "relu"})["changed"] == []


def test_bad_change_leaves_everything_as_it_was():
    session = TrainingSession({"seed": "s"})
    session.step()
    before = (copy.deepcopy(session.config), session.net.get_parameters(), session.epoch)
    with pytest.raises(ConfigError):
        session.update_config({"activation": "relu", "batchSize": 0})
    assert (session.config, session.net.get_parameters(), session.epoch) == before


def test_problem_types_and_feature_sets():
    session = TrainingSession(
        {
            "problem": "regression",
            "regDataset": "reg-gauss",
            "networkShape": [],
            "x": False,
            "y": False,
            "sinX": True,
            "sinY": True,
        }
    )
    assert session.net.layer_sizes == [2, 1] and session.net.activation_names == ["linear"]
    assert len(session.data.train_labels) == 600
    session.train_for(0.01)
    assert math.isfinite(session.train_loss)
    nothing = TrainingSession({"x": False, "y": False, "networkShape": [1]})
    assert nothing.net.layer_sizes == [0, 1, 1]
    assert nothing.step() and len(nothing.frame().heatmap) == 10000


def test_training_lowers_the_loss_on_circle():
    session = TrainingSession({"seed": "0.59704"})
    start = session.train_loss
    for _ in range(100):
        session.step()
    assert session.epoch == 100
    assert session.train_loss < start / 2


def test_divergence_is_detected_at_once():
    session = TrainingSession(DIVERGING)
    count = session.train_for(30)
    assert session.status == DIVERGED
    assert count == session.epoch and count < 30
    assert not math.isfinite(session.train_loss)
    session.reset()
    assert session.status == STOPPED and math.isfinite(session.train_loss)


@pytest.mark.parametrize(
    "changes",
    [
        {"networkShape": [1]},
        {"networkShape": []},
        {"percTrainData": 10, "batchSize": 30},
        {"dataset": "gauss", "noise": 50},
        {"regularization": "L1", "regularizationRate": 10},
        {"initZero": True},
    ],
)
def test_edge_configs_train_without_crashing(changes):
    session = TrainingSession(changes)
    session.train_for(0.05)
    assert session.epoch >= 1
    assert len(session.frame().thumbnails) == sum(session.net.layer_sizes) * 100


def test_set_parameter():
    session = TrainingSession({"seed": "a"})
    session.set_parameter(0, 3, 1, 2.5)
    session.set_parameter(2, 0, None, -1)
    weights, biases = session.net.get_parameters()
    assert weights[0][3][1] == 2.5 and biases[2][0] == -1
    for args, field in [
        ((3, 0, 0, 1.0), "layer"),
        ((0, 4, 0, 1.0), "node"),
        ((0, 0, 2, 1.0), "source"),
        ((0, 0, 0, math.inf), "value"),
        ((0, 0, 0, True), "value"),
        ((True, 0, 0, 1), "layer"),
    ]:
        with pytest.raises(ConfigError) as caught:
            session.set_parameter(*args)
        assert set(caught.value.errors) == {field}


def test_export_and_import_json_round_trip():
    session = TrainingSession({"seed": "e", "regularization": "L1", "regularizationRate": 0.01})
    session.train_for(10, max_epochs=20)
    exported = session.export_json()
    other = TrainingSession()
    other.import_json(exported)
    assert other.net.get_parameters() == session.net.get_parameters()
    assert other.trainer.dead_links() == session.trainer.dead_links()
    assert (other.train_loss, other.test_loss, other.epoch) == (session.train_loss, session.test_loss, 20)
    session.step()
    other.step()
    assert other.train_loss == pytest.approx(session.train_loss, abs=1e-12)


@pytest.mark.parametrize(
    "broken", [None, {}, {"format": "other"}, {"format": "nn-playground/1", "config": {"batchSize": 0}}]
)
def test_import_rejects_bad_files_and_keeps_the_session(broken):
    session = TrainingSession({"seed": "k"})
    before = session.net.get_parameters()
    with pytest.raises((ValueError, ConfigError)):
        session.import_json(broken)
    assert session.net.get_parameters() == before


@pytest.mark.parametrize(
    "field,value",
    [
        ("weights", [[[1.0]]]),
        ("weights", "junk"),
        ("biases", [["a"]]),
        ("dead", [[True]]),
        ("weights", [[[1, 2], [3]]]),
    ],
)
def test_import_rejects_wrong_shapes_and_junk(field, value):
    exported = TrainingSession({"seed": "k"}).export_json()
    exported[field] = value
    session = TrainingSession()
    before = session.net.get_parameters()
    with pytest.raises(ValueError):
        session.import_json(exported)
    assert session.net.get_parameters() == before


def test_frame_matches_the_model():
    session = TrainingSession({"seed": "f"})
    from playground import features, frames

    with torch.no_grad():
        output = session.net(features.feature_matrix(frames.grid_points(), ["x", "y"])).view(-1)
    assert session.frame().heatmap == frames.quantize(output)
