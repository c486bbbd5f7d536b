"""Short versions of the soak runs (the full ones are bench/soak.py): churn, the session cap under load, stalled
clients, a restart mid-training, and numeric edge cases. The real server, real clients, loopback only."""

import threading

import pytest
import socketio

from playground.session import DIVERGED, TrainingSession
from tests.test_server import Recorder, call, connect, in_order
from tests.waiting import wait_until

MB = 1024 * 1024


def churn_cycle(server) -> None:
    client = Recorder()
    client.connect(server.url, transports=["websocket"], wait_timeout=10)
    call(client, "start_training")
    wait_until(lambda: client.frames and client.frames[-1][1] > 0, message="a frame of a trained epoch")
    client.disconnect()  # without stopping


def test_churn_leaves_no_session_and_little_memory(start_server):
    server = start_server(max_training_sessions=4)
    for _ in range(10):  # warm up allocator pools before measuring
        churn_cycle(server)
    before = server.metrics()["rssBytes"]
    for _ in range(10):
        workers = [threading.Thread(target=churn_cycle, args=(server,)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
    wait_until(lambda: server.counts() == {"connections": 0, "training": 0}, message="no session left")
    assert server.metrics()["rssBytes"] - before < 20 * MB


def test_over_the_cap_clients_are_told_busy_at_once_and_the_rest_keep_going(start_server):
    server = start_server(max_training_sessions=3)
    clients = [connect(server) for _ in range(5)]
    try:
        replies = [call(client, "start_training") for client in clients]
        assert [reply["ok"] for reply in replies] == [True, True, True, False, False]
        assert all(reply["error"]["field"] == "session" for reply in replies[3:])
        counts = [len(client.frames) for client in clients[:3]]
        wait_until(
            lambda: all(len(client.frames) - count >= 10 for client, count in zip(clients[:3], counts, strict=True)),
            message="10 more frames for each training client",
        )
    finally:
        for client in clients:
            client.disconnect()


def test_stalled_clients_cost_no_memory_and_stop_training(start_server):
    # Short timeouts make the stall visible from outside: a stalled session's frame is sent again after each ack
    # timeout, always the same one, since nothing new is trained or rendered.
    server = start_server(max_training_sessions=8, ack_timeout=0.5, stall_seconds=0.3)
    silent = [connect(server, acknowledge=False) for _ in range(4)]
    normal = connect(server)

    def resent_unchanged(client: Recorder) -> bool:
        return len(client.frames) >= 3 and client.frames[-1] == client.frames[-2]

    try:
        for client in [*silent, normal]:
            call(client, "start_training")
        wait_until(lambda: all(map(resent_unchanged, silent)), message="the silent clients to stall")
        before = server.metrics()["rssBytes"]
        count, stalled = len(normal.frames), [(len(client.frames), client.frames[-1]) for client in silent]
        wait_until(
            lambda: (
                len(normal.frames) - count >= 20
                and all(len(client.frames) >= seen + 2 for client, (seen, _) in zip(silent, stalled, strict=True))
            ),
            message="20 frames for the acknowledging client and two resends to each silent one",
        )
        assert all(
            client.frames[seen - 1 :] == [frame] * (len(client.frames) - seen + 1)
            for client, (seen, frame) in zip(silent, stalled, strict=True)
        ), "a stalled session trained or rendered"
        assert server.metrics()["rssBytes"] - before < 5 * MB
    finally:
        for client in [*silent, normal]:
            client.disconnect()


def test_restart_mid_training_clients_reconnect_and_restore_their_config(restartable_server):
    config = {"activation": "relu", "networkShape": [3], "seed": "restart", "learningRate": 0.1}
    client = in_order(socketio.Client(reconnection=True, reconnection_delay=1, reconnection_delay_max=1))
    restored, frames = [], []

    def restore():  # what the page does: send its whole config on every connect
        def send():
            restored.append(call(client, "update_config", config))

        threading.Thread(target=send).start()

    client.on("connect", restore)

    client.on("map_update", lambda payload: frames.append(payload))
    client.connect(restartable_server.url, transports=["websocket"], wait_timeout=10)
    try:
        wait_until(lambda: restored and frames and frames[-1]["layerSizes"] == [2, 3, 1], message="the config restored")
        call(client, "start_training")
        wait_until(lambda: frames[-1]["epoch"] > 0, message="training")
        restartable_server.restart()
        wait_until(lambda: len(restored) == 2, timeout=30, message="the config restored after the restart")
        assert restored[1]["ok"] and restored[1]["config"]["activation"] == "relu"
        assert restored[1]["config"]["seed"] == "restart"
        assert call(client, "start_training")["ok"]
        wait_until(
            lambda: frames[-1]["layerSizes"] == [2, 3, 1] and frames[-1]["epoch"] > 0,
            message="training the restored config",
        )
    finally:
        client.disconnect()


@pytest.mark.parametrize(
    "changes",
    [
        {"learningRate": 10, "activation": "relu", "regularization": "L2", "regularizationRate": 10},
        {
            "learningRate": 10,
            "activation": "relu",
            "regularization": "L1",
            "regularizationRate": 10,
            "problem": "regression",
        },
        {"networkShape": []},
        {"networkShape": [1]},
        {"networkShape": [1], "x": False, "y": False},
    ],
)
def test_numeric_edge_cases_end_in_a_clear_state(changes):
    session = TrainingSession({"seed": "edge", **changes})
    session.train_for(2, max_epochs=200)
    assert session.status in ("stopped", DIVERGED)
    frame = session.frame()
    assert len(frame.heatmap) == 10000
    if session.status != DIVERGED:
        assert 255 not in frame.heatmap


@pytest.mark.parametrize("csv", ["1,1,1\n", "1,1,1\n2,2,1\n-1,-1,1\n3,3,1\n"])
def test_a_single_point_or_a_single_class_trains(csv):
    session = TrainingSession({"seed": "edge", "percTrainData": 90})
    session.load_csv(csv)
    for _ in range(50):
        assert session.step()
    assert session.train_loss < 0.1 and 255 not in session.frame().heatmap
