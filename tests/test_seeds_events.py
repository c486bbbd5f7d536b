"""Many-seed runs over Socket.IO (the Flask-SocketIO test client, which never acknowledges: tests acknowledge by
hand): start, bad K, the updates and their small maps, stop, adopt, the training places they hold."""

import time

import pytest
import torch

from playground import wire
from playground.seeds import SeedRun
from playground.session import TrainingSession

SEED = "0.4242"


@pytest.fixture(scope="module")
def app_settings():
    return {"max_training_sessions": 6}


def updates(client) -> list[dict]:
    return [message["args"][0] for message in client.get_received() if message["name"] == "seed_update"]


def runner_of(hub, client):
    sid = hub.socketio.server.manager.sid_from_eio_sid(client.eio_sid, "/")
    return hub.seeds.runners[hub.connections[sid].experiment.id]


def next_update(client, hub, wait) -> dict:
    """Acknowledge the update in flight (as the page does once drawn) and wait for the next one."""
    hub.seeds._acknowledged(runner_of(hub, client))
    return wait(lambda: updates(client), message="the next seed_update")[-1]


@pytest.fixture
def seeded(client, hub, wait):
    """A client whose seed run of 3 on a known seed has started; returns (client, reply, first update)."""
    assert client.emit("update_config", {"seed": SEED}, callback=True)["ok"]
    reply = client.emit("run_seeds", {"seedRuns": 3}, callback=True)
    assert reply["ok"], reply
    first = wait(lambda: updates(client), message="the first seed_update")[0]
    yield client, reply, first
    client.emit("close_seeds", callback=True)


def test_run_seeds_starts_k_runs_and_the_link_keeps_k(seeded):
    _, reply, first = seeded
    assert reply["seedStatus"] == "running" and len(reply["seeds"]) == 3
    assert reply["config"]["seedRuns"] == 3 and "seedRuns=3" in reply["hash"]
    assert first["epochs"] == [0, 0, 0] and first["status"] == "running" and first["seq"] == 1
    assert len(first["testLosses"]) == 3 and first["rule"] is None and first["reached"] == 0


@pytest.mark.parametrize(
    "payload,field,words",
    [
        ({"seedRuns": 51}, "seedRuns", "a whole number from 2 to 50"),
        ({"seedRuns": 1}, "seedRuns", "a whole number from 2 to 50"),
        ({"seedRuns": "20"}, "seedRuns", "a whole number from 2 to 50"),
        ({"seedData": "fresh"}, "seedData", "one of 'same', 'redrawn'"),
        ({"count": 5}, "count", "is not a field of this event"),
        ([5], "payload", "must be empty or an object"),
    ],
)
def test_a_bad_k_is_named_with_its_range_and_changes_nothing(client, hub, payload, field, words):
    reply = client.emit("run_seeds", payload, callback=True)
    assert reply["ok"] is False and reply["error"]["field"] == field and words in reply["error"]["message"]
    assert not hub.seeds.runners


def test_updates_train_on_and_carry_every_members_small_map(seeded, hub, wait):
    client, _, first = seeded
    later = first
    while max(later["epochs"]) < 5:
        later = next_update(client, hub, wait)
    assert later["seq"] > first["seq"] and len(set(later["epochs"])) == 1
    # The maps: each member's output map in 4×4 blocks, as its own frame shows it.
    runner = runner_of(hub, client)
    client.emit("stop_seeds", callback=True)
    final = next_update(client, hub, wait)  # the update that shows where it stopped
    assert final["status"] == "stopped" and final["epochs"] == [m.epoch for m in runner.run.members]
    maps = wire.decode_small_maps(final["maps"])
    assert len(maps) == 3
    for small, member in zip(maps, runner.run.members, strict=True):
        codes = wire.small_maps([member.frame().heatmap])[0]
        assert small == wire.SYMBOL_CODES[wire.SYMBOL_OF_CODE[codes]].tobytes()  # each symbol's middle code
    assert len(set(maps)) == 3  # three runs, three pictures


