"""Cluster mode with its real parts: a redis-server on a free port, app processes (`python app.py`) that join its
message queue, HAProxy in front with deploy/haproxy.cfg, real python-socketio clients (tests/services.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import pytest
import redis
import socketio

from playground.web.bus import RedisBus
from playground.web.settings import Settings
from tests.live_server import ROOT, LiveServer, free_port
from tests.services import HAProxy, RedisServer, cluster_settings
from tests.test_server import call, in_order
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer()
    yield server
    server.stop()


FRONT_PORT = free_port()  # HAProxy's, known before the app processes start: the page's origin is the front's


def cluster_pair(redis_server: RedisServer, **settings) -> list[LiveServer]:
    """Two app processes on the queue, started together."""
    return LiveServer.several(2, **cluster_settings(redis_server.url, FRONT_PORT), **settings)


@pytest.fixture(scope="module")
def pair(redis_server):
    """Two app processes on one message queue and one store (a SQLite file both open, as `make cluster` does)."""
    store = ROOT / "test-results" / f"store-shared-{free_port()}.sqlite3"
    servers = cluster_pair(redis_server, database_url=store)
    yield servers
    for server in servers:
        server.stop()


class Learner(socketio.Client):
    """A client that keeps what the server sends and, like the page, sends its config again on every connect."""

    def __init__(self, config: dict | None = None):
        super().__init__(reconnection=True, reconnection_delay=1, reconnection_delay_max=1)
        in_order(self)
        self.config = config
        self.frames: list[dict] = []
        self.services: list[dict] = []
        self.notes: list[dict] = []
        self.restored: list[dict] = []
        self.on("map_update", self.frames.append)
        self.on("service", self.services.append)
        self.on("note", self.notes.append)
        self.on("connect", self._restore)

    def _restore(self):
        if self.config is not None:  # outside the client's reading thread, which the reply needs
            threading.Thread(target=lambda: self.restored.append(call(self, "update_config", self.config))).start()

    def server_cookie(self) -> str | None:
        """Which app process HAProxy sends this client to (its stickiness cookie)."""
        return self.eio.http.cookies.get("SERVERID") if self.eio.http else None


def connected(url: str, transports: list[str] | None = None, **options) -> Learner:
    learner = Learner(**options)
    learner.connect(url, transports=transports or ["websocket"], wait_timeout=10)
    wait_until(lambda: learner.frames, message="the first frame")
    return learner


def test_the_queue_url_gets_a_health_check_unless_it_has_one():
    settings = Settings.from_env(environ={}, message_queue_url="rediss://:pw@host:6380/0?ssl_cert_reqs=none")
    assert settings.message_queue() == (
        "rediss://:pw@host:6380/0?ssl_cert_reqs=none&health_check_interval=30&socket_connect_timeout=5"
    )
    own = Settings.from_env(environ={}, message_queue_url="redis://h/0?health_check_interval=5")
    assert own.message_queue() == "redis://h/0?health_check_interval=5&socket_connect_timeout=5"
    assert Settings.from_env(environ={}).message_queue() == ""
    heroku = {"MESSAGE_QUEUE_URL": "rediss://:pw@ec2.example:6380", "MESSAGE_QUEUE_OPTIONS": "ssl_cert_reqs=none"}
    assert Settings.from_env(environ=heroku).message_queue() == (
        "rediss://:pw@ec2.example:6380?ssl_cert_reqs=none&health_check_interval=30&socket_connect_timeout=5"
    )


def test_an_emit_to_a_room_on_the_queue_reaches_the_clients_of_both_processes(pair, redis_server):
    learners = [connected(server.url) for server in pair]
    emitter = socketio.RedisManager(redis_server.url, channel="flask-socketio", write_only=True)
    try:
        emitter.emit("note", {"to": "everyone"}, namespace="/")
        wait_until(lambda: all(learner.notes == [{"to": "everyone"}] for learner in learners), message="both notes")
        emitter.emit("note", {"to": "second"}, namespace="/", room=learners[1].get_sid())
        wait_until(lambda: learners[1].notes[-1:] == [{"to": "second"}], message="the note to one sid")
        assert learners[0].notes == [{"to": "everyone"}]
    finally:
        for learner in learners:
            learner.disconnect()


def test_a_learners_own_frames_and_events_never_enter_the_queue(pair, redis_server):
    """Every emit through the queue is a PUBLISH on Redis: a training learner's frames, step results, state and
    replies make none (before, each of them did, and the other process decoded each one)."""

    def publishes() -> int:
        stats = redis_server.info("commandstats").get("cmdstat_publish", "calls=0")
        return int(stats.split(",")[0].removeprefix("calls="))

    learner = connected(pair[0].url)
    try:
        before, frames_before = publishes(), len(learner.frames)
        assert call(learner, "update_config", {"activation": "relu"})["ok"]
        assert call(learner, "start_training")["ok"]
        wait_until(lambda: len(learner.frames) > frames_before + 30, message="30 frames")
        assert call(learner, "stop_training")["ok"]
        assert publishes() == before
    finally:
        learner.disconnect()


def read_lines(process: subprocess.Popen, into: list[dict]) -> None:
    def read():
        for line in process.stdout:  # pyright: ignore[reportOptionalIterable]
            into.append(json.loads(line))

    threading.Thread(target=read, daemon=True).start()


def bus_peer(redis_server: RedisServer, *arguments: str) -> tuple[subprocess.Popen, list[dict]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.bus_peer", redis_server.url, *arguments],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines: list[dict] = []
    read_lines(process, lines)
    return process, lines


@dataclass
class BusPeers:
    """A listener and a publisher of one topic (tests/bus_peer.py), and what each printed."""

    listener: subprocess.Popen
    heard: list[dict]
    publisher: subprocess.Popen
    said: list[dict]

    def numbers_heard(self) -> list[int]:
        """The numbers of the messages the listener heard, once it heard the last one."""
        wait_until(lambda: self.heard[-1:] == [{"n": 399}], timeout=30, message="the last message across")
        return [line["n"] for line in self.heard if "n" in line]


@pytest.fixture(scope="module")
def bus_outage():
    """One five-second Redis outage on a Redis of its own, met by two pairs of bus processes at once: `publish`
    on topic "room" and `publish_newest` on "wall", each sending 400 messages, one every 20 ms (8 s). Yields the
    pairs by role, and whether every process lived through the outage; each test waits for its last message."""
    redis_server = RedisServer(persistent=True)
    processes: list[subprocess.Popen] = []

    def started(*arguments: str) -> tuple[subprocess.Popen, list[dict]]:
        process, lines = bus_peer(redis_server, *arguments)
        processes.append(process)
        return process, lines

    try:
        topics = {"publish": "room", "newest": "wall"}
        listeners = {role: started("listen", topic) for role, topic in topics.items()}
        wait_until(lambda: all({"listening": True} in heard for _, heard in listeners.values()), message="listeners")
        peers = {role: BusPeers(*listeners[role], *started(role, topic, "400")) for role, topic in topics.items()}
        for peer in peers.values():
            wait_until(lambda peer=peer: any("n" in line for line in peer.heard), message="a first message across")
        redis_server.stop()
        wait_until(
            lambda: (
                all({"degraded": True} in peer.said for peer in peers.values())
                and {"degraded": True} in peers["publish"].heard
            ),
            message="the publishers and the listener of `publish` degraded",
        )
        outage_ends = time.monotonic() + 5
        wait_until(lambda: time.monotonic() >= outage_ends, timeout=10, message="five seconds of outage")
        lived = all(process.poll() is None for process in processes)
        redis_server.start()
        yield peers, lived
    finally:
        for process in processes:
            process.kill()
            process.wait()
        redis_server.stop()


def after_the_outage(bus_outage, role: str) -> tuple[BusPeers, list[int]]:
    """The pair of `role` once every process lived through the outage, and the numbers its listener heard."""
    peers, lived = bus_outage
    assert lived
    return peers[role], peers[role].numbers_heard()


def test_a_bus_message_published_in_one_process_reaches_the_other_and_nothing_is_lost_while_redis_is_away(bus_outage):
    room, numbers = after_the_outage(bus_outage, "publish")
    assert numbers == list(range(numbers[0], 400)), "a message was lost or repeated"
    assert {"degraded": False} in room.said and {"degraded": False} in room.heard


def test_a_command_sent_again_after_redis_had_taken_it_is_delivered_once(redis_server):
    """Redis can add an entry and go away before it answers: the bus sends the entry again (the outage test met
    it, a message heard twice), and a reader must drop the copy."""
    process, heard = bus_peer(redis_server, "listen", "retried")
    try:
        wait_until(lambda: {"listening": True} in heard, message="the listener")
        client = redis.Redis.from_url(redis_server.url)
        for sequence, number in ((1, 0), (1, 0), (2, 1)):  # the second: the first one's copy
            fields: dict = {
                "topic": "retried",
                "origin": "another",
                "sequence": sequence,
                "message": json.dumps({"n": number}),
            }
            client.xadd(RedisBus.STREAM, fields)
        wait_until(lambda: {"n": 1} in heard, message="the last command across")
        assert [line["n"] for line in heard if "n" in line] == [0, 1]
    finally:
        process.kill()
        process.wait()


def test_only_the_newest_message_of_a_key_waits_while_redis_is_away(bus_outage):
    _, numbers = after_the_outage(bus_outage, "newest")
    assert numbers == sorted(set(numbers)), "a message came twice or out of order"
    assert len(numbers) < 400 - 150, "the outage's messages waited for Redis (50 a second for 5 s)"


def test_polling_first_clients_through_haproxy_connect_and_stick(pair):
    front = HAProxy([server.port for server in pair], FRONT_PORT)
    learners: list[Learner] = []
    try:
        for _ in range(8):  # the page's way: long-polling first, then the upgrade to a WebSocket
            learners.append(connected(front.url, transports=["polling", "websocket"]))
        assert all(call(learner, "step")["ok"] for learner in learners)
        wait_until(lambda: all(learner.transport() == "websocket" for learner in learners), message="the upgrades")
        cookies = {learner.server_cookie() for learner in learners}
        assert cookies == {"app1", "app2"}  # round robin for new sessions, each held by its cookie
        counts = [server.counts()["connections"] for server in pair]
        assert sum(counts) == 8 and min(counts) > 0
    finally:
        for learner in learners:
            learner.disconnect()
        front.stop()


def test_when_a_process_is_killed_its_learners_are_back_on_the_other_with_their_config(redis_server):
    servers = cluster_pair(redis_server)
    front = HAProxy([server.port for server in servers], FRONT_PORT)
    config = {"activation": "relu", "networkShape": [3], "seed": "failover", "learningRate": 0.1}
    learners: list[Learner] = []
    try:
        for _ in range(4):
            learners.append(connected(front.url, transports=["polling", "websocket"], config=dict(config)))
        wait_until(lambda: all(learner.restored for learner in learners), message="the configs sent")
        on_first = [learner for learner in learners if learner.server_cookie() == "app1"]
        assert on_first, "round robin put no learner on the first process"
        servers[0].process.kill()  # kill -9: no goodbye to anyone
        servers[0].process.wait()
        wait_until(
            lambda: all(len(learner.restored) == 2 for learner in on_first), timeout=30, message="the reconnections"
        )
        for learner in on_first:
            assert learner.server_cookie() == "app2"
            assert learner.restored[1]["ok"] and learner.restored[1]["config"]["seed"] == "failover"
            assert call(learner, "start_training")["ok"]
        wait_until(
            lambda: all(
                learner.frames[-1]["layerSizes"] == [2, 3, 1] and learner.frames[-1]["epoch"] > 0
                for learner in on_first
            ),
            message="the restored configs training on the second process",
        )
        assert servers[1].counts()["connections"] == len(learners)
    finally:
        for learner in learners:
            learner.disconnect()
        front.stop()
        for server in servers:
            server.stop()


def test_redis_away_for_five_seconds_frames_go_on_the_page_is_told_and_the_room_recovers(pair, redis_server):
    learners = [connected(server.url) for server in pair]
    try:
        for learner in learners:
            assert call(learner, "start_training")["ok"]
        assert all(learner.services == [{"degraded": False, "message": None}] for learner in learners)
        redis_server.stop()
        outage_ends = time.monotonic() + 5
        wait_until(lambda: all(learner.services[-1]["degraded"] for learner in learners), message="the notices")
        assert "your own training goes on" in learners[0].services[-1]["message"]
        assert all(server.metrics()["busDegraded"] for server in pair)
        during = [len(learner.frames) for learner in learners]
        wait_until(
            lambda: all(len(learner.frames) > seen + 30 for learner, seen in zip(learners, during, strict=True)),
            message="frames during the outage",
        )
        wait_until(lambda: time.monotonic() >= outage_ends, timeout=10, message="five seconds of outage")
        assert all(server.process.poll() is None for server in pair)
        redis_server.start()
        wait_until(
            lambda: all(not learner.services[-1]["degraded"] for learner in learners), timeout=30, message="recovery"
        )
        assert not any(server.metrics()["busDegraded"] for server in pair)
        emitter = socketio.RedisManager(redis_server.url, channel="flask-socketio", write_only=True)

        def room_reaches_both() -> bool:  # the queue's listeners reconnect with a back-off of their own
            emitter.emit("note", {"after": "outage"}, namespace="/")
            return all(learner.notes for learner in learners)

        wait_until(room_reaches_both, timeout=30, interval=0.5, message="a room emit after the outage")
        assert all(server.process.poll() is None for server in pair)
    finally:
        for learner in learners:
            learner.disconnect()
        if redis_server.process.poll() is not None:  # the module's other tests meet a Redis, whatever happened
            redis_server.start()


def test_an_unreachable_store_at_start_is_said_in_one_line_and_the_server_exits():
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={
            **os.environ,
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "DATABASE_URL": f"postgresql://playground:secret@127.0.0.1:{free_port()}/rooms?connect_timeout=2",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    said = [line for line in done.stderr.splitlines() if "Playground" in line]  # eventlet warns of itself too
    assert len(said) == 1 and said[0].startswith("Neural Network Playground cannot start: cannot open the PostgreSQL")
    assert "Traceback" not in done.stderr
    assert "secret" not in done.stderr


def test_a_second_process_on_a_port_in_use_fails_instead_of_sharing_it(pair):
    """eventlet's default SO_REUSEPORT would let it start and take half the connections of the first."""
    done = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(pair[0].port), "DATABASE_URL": ":memory:"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "Address already in use" in done.stderr


