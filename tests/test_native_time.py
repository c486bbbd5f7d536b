"""Each client's events may use a share of the one native thread (Hub.trip charges what they take): a client that
spent its share waits for it to refill, and is refused with `busy` when the wait would be long; the others, with
their own shares, go on as before."""

import time

import pytest

from playground.web import concurrency
from playground.web.hub import _run_jobs, turn_seconds
from tests.waiting import wait_until

HEAVY = {"networkShape": [8, 8, 8, 8, 8, 8], "xSquared": True, "ySquared": True, "sinX": True}


def send(client, event, payload=None):
    reply = client.emit(event, payload, callback=True) if payload is not None else client.emit(event, callback=True)
    client.get_received()
    return reply


@pytest.fixture
def starved_app(make_app):
    # No time saved up and a share so small that one heavy event's debt takes hours to repay.
    return make_app(event_native_share=1e-6, event_native_burst=0.0)


def test_a_client_that_spent_its_share_is_refused_busy_and_changes_nothing(starved_app):
    socketio = starved_app.extensions["socketio"]
    greedy, other = socketio.test_client(starved_app), socketio.test_client(starved_app)
    hub = starved_app.extensions["playground_hub"]
    assert send(greedy, "update_config", HEAVY)["ok"]  # the first trip may go: nothing is owed yet
    reply = send(greedy, "update_config", {"learningRate": 0.1})
    assert not reply["ok"] and reply["error"]["field"] == "busy"
    assert "used the server's time" in reply["error"]["message"]
    greedy_session = next(iter(hub.connections.values())).experiment.session  # the first to connect
    assert greedy_session.config["learningRate"] == 0.03  # the refused event changed nothing
    assert send(other, "update_config", {"learningRate": 0.1})["ok"]  # the others have their own share
    greedy.disconnect()
    other.disconnect()


def test_a_client_in_debt_waits_for_its_share_and_its_event_then_runs(make_app):
    app = make_app(event_native_share=0.05, event_native_burst=0.0)  # a debt of ms is repaid in a fraction of a second
    socketio = app.extensions["socketio"]
    client = socketio.test_client(app)
    hub = app.extensions["playground_hub"]
    (connection,) = hub.connections.values()
    assert send(client, "update_config", HEAVY)["ok"]
    assert connection.native_time.tokens < 0  # the rebuild's time was charged
    assert send(client, "update_config", {"learningRate": 0.1})["ok"]  # it waited, then ran
    assert connection.experiment.session.config["learningRate"] == 0.1
    client.disconnect()


def test_a_failed_event_is_charged_too(make_app):
    app = make_app(event_native_share=1e-6, event_native_burst=0.0)
    socketio = app.extensions["socketio"]
    client = socketio.test_client(app)
    (connection,) = app.extensions["playground_hub"].connections.values()
    bad_csv = "x,y,label\n" + "1,2,3\n" * 4000  # parsed in the native thread, then refused (label 3)
    reply = send(client, "upload_data", {"csv": bad_csv})
    assert not reply["ok"] and reply["error"]["field"] == "csv"
    assert connection.native_time.tokens < 0
    assert send(client, "step")["error"]["field"] == "busy"
    client.disconnect()


def test_all_clients_events_share_one_allowance_and_wait_for_it_whatever_their_own(make_app, monkeypatch):
    # Each client has its own share, but all together have spent theirs: the second client, whose own allowance
    # is full, waits for the others' debt to be repaid (a tenth of a second here), then its event runs. It is not
    # refused: the others' use of the thread is no fault of its own.
    app = make_app(all_events_native_share=0.1, all_events_native_burst=0.0)
    socketio = app.extensions["socketio"]
    greedy, other = socketio.test_client(app), socketio.test_client(app)
    hub = app.extensions["playground_hub"]
    assert hub.events_native_time.tokens == 0.0  # connections have an allowance of their own
    assert send(greedy, "update_config", HEAVY)["ok"]  # nothing was owed yet
    assert hub.events_native_time.tokens < 0
    allowance_when_run = []
    run_native = concurrency.run_native

    def spying(function, *args):
        allowance_when_run.append(hub.events_native_time.refill(time.monotonic()))
        return run_native(function, *args)

    monkeypatch.setattr(concurrency, "run_native", spying)
    assert send(other, "update_config", {"learningRate": 0.1})["ok"]
    assert allowance_when_run[0] >= 0  # it ran once the debt was repaid
    connection = list(hub.connections.values())[1]
    assert connection.experiment.session.config["learningRate"] == 0.1
    greedy.disconnect()
    other.disconnect()


