"""Every Socket.IO event and error path, through the Flask-SocketIO test client (which never acknowledges)."""

import math

import pytest

from playground import wire
from playground.frames import GRID_SIZE, THUMBNAIL_SIZE
from tests.configs import DIVERGING
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def app_settings():
    return {"max_training_sessions": 2, "max_connections": 4}


def events(client, name):
    return [message["args"][0] for message in client.get_received() if message["name"] == name]


def only_session(hub):
    (client,) = hub.connections.values()
    return client


def received_until(client, wait, name: str) -> list[dict]:
    """Every message the test client gets until one named `name` has come (the first frame comes from a green
    thread, so only after the test yields)."""
    received = []

    def arrived() -> bool:
        received.extend(client.get_received())
        return any(message["name"] == name for message in received)

    wait(arrived, message=f"a {name} event")
    return received


def test_connect_sends_the_data_the_state_and_a_first_frame(client, wait):
    received = received_until(client, wait, "map_update")
    names = [message["name"] for message in received]
    assert names[:2] == ["dataset", "state"]
    dataset = received[0]["args"][0]
    assert dataset["trainCount"] == 250 and dataset["testCount"] == 250 and dataset["problem"] == "classification"
    assert len(dataset["points"]) == 500 * 3 * 4
    assert received[1]["args"][0] == {"status": "stopped", "epoch": 0, "reason": None}
    frame = next(m["args"][0] for m in received if m["name"] == "map_update")
    decoded = wire.decode(frame)
    assert len(decoded["heatmap"]) == GRID_SIZE * GRID_SIZE
    assert frame["layerSizes"] == [2, 4, 2, 1] and frame["features"] == ["x", "y"]
    assert len(decoded["thumbnails"]) == 9 * THUMBNAIL_SIZE * THUMBNAIL_SIZE
    assert frame["epoch"] == 0 and frame["seq"] == 1


def test_update_config_accepts_valid_changes(client, hub):
    reply = client.emit("update_config", {"dataset": "xor", "learningRate": 0.1, "seed": "abc"}, callback=True)
    assert reply["ok"] and reply["reset"] and sorted(reply["changed"]) == ["dataset", "learningRate", "seed"]
    assert reply["config"]["seed"] == "abc" and reply["config"]["dataset"] == "xor"
    assert only_session(hub).experiment.session.config["learningRate"] == 0.1


def test_update_config_live_option_does_not_reset(client, hub):
    client.emit("step", callback=True)
    reply = client.emit("update_config", {"learningRate": 1}, callback=True)
    assert reply["ok"] and not reply["reset"]
    assert only_session(hub).experiment.session.epoch == 1


def test_update_config_regenerate_draws_a_new_seed_and_sends_new_data(client):
    first = client.emit("update_config", {"seed": "s1"}, callback=True)["config"]["seed"]
    client.get_received()
    reply = client.emit("update_config", {"noise": 25}, callback=True)
    assert reply["config"]["seed"] != first
    assert events(client, "dataset")


def test_bad_config_names_every_field_and_changes_nothing(client, hub):
    before = dict(only_session(hub).experiment.session.config)
    reply = client.emit("update_config", {"batchSize": 99, "activation": "softmax", "bogus": 1}, callback=True)
    assert not reply["ok"]
    error = reply["error"]
    assert error["event"] == "update_config"
    assert error["fields"]["batchSize"] == "must be a whole number from 1 to 30, got 99"
    assert "'relu', 'tanh', 'sigmoid', 'linear'" in error["fields"]["activation"]
    assert error["fields"]["bogus"] == "is not an option"
    assert events(client, "error")[-1] == error
    assert only_session(hub).experiment.session.config == before


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "tanh",
        7,
        {"networkShape": [9]},
        {"networkShape": [1] * 7},
        {"learningRate": float("nan")},
        {"learningRate": float("inf")},
        {"noise": True},
        {"seed": "x" * 4001},
        {"seed": "a b"},
        {"x": "yes"},
    ],
)
def test_malformed_configs_are_errors(client, payload):
    reply = client.emit("update_config", payload, callback=True)
    assert reply["ok"] is False and reply["error"]["field"]


def test_start_and_stop_training(client, hub, wait, other_session_trains):
    reply = client.emit("start_training", callback=True)
    assert reply == {"ok": True, "status": "running"}
    session = only_session(hub).experiment.session
    wait(lambda: session.epoch > 0, message="training to move")
    assert client.emit("stop_training", callback=True) == {"ok": True, "status": "stopped"}
    states = events(client, "state")
    assert [s["status"] for s in states][-2:] == ["running", "stopped"]
    epoch = session.epoch
    other_session_trains(2)
    assert session.epoch == epoch