def test_updates_wait_for_their_acknowledgement(seeded, hub, wait):
    client, _, first = seeded
    runner = runner_of(hub, client)
    wait(lambda: runner.waiting is not None, message="a newer update held behind the unacknowledged one")
    assert updates(client) == []  # none sent while the first is unacknowledged
    assert next_update(client, hub, wait)["seq"] == first["seq"] + 1


def test_a_seed_run_holds_k_training_places(seeded, app, socketio, hub):
    others = [socketio.test_client(app) for _ in range(3)]
    try:
        assert [other.emit("start_training", callback=True)["ok"] for other in others] == [True, True, True]
        reply = others[0].emit("run_seeds", {"seedRuns": 4}, callback=True)
        assert reply["ok"] is False and reply["error"]["field"] == "session"
        assert "4 runs need 4 training places" in reply["error"]["message"]
        assert runner_of(hub, seeded[0]).run.status == "running"  # nothing changed: the other run trains on
        refused = hub.connections[hub.socketio.server.manager.sid_from_eio_sid(others[0].eio_sid, "/")].experiment
        assert refused.session.config["seedRuns"] == 20 and refused.session.status == "running"
        seeded[0].emit("stop_seeds", callback=True)  # the 3 places come back
        assert others[0].emit("run_seeds", {"seedRuns": 4}, callback=True)["ok"]
    finally:
        for other in others:
            other.disconnect()
    assert not hub.lab.reserved  # stopped, then disconnected: every place is back


def test_stop_and_adopt_a_member_with_its_exact_state(seeded, hub, wait):
    client, _, first = seeded
    later = first
    while max(later["epochs"]) < 3:
        later = next_update(client, hub, wait)
    assert client.emit("stop_seeds", callback=True) == {"ok": True, "seedStatus": "stopped"}
    runner = runner_of(hub, client)
    member = runner.run.members[2]
    state = {name: tensor.clone() for name, tensor in member.trainer.optimizer_state.items()}
    expected = (member.epoch, member.net.flat.clone(), state)
    adopted = client.emit("adopt_seed", {"member": 2}, callback=True)
    assert adopted["ok"] and adopted["epoch"] == expected[0]
    session = runner.experiment.session
    assert session.epoch == expected[0] and torch.equal(session.net.flat, expected[1])
    for name, state in session.trainer.optimizer_state.items():
        assert torch.equal(state, expected[2][name])
    assert runner.experiment.id not in hub.seeds.runners and runner.experiment.id not in hub.lab.reserved
    # Going on from it trains exactly as that member of the same seed run does alone.
    assert client.emit("start_training", callback=True)["ok"]
    wait(lambda: session.epoch >= expected[0] + 4, message="the adopted run training on")
    client.emit("stop_training", callback=True)
    replay = TrainingSession({**runner.run.config})
    replay.take_over(SeedRun(replay, 3, "same").take(2))
    replay.start()
    replay.train_for(60.0, max_epochs=session.epoch)
    assert replay.epoch == session.epoch
    assert torch.allclose(replay.net.flat, session.net.flat, rtol=0, atol=1e-12)


def test_adopt_needs_a_run_and_a_member_in_range(seeded, client):
    for bad in (3, -1, 1.5, True, "1", None):
        reply = seeded[0].emit("adopt_seed", {"member": bad}, callback=True)
        assert reply["ok"] is False and reply["error"]["field"] == "member", bad
        assert "a whole number from 0 to 2" in reply["error"]["message"]
    seeded[0].emit("close_seeds", callback=True)
    reply = seeded[0].emit("adopt_seed", {"member": 0}, callback=True)
    assert reply["ok"] is False and reply["error"]["field"] == "seeds"