def test_a_new_connection_waits_for_the_connections_allowance_and_is_never_refused(make_app):
    # A share that repays a first session's debt in a fraction of a second: the second connection waits for it.
    app = make_app(all_events_native_share=0.1, all_events_native_burst=0.0)
    socketio = app.extensions["socketio"]
    hub = app.extensions["playground_hub"]
    first = socketio.test_client(app)
    assert hub.connects_native_time.tokens < 0
    second = socketio.test_client(app)
    assert second.is_connected() and len(hub.connections) == 2
    assert hub.connects_native_time.tokens < 0  # charged again, after it waited for the debt to be repaid
    assert hub.events_native_time.tokens == 0.0  # and the events' allowance untouched
    first.disconnect()
    second.disconnect()


def test_an_event_waiting_for_its_turn_is_dropped_when_its_connection_closes(make_app):
    app = make_app(event_native_share=0.01, event_native_burst=0.0)  # a heavy event's debt takes a second or so
    socketio = app.extensions["socketio"]
    client = socketio.test_client(app)
    hub = app.extensions["playground_hub"]
    ((sid, connection),) = hub.connections.items()
    assert send(client, "update_config", HEAVY)["ok"]
    assert connection.native_time.tokens < 0
    replies = []
    concurrency.spawn(lambda: replies.append(send(client, "update_config", {"learningRate": 0.1})))
    concurrency.sleep(0)  # it now waits for its allowance
    session = connection.experiment.session
    hub.disconnect(sid)  # what the server does when the socket closes
    wait_until(lambda: replies, timeout=10, pause=socketio.sleep)
    assert not replies[0]["ok"] and replies[0]["error"]["field"] == "connection"
    assert session.config["learningRate"] == 0.03  # nothing ran for it


def test_a_teachers_action_on_the_class_is_not_charged_to_the_learners_events(make_app):
    app = make_app(all_events_native_share=0.1, all_events_native_burst=0.0)
    socketio = app.extensions["socketio"]
    learner = socketio.test_client(app)
    hub = app.extensions["playground_hub"]
    (connection,) = hub.connections.values()
    hub.trip_all([(connection.experiment, lambda session: session.update_config(HEAVY))], payer=None)
    assert list(connection.experiment.session.config["networkShape"]) == HEAVY["networkShape"]
    assert hub.events_native_time.tokens == 0.0
    learner.disconnect()


def test_events_work_runs_in_slices_in_order_and_hands_back_each_outcome():
    ran = []

    def job(name, seconds=0.0, fails=False):
        def work():
            ran.append(name)
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:  # native time, measured by the thread's clock
                pass
            if fails:
                raise ValueError(name)
            return name

        return work

    jobs = [job("a", 0.02), job("b", fails=True), job("c")]
    outcomes = _run_jobs(jobs, slice_seconds=0.01)  # the first alone is longer than the slice
    assert ran == ["a"] and outcomes[0][:2] == ("a", None) and outcomes[0][2] > 0
    outcomes = _run_jobs(jobs[1:], slice_seconds=10.0)
    assert ran == ["a", "b", "c"]
    assert isinstance(outcomes[0][1], ValueError) and outcomes[1][:2] == ("c", None)


def test_events_work_does_not_stretch_the_training_of_a_round(make_app):
    """A round's training is a share of the time its experiments' own frames took, not of events' work: with the
    share of a round that twenty scripts' events had taken, one learner alone fell from 30 to 14 frames/s."""
    hub = make_app().extensions["playground_hub"]
    alone, least = hub._training_seconds(other=0.040, own=0.040)  # 40 ms of the class's own frames
    assert alone == pytest.approx(0.040 * 0.45 / 0.55) and least == alone
    with_events, least = hub._training_seconds(other=0.040, own=0.010)  # of which 30 ms were events'
    assert with_events == pytest.approx(0.010 * 0.45 / 0.55) and least == with_events


def test_a_turn_ends_when_a_frame_falls_due_but_keeps_its_least():
    assert turn_seconds(0.030, 0.003, [100.020, 100.050], now=100.0) == pytest.approx(0.020)  # drawn on time
    assert turn_seconds(0.030, 0.025, [100.020], now=100.0) == 0.025  # no shorter than its share
    assert turn_seconds(0.030, 0.003, [99.990], now=100.0) == 0.030  # late already: drawn at the end anyway
    assert turn_seconds(0.030, 0.003, [100.040], now=100.0) == 0.030  # due after the turn
    assert turn_seconds(0.030, 0.003, [], now=100.0) == 0.030