def test_ack_gate_holds_frames_while_training_goes_on(client, hub, wait):
    # The test client never acknowledges: after the first map_update no other may be sent, however much the
    # session trains, and the frames produced meanwhile replace each other instead of queueing.
    received = received_until(client, wait, "map_update")
    client.emit("start_training", callback=True)
    experiment = only_session(hub).experiment
    wait(lambda: experiment.seq >= 3, message="newer frames rendered behind the unacknowledged one")
    client.emit("stop_training", callback=True)
    frames = [m["args"][0] for m in received + client.get_received() if m["name"] == "map_update"]
    assert len(frames) == 1
    assert experiment.session.epoch > frames[0]["epoch"] and experiment.newest["seq"] > frames[0]["seq"]


def test_acknowledged_frames_flow_and_skip_stale_ones(client, hub, wait):
    received_until(client, wait, "map_update")
    client.emit("start_training", callback=True)
    connection = only_session(hub)
    seqs = []
    for _ in range(4):  # acknowledge by hand what the test client cannot
        hub._acknowledged(connection, connection.experiment)
        frames = wait(lambda: events(client, "map_update"), message="the next frame after an acknowledgement")
        seqs += [f["seq"] for f in frames]
    client.emit("stop_training", callback=True)
    assert len(seqs) >= 3
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert seqs[-1] - seqs[0] >= len(seqs) - 1


def test_a_frame_that_shows_nothing_new_is_not_sent_unless_it_answers_an_event(client, hub, wait):
    received_until(client, wait, "map_update")
    connection = only_session(hub)
    experiment = connection.experiment
    hub._acknowledged(connection, experiment)  # the test client cannot acknowledge by itself
    hub._store(experiment, dict(experiment.newest))  # the scheduler's frame of an unchanged picture
    unchanged = experiment.seq
    assert client.emit("set_focus", {"node": None}, callback=True)["ok"]  # an event that changes nothing
    frames = wait(lambda: events(client, "map_update"), message="the frame that answers the event")
    # Only the event's frame came: the unchanged one before it was never sent, and the answer was, though it
    # shows the same picture.
    assert [frame["seq"] for frame in frames] == [unchanged + 1] == [experiment.seq]


def test_step_trains_exactly_one_epoch_and_stops_training(client, hub):
    client.emit("start_training", callback=True)
    reply = client.emit("step", callback=True)
    assert reply["ok"] and reply["status"] == "stopped"
    epoch = reply["epoch"]
    assert client.emit("step", callback=True)["epoch"] == epoch + 1
    assert only_session(hub).experiment.newest["epoch"] == epoch + 1  # the frame waiting for the client shows it


def test_reset_keeps_data_new_weights_epoch_zero(client, hub):
    session = only_session(hub).experiment.session
    data_before, weights_before = session.data.train_points.copy(), session.net.get_parameters()
    client.emit("step", callback=True)
    reply = client.emit("reset", callback=True)
    assert reply["ok"] and reply["epoch"] == 0
    assert (session.data.train_points == data_before).all()
    assert session.net.get_parameters() != weights_before


def test_regenerate_keeps_weights_and_epoch(client, hub):
    client.emit("step", callback=True)
    session = only_session(hub).experiment.session
    weights, seed = session.net.get_parameters(), session.config["seed"]
    client.get_received()
    reply = client.emit("regenerate", callback=True)
    assert reply["ok"] and reply["config"]["seed"] != seed
    assert session.net.get_parameters() == weights and session.epoch == 1
    assert events(client, "dataset")


def test_set_weight_and_bias(client, hub):
    reply = client.emit("set_weight", {"layer": 1, "node": 0, "source": 3, "value": 1.25}, callback=True)
    assert reply == {"ok": True, "layer": 1, "node": 0, "source": 3, "value": 1.25}
    client.emit("set_weight", {"layer": 2, "node": 0, "source": None, "value": -0.5}, callback=True)
    weights, biases = only_session(hub).experiment.session.net.get_parameters()
    assert weights[1][0][3] == 1.25 and biases[2][0] == -0.5


@pytest.mark.parametrize(
    "payload,field",
    [
        ({"layer": 3, "node": 0, "source": 0, "value": 1}, "layer"),
        ({"layer": 0, "node": 4, "source": 0, "value": 1}, "node"),
        ({"layer": 0, "node": 0, "source": 2, "value": 1}, "source"),
        ({"layer": 0, "node": 0, "source": 0, "value": float("nan")}, "value"),
        ({"layer": 0, "node": 0, "source": 0, "value": "1"}, "value"),
        ({"layer": 0, "node": 0, "source": 0}, "value"),
        ({"layer": 0, "node": 0, "source": 0, "value": 1, "extra": 1}, "extra"),
        ([0, 0, 0, 1], "payload"),
    ],
)
def test_set_weight_errors(client, hub, payload, field):
    before = only_session(hub).experiment.session.net.get_parameters()
    reply = client.emit("set_weight", payload, callback=True)
    assert reply["ok"] is False and reply["error"]["field"] == field
    assert only_session(hub).experiment.session.net.get_parameters() == before