# --- a class across processes ----------------------------------------------------------------------------------------


class Page(Learner):
    """A classroom page (a learner's playground, a teacher's wall or projector): keeps the class's events too."""

    def __init__(self):
        super().__init__()
        self.walls: list[dict] = []
        self.states: list[dict] = []
        self.datasets: list[dict] = []
        self.on("wall", self.walls.append)
        self.on("class_state", self.states.append)
        self.on("dataset", self.datasets.append)

    def tile_counts(self) -> list[int]:
        return [len(wall["tiles"]) for wall in self.walls]


def page(url: str) -> Page:
    client = Page()
    client.connect(url, transports=["websocket"], wait_timeout=10)
    wait_until(lambda: client.frames, message="the first frame")
    return client


def steady_walls(wall: Page, count: int, walls: int = 8) -> None:
    """The wall shows `count` tiles, and then `walls` walls in a row all do (no flicker between processes' parts)."""
    wait_until(lambda: wall.tile_counts()[-1:] == [count], timeout=20, message=f"a wall of {count} tiles")
    seen = len(wall.walls)
    wait_until(lambda: len(wall.walls) >= seen + walls, message=f"{walls} more walls")
    assert wall.tile_counts()[seen:] == [count] * (len(wall.walls) - seen)


def test_a_class_across_two_processes_has_one_wall_and_the_teachers_actions_reach_everyone(pair):
    first, second = pair
    teacher, wall = page(first.url), page(first.url)
    learners = [page(second.url) for _ in range(3)]
    other_wall = page(second.url)
    everyone = [teacher, wall, other_wall, *learners]
    try:
        started = call(teacher, "start_class")
        code, key = started["room"]["code"], started["key"]
        for teacher_page in (wall, other_wall):
            assert call(teacher_page, "teach", {"code": code, "key": key, "page": "wall"})["ok"]
        members = [
            call(learner, "join_class", {"code": code, "name": f"Pupil {n}"}) for n, learner in enumerate(learners)
        ]
        assert all(member["ok"] for member in members)
        steady_walls(wall, 3)  # every tile from the other process, on the teacher's
        assert wall.walls[-1]["summary"]["runs"] == 3 and len(wall.walls[-1]["maps"]) == 300

        near = page(first.url)  # a learner on the teacher's process too: tiles from both
        everyone.append(near)
        assert call(near, "join_class", {"code": code, "name": "Near"})["ok"]
        for either in (wall, other_wall):
            steady_walls(either, 4)
        names = sorted(tile["name"] for tile in wall.walls[-1]["tiles"])
        assert names == ["Near", "Pupil 0", "Pupil 1", "Pupil 2"]
        assert wall.walls[-1]["summary"]["runs"] == 4

        class_learners = [*learners, near]
        pushed = call(
            teacher, "push_config", {"hash": "#networkShape=5&learningRate=0.3&activation=relu", "fixSeed": False}
        )
        assert pushed["ok"]
        wait_until(
            lambda: all(
                any(state["config"] and state["config"]["networkShape"] == [5] for state in learner.states)
                for learner in class_learners
            ),
            message="the pushed config on every learner",
        )
        assert call(teacher, "lock_settings", {"locks": ["learningRate"]})["ok"]
        wait_until(
            lambda: all(learner.states[-1]["locks"] == ["learningRate"] for learner in class_learners),
            message="the lock on every learner",
        )
        refused = call(learners[0], "update_config", {"learningRate": 0.01})
        assert refused["error"]["field"] == "learningRate" and "locked by the teacher" in refused["error"]["message"]

        challenge = {"dataset": "circle", "maxHiddenNeurons": None, "aboveTestAccuracy": 0.6}
        assert call(teacher, "set_challenge", {"challenge": challenge})["ok"]
        for learner in class_learners:
            assert call(learner, "start_training")["ok"]

        def same_board() -> bool:  # each process merges its own wall: the leaderboard comes from the shared store
            boards = [either.walls[-1]["leaderboard"] for either in (wall, other_wall)]
            return len(boards[0]) == 4 and boards[0] == boards[1]

        wait_until(same_board, timeout=60, message="the same full leaderboard on both processes' walls")

        assert call(teacher, "pause_all")["ok"]
        wait_until(
            lambda: all(learner.frames[-1]["status"] == "stopped" for learner in class_learners),
            message="every run paused",
        )
        refused = call(learners[1], "start_training")
        assert not refused["ok"] and refused["error"]["field"] == "status"

        gallery = call(teacher, "save_gallery", {"names": True})  # the other process saves its learners' runs
        assert gallery["missing"] == []
        assert [run["name"] for run in gallery["runs"]] == ["Pupil 0", "Pupil 1", "Pupil 2", "Near"]
        viewer = page(first.url)
        everyone.append(viewer)
        opened = call(viewer, "open_experiment", {"id": gallery["runs"][0]["id"]})  # saved on the other process
        assert (opened["title"], opened["epoch"]) == ("Pupil 0", gallery["runs"][0]["epoch"])
    finally:
        for client in everyone:
            client.disconnect()


