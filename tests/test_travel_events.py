"""Time travel and saved experiments over Socket.IO (the Flask-SocketIO test client): scrub, fork, replay to the bit
on the wire, save and open, drafts, bad ids and limits (the tests of the store on SQLite and on PostgreSQL)."""

import numpy as np
import pytest
import torch

from playground import saved, wire
from playground.web import messages, saving
from tests.services import on_both_back_ends
from tests.waiting import wait_until


def session_of(socketio, hub, client):
    return hub.connections[socketio.server.manager.sid_from_eio_sid(client.eio_sid, "/")].experiment.session


def steps(client, count: int) -> None:
    for _ in range(count):
        assert client.emit("step", callback=True)["ok"]


def curves(history: dict) -> dict:
    """{branch label: {epoch: (train, test)}} from a get_history reply."""
    found = {}
    for branch in history["branches"]:
        epochs, train, test = np.frombuffer(branch["losses"], dtype=np.float64).reshape(3, -1)
        found[branch["label"]] = {int(e): (a, b) for e, a, b in zip(epochs, train, test, strict=True)}
    return found


def test_scrub_draws_a_checkpoint_and_leaves_the_live_run_alone(client, socketio, hub):
    steps(client, 23)
    session = session_of(socketio, hub, client)
    live = session.checkpoint()
    reply = client.emit("scrub", {"epoch": 11}, callback=True)
    assert reply["ok"] and reply["epoch"] == 10 and reply["frame"]["epoch"] == 10
    at_ten = session.history.checkpoints()[10]
    count = session.net.flat.numel()
    parameters = np.frombuffer(reply["frame"]["packed"][: 4 * count], "<f4")  # packed starts with them
    np.testing.assert_array_equal(parameters, at_ten.state[:count].float().numpy())
    assert (
        wire.decode(reply["frame"])["heatmap"] != wire.decode(messages.frame(session, None))["heatmap"]
    )  # the map then
    assert reply["frame"]["trainLoss"] == at_ten.evaluation.train_loss
    assert session.epoch == 23 and torch.equal(session.checkpoint().state, live.state)
    bad = client.emit("scrub", {"epoch": -3}, callback=True)
    assert not bad["ok"] and bad["error"]["field"] == "epoch"


def test_a_replay_from_a_checkpoint_gives_the_same_losses_to_the_bit_on_the_wire(client):
    steps(client, 30)
    reply = client.emit("fork", {"epoch": 10, "changes": {}}, callback=True)
    assert reply["ok"] and reply["epoch"] == 10 and reply["branch"]["label"] == "replay at epoch 10"
    steps(client, 20)
    history = client.emit("get_history", callback=True)
    found = curves(history)
    first, replay = found[""], found["replay at epoch 10"]
    assert sorted(replay) == sorted(first) == list(range(31))  # the current branch: its whole line
    assert replay == first  # float64 on the wire: equal to the bit
    assert history["current"] == reply["branch"]["id"]


def test_a_fork_with_a_change_gives_two_labelled_curves(client):
    steps(client, 25)
    reply = client.emit(
        "fork", {"epoch": 20, "changes": {"regularization": "L2", "regularizationRate": 0.03}}, callback=True
    )
    assert reply["ok"] and reply["config"]["regularization"] == "L2" and "regularization=L2" in reply["hash"]
    steps(client, 5)
    history = client.emit("get_history", callback=True)
    found = curves(history)
    assert set(found) == {"", "L2 0.03 at epoch 20"}
    assert sorted(found["L2 0.03 at epoch 20"]) == sorted(found[""]) == list(range(26))
    assert found["L2 0.03 at epoch 20"][21] != found[""][21]
    assert list(np.frombuffer(history["checkpoints"], dtype=np.float64)) == [0, 10, 20]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"epoch": 7, "changes": {}}, "epoch"),
        ({"epoch": 10, "changes": {"batchSize": 3}}, "batchSize"),
        ({"epoch": 10, "changes": {"learningRate": 99}}, "learningRate"),
        ({"epoch": 10}, "changes"),
    ],
)
def test_a_bad_fork_is_refused_and_changes_nothing(client, socketio, hub, payload, field):
    steps(client, 12)
    session = session_of(socketio, hub, client)
    before = session.checkpoint()
    reply = client.emit("fork", payload, callback=True)
    assert not reply["ok"] and reply["error"]["field"] == field
    assert torch.equal(session.checkpoint().state, before.state) and session.epoch == 12
    assert len(session.history.branches) == 1


@on_both_back_ends
def test_a_saved_experiment_opens_exactly_and_trains_on_as_the_saved_one(app, client, socketio, hub):
    assert client.emit("update_config", {"optimizer": "adam", "batchSize": 7}, callback=True)["ok"]
    assert client.emit("add_point", {"x": 2, "y": 2, "label": 1, "set": "train"}, callback=True)["ok"]
    steps(client, 12)
    saved = client.emit("save_experiment", {"title": "adam", "note": "own point"}, callback=True)
    assert saved["ok"] and saved["url"] == f"/e/{saved['id']}" and saving.ID_PATTERN.fullmatch(saved["id"])
    assert saved["bytes"] < 40_000
    other = socketio.test_client(app)
    try:
        opened = other.emit("open_experiment", {"id": saved["id"]}, callback=True)
        assert opened["ok"] and (opened["title"], opened["note"], opened["epoch"]) == ("adam", "own point", 12)
        mine, theirs = session_of(socketio, hub, client), session_of(socketio, hub, other)
        assert len(theirs.data.train_labels) == len(mine.data.train_labels) == 251
        steps(client, 6)
        steps(other, 6)
        assert (theirs.train_loss, theirs.test_loss) == (mine.train_loss, mine.test_loss)
        assert torch.equal(theirs.net.flat, mine.net.flat)
        assert curves(other.emit("get_history", callback=True)) == curves(client.emit("get_history", callback=True))
    finally:
        other.disconnect()


