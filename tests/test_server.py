"""The real server (`python app.py`, eventlet) driven by real python-socketio clients over loopback."""

import itertools
import threading
import time

import pytest
import socketio
from socketio import exceptions as socketio_errors

from tests.live_server import LiveServer
from tests.waiting import wait_until


def in_order(client: socketio.Client) -> socketio.Client:
    """Make a python-socketio client handle messages one at a time, in order.

    Its Engine.IO client hands every message to a new thread, so a binary event's attachments can be decoded
    out of order under load ("invalid literal for int()", python-socketio #403); browsers do not do this.
    """
    trigger = client.eio._trigger_event

    def trigger_in_order(event, *args, **kwargs):
        if event == "message":
            kwargs["run_async"] = False
        return trigger(event, *args, **kwargs)

    client.eio._trigger_event = trigger_in_order
    return client


class Recorder(socketio.Client):
    """A client that keeps every map_update; `ack_delay` holds each acknowledgement back, and `acknowledge=False`
    never sends one (python-socketio acknowledges when the handler returns, so that is done below its handler)."""

    def __init__(self, ack_delay: float = 0.0, acknowledge: bool = True):
        super().__init__(reconnection=False)
        in_order(self)
        self.frames, self.errors, self.states = [], [], []
        self.ack_delay, self.acknowledge = ack_delay, acknowledge
        self.first_frame = threading.Event()
        self.on("map_update", self._frame)
        self.on("error", self.errors.append)
        self.on("state", self.states.append)

    def _frame(self, payload):
        self.frames.append((payload["seq"], payload["epoch"]))
        self.first_frame.set()
        if self.ack_delay:
            time.sleep(self.ack_delay)

    def _handle_event(self, namespace, id, data):
        if data and data[0] == "map_update" and not self.acknowledge:
            id = None
        super()._handle_event(namespace, id, data)


def call(client: socketio.Client, event: str, data=None) -> dict:
    """client.call(event, data) that insists on a reply, as every event of docs/protocol.md has one."""
    reply = client.call(event, data, timeout=10)
    assert isinstance(reply, dict), f"{event} answered {reply!r}"
    return reply


def connect(server, **options) -> Recorder:
    client = Recorder(**options)
    client.connect(server.url, transports=["websocket"], wait_timeout=10)
    assert client.first_frame.wait(10)
    return client


def test_acknowledging_client_gets_a_stream_of_new_frames(live_server):
    client = connect(live_server)
    try:
        assert call(client, "start_training")["ok"]
        wait_until(lambda: len(client.frames) >= 15, message="15 frames")
        call(client, "stop_training")
        seqs = [seq for seq, _ in client.frames]
        epochs = [epoch for _, epoch in client.frames]
        assert seqs == sorted(set(seqs))
        assert epochs[-1] > epochs[1] > 0
    finally:
        client.disconnect()


def test_slow_client_gets_the_newest_frame_not_a_backlog(live_server):
    client = connect(live_server, ack_delay=0.25)
    try:
        call(client, "start_training")
        wait_until(lambda: len(client.frames) >= 6, message="6 frames")
        call(client, "stop_training")
        seqs = [seq for seq, _ in client.frames[1:6]]
        gaps = [b - a for a, b in itertools.pairwise(seqs)]
        assert all(gap >= 1 for gap in gaps)
        # One frame in flight at a time (the next one test shows it); what was rendered meanwhile was replaced.
        assert max(gaps) > 1, "frames produced while one was in flight must be dropped, not queued"
    finally:
        client.disconnect()


def test_client_that_stops_acknowledging_gets_one_frame_and_others_go_on(live_server):
    silent = connect(live_server, acknowledge=False)
    normal = connect(live_server)
    try:
        call(silent, "start_training")
        call(normal, "start_training")
        wait_until(lambda: len(normal.frames) >= 10, message="10 frames for the acknowledging client")
        assert len(silent.frames) == 1
        wait_until(
            lambda: live_server.counts()["training"] == 1,
            message="the client that stopped reading to give up its training place",
        )
    finally:
        silent.disconnect()
        normal.disconnect()