def test_the_detail_view_and_the_projector_show_a_learner_of_the_other_process(pair):
    first, second = pair
    teacher, wall, projector = page(first.url), page(first.url), page(first.url)
    learner = page(second.url)
    everyone = [teacher, wall, projector, learner]
    try:
        started = call(teacher, "start_class")
        code, key = started["room"]["code"], started["key"]
        assert call(wall, "teach", {"code": code, "key": key, "page": "wall"})["ok"]
        assert call(projector, "teach", {"code": code, "key": key, "page": "projector"})["ok"]
        member = call(learner, "join_class", {"code": code, "name": "Far"})["member"]
        assert call(learner, "update_config", {"networkShape": [6, 3], "noise": 20})["ok"]
        assert call(learner, "start_training")["ok"]
        wait_until(lambda: wall.tile_counts()[-1:] == [1], message="the learner's tile")

        wall.frames.clear()
        watched = call(wall, "watch_member", {"member": member})
        assert watched == {"ok": True, "member": member, "name": "Far"}

        def learners_frames(client: Page) -> list[dict]:
            return [frame for frame in client.frames if frame["layerSizes"] == [2, 6, 3, 1]]

        wait_until(lambda: len({frame["epoch"] for frame in learners_frames(wall)}) >= 3, message="the run's frames")
        assert learner.datasets[-1]["points"] in [data["points"] for data in wall.datasets]  # its noisy data
        assert {"packed", "epochsPerSecond", "seq"} <= set(learners_frames(wall)[-1])

        assert call(wall, "watch_member", {"member": None})["ok"]  # its own run again, which has [4, 2]
        wait_until(lambda: wall.frames[-1]["layerSizes"] == [2, 4, 2, 1], message="the wall's own run")

        assert call(teacher, "spotlight", {"member": member})["ok"]
        wait_until(
            lambda: len({frame["epoch"] for frame in learners_frames(projector)}) >= 3,
            message="the spotlit run on the projector",
        )
    finally:
        for client in everyone:
            client.disconnect()
