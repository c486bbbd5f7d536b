"""The events beyond TF Playground: own data, export/import, same-weights reset, pace and stop rules, and open_link
with the `hash` of every reply that carries the config."""

import time

import pytest

from playground import datasets
from playground.custom_data import MAX_CSV_BYTES, MAX_POINTS
from playground.experiments import Experiment
from playground.rng import SeedRandom
from playground.session import TrainingSession


@pytest.fixture
def client(app, socketio):
    test_client = socketio.test_client(app)
    test_client.emit("update_config", {"seed": "beyond"}, callback=True)
    test_client.get_received()
    yield test_client
    test_client.disconnect()


@pytest.fixture
def session(app, client):
    (connected,) = app.extensions["playground_hub"].connections.values()
    return connected.experiment.session


def emit(client, event, payload=None):
    return client.emit(event, payload, callback=True)


def names(client):
    return [message["name"] for message in client.get_received()]


def test_add_and_erase_points(client, session):
    reply = emit(client, "add_point", {"x": 1.5, "y": -2, "label": 1, "set": "train"})
    assert reply == {"ok": True, "trainCount": 251, "testCount": 250}
    assert "dataset" in names(client)
    assert emit(client, "add_point", {"x": 0, "y": 0, "label": 0, "set": "test"})["testCount"] == 251
    assert session.data.test_labels[-1] == -1.0  # 0 is read as -1
    reply = emit(client, "erase_points", {"x": 1.5, "y": -2, "radius": 0.001})
    assert reply["removed"] == 1 and reply["trainCount"] == 250


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"x": 7, "y": 0, "label": 1, "set": "train"}, "x"),
        ({"x": 0, "y": float("nan"), "label": 1, "set": "train"}, "y"),
        ({"x": 0, "y": 0, "label": 0.5, "set": "train"}, "label"),
        ({"x": 0, "y": 0, "label": 1, "set": "validation"}, "set"),
        ({"x": 0, "y": 0, "label": 1}, "set"),
    ],
)
def test_bad_points_are_rejected(client, session, payload, field):
    before = len(session.data.train_labels)
    reply = emit(client, "add_point", payload)
    assert reply["ok"] is False and reply["error"]["field"] == field
    assert len(session.data.train_labels) == before


def test_regression_points_take_values(client, session):
    emit(client, "update_config", {"problem": "regression"})
    assert emit(client, "add_point", {"x": 0, "y": 0, "label": 0.7, "set": "train"})["ok"]
    assert session.data.train_labels[-1] == 0.7
    assert emit(client, "add_point", {"x": 0, "y": 0, "label": 2, "set": "train"})["error"]["field"] == "label"


def test_erase_needs_a_radius(client):
    for radius in (0, -1, 13, "1", None):
        assert emit(client, "erase_points", {"x": 0, "y": 0, "radius": radius})["ok"] is False


def test_upload_and_download_round_trip(client, session):
    emit(client, "add_point", {"x": 1, "y": 1, "label": 1, "set": "test"})
    csv = emit(client, "download_data")["csv"]
    assert csv.startswith("x,y,label,set\n") and csv.count("\n") == 502
    emit(client, "update_config", {"noise": 20})  # new generated data
    reply = emit(client, "upload_data", {"csv": csv})
    assert reply == {"ok": True, "trainCount": 250, "testCount": 251}
    assert emit(client, "download_data")["csv"] == csv


@pytest.mark.parametrize(
    "csv,message",
    [
        ("1,2,1\n3,4\n", "line 2: expected 3 values"),
        ("x,y,label\n1,2,1\n1,b,1\n", "line 3: x, y and label must be numbers"),
        ("1,2,1\n1,2,3\n", "line 2: label must be -1 or 1"),
        ("1,2,1\n9,2,1\n", "line 2: x must be a number from -6 to 6"),
        ("1,2,1,training\n", "line 1: set must be train or test"),
        ("x,y,label\n", "has no points"),
        ("1,1,1\n" * (MAX_POINTS + 1), f"has more than {MAX_POINTS} points"),
        ("1" * (MAX_CSV_BYTES + 1), "is larger than 512 KB"),
    ],
)
def test_bad_uploads_name_the_line_and_keep_the_data(client, session, csv, message):
    before = session.data
    reply = emit(client, "upload_data", {"csv": csv})
    assert reply["ok"] is False and reply["error"]["field"] == "csv"
    assert message in reply["error"]["message"]
    assert session.data is before