def test_session_cap_answers_busy_and_a_retry_succeeds(start_server):
    server = start_server(max_training_sessions=2)
    clients = [connect(server) for _ in range(3)]
    try:
        assert call(clients[0], "start_training")["ok"]
        assert call(clients[1], "start_training")["ok"]
        busy = call(clients[2], "start_training")
        assert busy["ok"] is False and busy["error"]["field"] == "session"
        assert "maximum of 2" in busy["error"]["message"]
        wait_until(lambda: clients[2].errors, message="the busy error event")
        call(clients[0], "stop_training")
        assert call(clients[2], "start_training")["ok"]
    finally:
        for client in clients:
            client.disconnect()


def test_disconnect_stops_training_and_frees_the_session(live_server):
    client = connect(live_server)
    call(client, "start_training")
    wait_until(lambda: live_server.counts()["training"] == 1, message="one session training")
    client.disconnect()
    wait_until(lambda: live_server.counts() == {"connections": 0, "training": 0}, message="no session")


def test_page_and_security_headers(live_server):
    import requests

    response = requests.get(live_server.url + "/", timeout=5)
    assert response.ok and 'id="page-data"' in response.text
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert requests.get(live_server.url + "/vendor/socket.io.esm.min.js", timeout=5).ok


def test_cross_origin_socket_is_refused_by_default(live_server):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio_errors.ConnectionError):
        client.connect(
            live_server.url, transports=["websocket"], headers={"Origin": "http://evil.example"}, wait_timeout=5
        )


@pytest.fixture(scope="module")
def module_stalling_server():
    """One training place, and short timeouts that make a stall visible from outside (a stalled session's frame
    is sent again after each ack timeout, always the same one, since nothing new is trained or rendered)."""
    server = LiveServer(max_training_sessions=1, ack_timeout=0.5, stall_seconds=0.3)
    yield server
    server.stop()


@pytest.fixture
def stalling_server(module_stalling_server):
    """The module's stalling server, which each test leaves with no session: the one place is free for the next."""
    yield module_stalling_server
    wait_until(lambda: module_stalling_server.counts() == {"connections": 0, "training": 0}, message="no session")


def test_unacknowledged_frame_is_resent_but_training_stays_paused(stalling_server):
    silent = connect(stalling_server, acknowledge=False)
    try:
        call(silent, "start_training")
        wait_until(lambda: len(silent.frames) >= 4, message="the newest frame sent again after each ack timeout")
        seqs = [seq for seq, _ in silent.frames]
        assert len(set(seqs[1:])) == 1, "and nothing new was trained or rendered meanwhile"
        silent.acknowledge = True  # the tab wakes up: training resumes
        wait_until(lambda: silent.frames[-1][0] > seqs[-1] + 3, message="training to resume")
    finally:
        silent.disconnect()


def test_a_stalled_client_gives_up_its_training_place_and_waits_for_a_free_one(stalling_server):
    silent, latecomer = connect(stalling_server, acknowledge=False), connect(stalling_server)
    try:
        assert call(silent, "start_training")["ok"]
        wait_until(
            lambda: call(latecomer, "start_training")["ok"],
            message="the place of the client that stopped reading to go to the latecomer",
        )
        silent.acknowledge = True  # the silent tab reads again, but the only place is taken
        resent = len(silent.frames)
        wait_until(lambda: len(silent.frames) > resent, message="the frame sent again, and acknowledged")
        assert stalling_server.counts()["training"] == 1, "it waits: the cap holds"
        epoch = silent.frames[-1][1]
        call(latecomer, "stop_training")
        wait_until(
            lambda: silent.frames[-1][1] > epoch, message="the silent client to train again once a place is free"
        )
    finally:
        silent.disconnect()
        latecomer.disconnect()