def test_set_focus_shows_that_node(client, socketio, hub):
    reply = client.emit("set_focus", {"node": 0}, callback=True)
    assert reply == {"ok": True, "node": 0}
    assert only_session(hub).experiment.focus == 0
    frame = only_session(hub).experiment.newest or events(client, "map_update")[-1]
    assert frame["focus"] == 0
    # Node 0 is the x input: its map is constant down each column, left to right from orange to blue.
    heatmap = wire.decode(frame)["heatmap"]
    first_row = heatmap[:GRID_SIZE]
    assert first_row[0] >> 3 == 0 and first_row[-1] >> 3 == 30
    assert heatmap[GRID_SIZE * 50 : GRID_SIZE * 51] == first_row
    for bad in ({"node": 9}, {"node": -1}, {"node": True}, {"node": "1"}, {}):
        assert client.emit("set_focus", bad, callback=True)["ok"] is False
    assert client.emit("set_focus", {"node": None}, callback=True)["ok"]


def test_events_without_payload_reject_arguments(client):
    for event in ("start_training", "stop_training", "step", "reset", "regenerate"):
        reply = client.emit(event, {"unexpected": True}, callback=True)
        assert reply["ok"] is False and reply["error"]["field"] in ("payload", "unexpected")


def test_unknown_event_gets_an_error(client):
    client.emit("launch_rockets", {"now": True})
    (error,) = events(client, "error")
    assert error["event"] == "launch_rockets" and "not an event" in error["message"]


def test_training_session_cap(app, socketio, client):
    others = [socketio.test_client(app) for _ in range(2)]
    try:
        assert all(other.emit("start_training", callback=True)["ok"] for other in others)
        reply = client.emit("start_training", callback=True)
        assert reply["ok"] is False and reply["error"]["field"] == "session"
        assert "maximum of 2" in reply["error"]["message"]
        others[0].emit("stop_training", callback=True)
        assert client.emit("start_training", callback=True)["ok"]  # retry succeeds once a slot frees
        client.emit("stop_training", callback=True)
    finally:
        for other in others:
            other.disconnect()


def test_connection_cap(app, socketio, hub):
    clients = [socketio.test_client(app) for _ in range(4)]
    refused = socketio.test_client(app)
    try:
        assert len(hub.connections) == 4
        assert not refused.is_connected() or refused.sid not in hub.connections
    finally:
        for c in clients:
            c.disconnect()


def test_divergence_is_a_state_not_a_crash(client, socketio, hub):
    client.emit(
        "update_config",
        DIVERGING,
        callback=True,
    )
    client.get_received()
    for _ in range(20):
        reply = client.emit("step", callback=True)
        if reply["status"] == "diverged":
            break
    assert reply["status"] == "diverged"
    assert events(client, "state")[-1]["status"] == "diverged"
    session = only_session(hub).experiment.session
    epoch = session.epoch
    refused = client.emit("step", callback=True)  # an epoch of NaNs would change nothing
    assert not refused["ok"] and refused["error"]["field"] == "status" and session.epoch == epoch
    frame = only_session(hub).experiment.newest
    assert frame["trainLoss"] is None and frame["status"] == "diverged"
    assert all(w is None or math.isfinite(w) for layer in wire.decode(frame)["weights"] for row in layer for w in row)
    refused = client.emit("start_training", callback=True)
    assert refused["ok"] is False and refused["error"]["field"] == "status"
    assert client.emit("reset", callback=True)["ok"]
    assert only_session(hub).experiment.session.status == "stopped"


def test_disconnect_frees_the_session(app, socketio, hub):
    other = socketio.test_client(app)
    other.emit("start_training", callback=True)
    count = len(hub.connections)
    other.disconnect()
    assert len(hub.connections) == count - 1
    assert hub.training_count() == 0


def test_control_events_are_rate_limited_per_client(make_app):
    app = make_app(events_per_second=5, events_burst=10)
    socketio = app.extensions["socketio"]
    client, other = socketio.test_client(app), socketio.test_client(app)
    try:
        replies = [client.emit("update_config", {"learningRate": 0.1}, callback=True) for _ in range(10)]
        assert all(reply["ok"] for reply in replies)
        limited = client.emit("update_config", {"learningRate": 0.3}, callback=True)
        assert limited["ok"] is False and limited["error"]["field"] == "rate"
        assert "at most 5 events a second (bursts of 10)" in limited["error"]["message"]
        hub = app.extensions["playground_hub"]
        assert sorted(c.experiment.session.config["learningRate"] for c in hub.connections.values()) == [0.03, 0.1]
        assert other.emit("step", callback=True)["ok"]  # the limit is per client
        wait_until(
            lambda: client.emit("step", callback=True)["ok"], pause=socketio.sleep, message="the limit to refill"
        )
    finally:
        client.disconnect()
        other.disconnect()