def test_disconnect_ends_the_run_and_frees_its_places(app, socketio, hub, wait):
    other = socketio.test_client(app)
    assert other.emit("run_seeds", {"seedRuns": 2}, callback=True)["ok"]
    assert len(hub.seeds.runners) == 1
    other.disconnect()
    assert not hub.seeds.runners and not hub.lab.reserved


def test_a_run_nobody_reads_pauses(seeded, hub, wait, other_session_trains):
    client, _, _ = seeded
    runner = runner_of(hub, client)
    stall = hub.settings.stall_seconds
    wait(lambda: time.monotonic() - runner.sent_at > stall, message="the first update unacknowledged for a while")
    other_session_trains(1)  # a turn that was under way when it stalled ends
    paused_at = [member.epoch for member in runner.run.members]
    other_session_trains(3)
    assert [member.epoch for member in runner.run.members] == paused_at and runner.run.status == "running"
    next_update(client, hub, wait)  # read again: it trains again
    wait(lambda: runner.run.members[0].epoch > paused_at[0], message="training again after the acknowledgement")


def test_a_paced_run_trains_at_the_speed_control(client, hub, wait):
    assert client.emit("update_config", {"epochsPerSecond": 5}, callback=True)["ok"]
    started = time.monotonic()
    assert client.emit("run_seeds", {"seedRuns": 2}, callback=True)["ok"]
    try:
        latest = wait(lambda: updates(client), message="the first seed_update")[-1]
        while max(latest["epochs"]) < 3:
            latest = next_update(client, hub, wait)
        # The bucket: one epoch at once, then 5 a second with a burst of one.
        assert max(latest["epochs"]) <= 2 + 5 * (time.monotonic() - started)
    finally:
        client.emit("close_seeds", callback=True)


def test_the_pages_sequence_with_the_speed_control_on_trains_the_adopted_run_on(client, socketio, hub, wait):
    """What the page sends (static/js: main.js, session.js, seeds.js), in its order, acknowledging every frame and
    update once drawn: the speed control on, Run with K seeds, a click on a run that reached the stop rule, Play.
    The adopted run trains on past its epoch at the pace, and its frames come."""
    connection = hub.connections[socketio.server.manager.sid_from_eio_sid(client.eio_sid, "/")]
    experiment = connection.experiment

    def frames() -> list[dict]:
        """The frames received since the last call, each acknowledged as the page does once it has drawn it."""
        received = [message["args"][0] for message in client.get_received() if message["name"] == "map_update"]
        hub._acknowledged(connection, experiment)
        return received

    assert client.emit("resume", {"draft": None}, callback=True)["ok"]
    link = f"#dataset=circle&seed={SEED}&networkShape=4,2&stopBelowTestLoss=0.1"
    assert client.emit("open_link", {"hash": link}, callback=True)["ok"]
    assert client.emit("update_config", {"epochsPerSecond": 30}, callback=True)["ok"]
    assert client.emit("update_config", {"seedRuns": 3}, callback=True)["ok"]
    assert client.emit("run_seeds", {"seedRuns": 3, "seedData": "same"}, callback=True)["ok"]
    latest = wait(lambda: updates(client), message="the first seed_update")[-1]
    while "stopped" not in latest["statuses"]:
        latest = next_update(client, hub, wait)
    member = latest["statuses"].index("stopped")
    adopted = client.emit("adopt_seed", {"member": member}, callback=True)
    assert adopted["ok"] and adopted["epoch"] == latest["epochs"][member]
    frames()
    assert client.emit("start_training", callback=True) == {"ok": True, "status": "running"}
    seen: list[dict] = []
    wait(
        lambda: seen.extend(frames()) or experiment.session.epoch > adopted["epoch"] + 10,
        message="the adopted run training on at the pace",
    )
    assert experiment.session.status == "running" and experiment.session.config["epochsPerSecond"] == 30
    assert len({frame["epoch"] for frame in seen}) > 5  # frame by frame, not one jump
