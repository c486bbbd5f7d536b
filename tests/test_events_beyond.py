"""The events beyond TF Playground: own data, export/import, same-weights reset, pace and stop rules."""

import time

import pytest

from playground.custom_data import MAX_CSV_BYTES, MAX_POINTS
from playground.web.hub import Client


@pytest.fixture
def client(app, socketio):
    test_client = socketio.test_client(app)
    test_client.emit("update_config", {"seed": "beyond"}, callback=True)
    test_client.get_received()
    yield test_client
    test_client.disconnect()


@pytest.fixture
def session(app, client):
    (connected,) = app.extensions["playground_hub"].clients.values()
    return connected.session


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
    client = Client("sid")
    client.session.config["epochsPerSecond"] = 2
    assert client.pace_allowance(100.0, 0.02) == 1  # the first epoch at once
    client.pace_spent(1)
    assert client.pace_allowance(100.2, 0.02) == 0
    assert client.pace is not None and client.pace.due(100.2) == pytest.approx(100.5)
    assert client.pace_allowance(100.5, 0.02) == 1
    client.pace_spent(1)
    assert client.pace_allowance(130.0, 0.02) == 1  # a long pause is not saved up
    client.session.config["epochsPerSecond"] = 0
    assert client.pace_allowance(131.0, 0.02) is None


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