def test_point_cap(client, session):
    rows = "".join(f"{(i % 100) / 20 - 2.5},{(i // 100) / 20 - 2.5},1\n" for i in range(MAX_POINTS))
    assert emit(client, "upload_data", {"csv": rows})["ok"]
    reply = emit(client, "add_point", {"x": 0, "y": 0, "label": 1, "set": "train"})
    assert reply["error"]["field"] == "points"


def test_export_script_is_python(client):
    reply = emit(client, "export_script")
    assert reply["filename"] == "playground_run.py"
    compile(reply["script"], "playground_run.py", "exec")


def test_export_and_import_network(client, session):
    emit(client, "step")
    network = emit(client, "export_network")["network"]
    weights = session.net.get_parameters()
    emit(client, "reset")
    reply = emit(client, "import_network", {"network": network})
    assert reply["ok"] and reply["config"]["seed"] == "beyond"
    assert session.net.get_parameters() == weights and session.epoch == 1


@pytest.mark.parametrize("network", [None, "x", {}, {"format": "nn-playground/1", "config": {"noise": -1}}])
def test_import_rejects_bad_networks(client, session, network):
    weights = session.net.get_parameters()
    reply = emit(client, "import_network", {"network": network})
    assert reply["ok"] is False and reply["error"]["field"] == "network"
    assert session.net.get_parameters() == weights


def test_reset_with_the_same_weights(client, session):
    initial = session.net.get_parameters()
    emit(client, "step")
    assert emit(client, "reset", {"sameWeights": True})["epoch"] == 0
    assert session.net.get_parameters() == initial
    emit(client, "reset")
    assert session.net.get_parameters() != initial
    assert emit(client, "reset", {"sameWeights": "yes"})["error"]["field"] == "sameWeights"


def test_stop_after_epochs(client, session, wait):
    emit(client, "update_config", {"stopAfterEpochs": 5})
    emit(client, "start_training")
    wait(lambda: session.status == "stopped", message="the stop after 5 epochs")
    assert session.epoch == 5
    states = [m["args"][0] for m in client.get_received() if m["name"] == "state"]
    assert states[-1] == {"status": "stopped", "epoch": 5, "reason": "stopped after 5 epochs"}
    emit(client, "start_training")  # starting again clears the reason
    assert [m["args"][0] for m in client.get_received() if m["name"] == "state"][-1]["reason"] is None
    emit(client, "stop_training")


def test_stop_below_test_loss(client, session, wait):
    emit(client, "update_config", {"stopBelowTestLoss": 0.2, "learningRate": 0.1})
    emit(client, "start_training")
    wait(lambda: session.status == "stopped", timeout=30, message="the stop below a test loss of 0.2")
    assert session.test_loss < 0.2


def test_pace_allows_epochs_like_a_token_bucket():
    experiment = Experiment("e1", TrainingSession(), 1 / 30)
    experiment.session.config["epochsPerSecond"] = 2
    assert experiment.pace_allowance(100.0, 0.02) == 1  # the first epoch at once
    experiment.pace_spent(1)
    assert experiment.pace_allowance(100.2, 0.02) == 0
    assert experiment.pace is not None and experiment.pace.due(100.2) == pytest.approx(100.5)
    assert experiment.pace_allowance(100.5, 0.02) == 1
    experiment.pace_spent(1)
    assert experiment.pace_allowance(130.0, 0.02) == 1  # a long pause is not saved up
    experiment.session.config["epochsPerSecond"] = 0
    assert experiment.pace_allowance(131.0, 0.02) is None


def test_slow_motion_trains_at_the_set_pace(client, session, wait, other_session_trains):
    pace = 1
    emit(client, "update_config", {"epochsPerSecond": pace})
    started = time.monotonic()
    emit(client, "start_training")
    wait(lambda: session.epoch >= 1, message="the first epoch, at once")
    other_session_trains(3)  # the scheduler had turns to give: a paced session takes no more
    # One-sided, so a slow machine can only make it easier: the pace allows the first epoch at once, then `pace` a
    # second; free of it, the session would have trained hundreds of epochs in those turns.
    assert session.epoch <= 1 + (time.monotonic() - started) * pace
    emit(client, "stop_training")


# --- open_link, the config's hash, stop rules that fire once per condition ----------------------------------------


def received(client, name):
    return [message["args"][0] for message in client.get_received() if message["name"] == name]