@on_both_back_ends
@pytest.mark.parametrize("bad_id", ["nope", 42, None, "A" * 16, "../../etc/passwd", "a" * 2000])
def test_a_bad_or_unknown_id_is_a_clear_error_and_a_404_page(app, client, bad_id):
    reply = client.emit("open_experiment", {"id": bad_id}, callback=True)
    assert not reply["ok"] and reply["error"]["field"] == "id" and "no saved experiment" in reply["error"]["message"]
    if isinstance(bad_id, str) and "/" not in bad_id:
        page = app.test_client().get(f"/e/{bad_id}")
        assert page.status_code == 404 and b"No saved experiment has this link" in page.data
        assert b"Traceback" not in page.data


@on_both_back_ends
def test_a_damaged_saved_experiment_is_refused_by_name(client, hub):
    hub.store.put(saving.EXPERIMENT, "D" * 16, b"damaged bytes")
    reply = client.emit("open_experiment", {"id": "D" * 16}, callback=True)
    assert not reply["ok"] and reply["error"]["field"] == "id" and "cannot open" in reply["error"]["message"]


def test_the_title_and_note_have_limits(client):
    reply = client.emit("save_experiment", {"title": "t" * 121, "note": ""}, callback=True)
    assert not reply["ok"] and reply["error"]["field"] == "title"
    reply = client.emit("save_experiment", {"title": "", "note": 5}, callback=True)
    assert not reply["ok"] and reply["error"]["field"] == "note"


@on_both_back_ends
@pytest.mark.parametrize(
    ("settings", "saves_before_refusal"),
    [({"max_experiment_bytes": 2_000}, 0), ({"saves_burst": 2.0, "saves_per_hour": 1.0}, 2)],
)
def test_saves_have_a_size_limit_and_a_limit_per_client(make_app, new_database, settings, saves_before_refusal):
    app = make_app(**settings, database_url=new_database())
    client = app.extensions["socketio"].test_client(app)
    for _ in range(saves_before_refusal):
        assert client.emit("save_experiment", {"title": "", "note": ""}, callback=True)["ok"]
    reply = client.emit("save_experiment", {"title": "", "note": ""}, callback=True)
    assert not reply["ok"] and reply["error"]["field"] == "save"
    assert "2,000 a saved experiment may" in reply["error"]["message"] or "saves an hour" in reply["error"]["message"]
    client.disconnect()


@on_both_back_ends
def test_a_draft_brings_own_data_and_the_trained_run_back_after_a_reload(app, socketio, hub, wait):
    first = socketio.test_client(app)
    reply = first.emit("resume", {"draft": None}, callback=True)
    assert reply["ok"] and not reply["restored"] and saving.ID_PATTERN.fullmatch(reply["draft"])
    draft = reply["draft"]
    assert first.emit("add_point", {"x": -1, "y": 1, "label": -1, "set": "test"}, callback=True)["ok"]
    steps(first, 7)
    trained = session_of(socketio, hub, first).checkpoint()
    first.disconnect()  # a reload closes the page's connection
    wait(lambda: hub.store.get(saving.DRAFT, draft) is not None, message="the draft written")
    second = socketio.test_client(app)
    try:
        reply = second.emit("resume", {"draft": draft}, callback=True)
        assert reply["ok"] and reply["restored"] and reply["draft"] == draft
        session = session_of(socketio, hub, second)
        assert session.epoch == 7 and len(session.data.test_labels) == 251
        restored = session.checkpoint()  # the summed gradient of no carried sample is not kept: nothing reads it
        assert torch.equal(session.net.flat, trained.state[: session.net.flat.numel()])
        assert (restored.carried, restored.steps) == (trained.carried, trained.steps)
        unknown = second.emit("resume", {"draft": "Z" * 16}, callback=True)
        assert unknown["ok"] and not unknown["restored"] and unknown["draft"] != "Z" * 16
    finally:
        second.disconnect()


@on_both_back_ends
def test_a_training_runs_draft_is_written_again_as_it_trains_without_any_event(make_app, new_database):
    app = make_app(draft_training_seconds=0.3, stall_seconds=1000.0, database_url=new_database())
    socketio, hub = app.extensions["socketio"], app.extensions["playground_hub"]
    client = socketio.test_client(app)
    try:
        draft = client.emit("resume", {"draft": None}, callback=True)["draft"]
        assert client.emit("start_training", callback=True)["ok"]

        def drafted_epoch() -> int | None:
            blob = hub.store.get(saving.DRAFT, draft)
            return None if blob is None else saved.unpack(blob)[0].epoch

        wait_until(lambda: drafted_epoch() is not None, pause=socketio.sleep, message="the draft of start_training")
        first = drafted_epoch()
        assert first is not None
        wait_until(lambda: (drafted_epoch() or 0) > first, pause=socketio.sleep, message="a later epoch in the draft")
    finally:
        client.disconnect()