def test_open_link_opens_tf_playgrounds_experiment(app, client, session):
    reply = emit(
        client,
        "open_link",
        {"hash": "#activation=relu&noise=95&networkShape=3&seed=abc=def&x_hide=true&cosX=true&batchSize=10"},
    )
    assert reply["ok"] and reply["hidden"] == ["x"]
    assert [notice["field"] for notice in reply["notices"]] == ["noise", "seed"]
    assert reply["config"]["seed"] == "abc" and reply["config"]["noise"] == 50
    assert reply["config"]["networkShape"] == [3] and reply["config"]["activation"] == "relu"
    assert reply["hash"] == session.url_hash() and "&cosX=true&" in reply["hash"]
    assert reply["hash"].endswith("&x_hide=true")
    rng = SeedRandom("abc")
    data = datasets.generate_split(rng, "circle", 500, 50, 50)
    assert (session.data.train_points == data.train_points).all()
    first_layer = [[rng.random() - 0.5] for _ in range(3)]
    assert session.net.get_parameters()[0] == [first_layer, [[rng.random() - 0.5 for _ in range(3)]]]
    assert "dataset" in [message["name"] for message in client.get_received()]
    # The test client never acknowledges frames, so the newest one waits in the hub.
    (connected,) = app.extensions["playground_hub"].connections.values()
    assert connected.experiment.newest["features"] == ["y"] and connected.experiment.newest["layerSizes"] == [1, 3, 1]


def test_a_links_seed_gives_tf_playgrounds_initial_weights(client, session):
    emit(client, "open_link", {"hash": "seed=0.59704&networkShape=2"})  # the '#' is optional
    rng = SeedRandom("0.59704")
    datasets.generate_split(rng, "circle", 500, 0, 50)
    expected = [[[rng.random() - 0.5 for _ in range(inp)] for _ in range(out)] for inp, out in ((2, 2), (2, 1))]
    assert session.net.get_parameters()[0] == expected


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"hash": "#" + "a" * 4000}, "hash"),
        ({"hash": 5}, "hash"),
        ({}, "hash"),
        ({"hash": "", "more": 1}, "more"),
        (None, "payload"),
    ],
)
def test_a_bad_open_link_is_an_error_and_changes_nothing(client, session, payload, field):
    emit(client, "step")
    before = (dict(session.config), session.net.get_parameters(), session.epoch)
    reply = emit(client, "open_link", payload)
    assert reply["ok"] is False and reply["error"]["field"] == field
    assert (dict(session.config), session.net.get_parameters(), session.epoch) == before


def test_every_reply_with_the_config_carries_the_sessions_link(client, session):
    emit(client, "open_link", {"hash": "#seed=linked&learningRate=1e-5&numHiddenLayers_hide=true"})
    for event, payload in (
        ("update_config", {"batchSize": 5}),
        ("reset", None),
        ("regenerate", None),
        ("import_network", {"network": emit(client, "export_network")["network"]}),
    ):
        reply = emit(client, event, payload)
        assert reply["ok"] and reply["hash"] == session.url_hash(), event
        assert "learningRate=0.00001&" in reply["hash"]
    assert emit(client, "update_config", {"seed": "next"})["hash"].count("seed=next&") == 1


def test_open_link_leaves_update_config_strict(client):
    reply = emit(client, "update_config", {"noise": 95})
    assert reply["ok"] is False and reply["error"]["field"] == "noise"


def wait_for_stop(client, wait) -> dict:
    """The `state` message that says training stopped (waited for: it follows the training turn that stopped it)."""

    def stopped() -> dict | None:
        states = [state for state in received(client, "state") if state["status"] != "running"]
        return states[-1] if states else None

    return wait(stopped, message="a state message saying training stopped")


def test_play_after_a_stop_rule_goes_on_to_the_next_multiple(client, wait, session):
    emit(client, "update_config", {"seed": "multiple", "stopAfterEpochs": 3})
    for expected in (3, 6):
        assert emit(client, "start_training")["ok"]
        assert wait_for_stop(client, wait) == {
            "status": "stopped",
            "epoch": expected,
            "reason": "stopped after 3 epochs",
        }


def test_play_after_stopping_below_a_test_loss_goes_on(client, wait, session):
    emit(client, "update_config", {"seed": "below", "stopBelowTestLoss": 0.45, "learningRate": 0.1})
    emit(client, "start_training")
    stopped_at = wait_for_stop(client, wait)["epoch"]
    assert session.stop_reason and session.test_loss < 0.45
    emit(client, "start_training")
    wait(lambda: session.epoch > stopped_at + 3, message="training to go on past the epoch it stopped at")
    assert session.status == "running"
    emit(client, "stop_training")
