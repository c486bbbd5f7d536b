"""A class on one server process: a teacher and N learners training (bench/classroom.mjs, Node.js clients as cheap
as the page's own), JSON out.

    PYTHONPATH=. .venv/bin/python bench/classroom.py [--learners 30 --learners 100] [--seconds 8]

For each class size, in one run on one fresh server: the learners' frames/s and epochs/s (slowest, median) without
the wall and then with the teacher's wall open (side by side: what the wall costs them), the wall's tiles per
second (all N tiles at once, as `wall` messages a second), a pushed config reaching every run (p50/p95/max latency
from the teacher's `push_config` to each learner's `class_state`), and pause-all stopping every run (to each
learner's `state` "stopped"). The learners come from 127.0.0.1, as a class behind one NAT: the server raises the
per-address caps (README, Configuration).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import socketio

from tests.live_server import LiveServer
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = ROOT / "bench" / "classroom.mjs"
SETTINGS = {"max_connections_per_address": 400, "max_pending_requests_per_address": 400, "max_connections": 400}


class Wall(socketio.Client):
    """The teacher's wall: counts `wall` messages that carry every learner's tile."""

    def __init__(self, learners: int):
        super().__init__(reconnection=False)
        self.learners, self.full_walls = learners, []
        self.on("wall", self._wall)
        self.on("map_update", lambda frame: None)  # its own run's frames, acknowledged

    def _wall(self, wall):
        if len(wall["tiles"]) == self.learners:
            self.full_walls.append(time.monotonic())


def call(client: socketio.Client, event: str, data=None) -> dict:
    reply = client.call(event, data, timeout=20)
    if not (isinstance(reply, dict) and reply.get("ok")):
        raise RuntimeError(f"{event} failed: {reply!r}")
    return reply


def spread(values: list[float]) -> dict:
    clean = sorted(value for value in values if value is not None)
    if not clean:
        return {"min": None, "median": None}
    return {"min": clean[0], "median": statistics.median(clean)}


def latencies(sent_ms: float, arrivals: list[list[float]]) -> dict:
    """Per learner, the first arrival after `sent_ms`: p50, p95 and max in ms, and how many learners got one."""
    after = [[t for t in times if t >= sent_ms] for times in arrivals]
    firsts = sorted(min(times) - sent_ms for times in after if times)
    if not firsts:
        return {"reached": 0}
    pick = lambda q: round(firsts[min(len(firsts) - 1, int(q * len(firsts)))], 1)  # noqa: E731
    return {"reached": len(firsts), "p50Ms": pick(0.5), "p95Ms": pick(0.95), "maxMs": round(firsts[-1], 1)}


class Learners:
    """bench/classroom.mjs, spoken to line by line."""

    def __init__(self, url: str, code: str, count: int):
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node (Node.js 20) is not on PATH")
        command = [node, str(LEARNERS), "--url", url, "--code", code, "--learners", str(count)]
        self.process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.watchdog = threading.Timer(600, self.process.kill)  # the run is bounded even if the server hangs
        self.watchdog.start()
        self.expect("ready")

    def expect(self, phase: str) -> dict:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            record = json.loads(line)
            if record["phase"] == phase:
                return record
        raise RuntimeError(f"the learners' process ended before {phase!r} (exit {self.process.wait()})")

    def ask(self, command: str, phase: str) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.expect(phase)

    def arrivals(self, kind: str, since_ms: float, timeout: float = 20.0) -> list[dict]:
        """The learners' events once each has one of `kind` ("pushes" or "stops") at or after `since_ms`, or at
        the deadline: then those that got none count as not reached."""
        events: list[dict] = []

        def everyone_reached() -> bool:
            events[:] = self.ask("events", "events")["learners"]
            return all(any(t >= since_ms for t in learner[kind]) for learner in events)

        with contextlib.suppress(AssertionError):  # at the deadline: the figures say how many were reached
            wait_until(everyone_reached, timeout=timeout, interval=0.1, message=f"every learner's {kind}")
        return events

    def close(self) -> None:
        self.watchdog.cancel()
        if self.process.poll() is None:
            self.ask_quit()

    def ask_quit(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("quit\n")
        self.process.stdin.close()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def figures(measured: dict) -> dict:
    learners = measured["learners"]
    return {
        "framesPerSecond": spread([learner["framesPerSecond"] for learner in learners]),
        "epochsPerSecond": spread([learner["epochsPerSecond"] for learner in learners]),
    }


def one_class(count: int, seconds: float, warmup: float = 2.0) -> dict:
    """One class of `count` learners measured for `seconds` without and with the wall, each run given `warmup`
    seconds of training before it is measured or paused."""
    server = LiveServer(max_training_sessions=max(100, count), **SETTINGS)
    teacher, wall, learners = socketio.Client(reconnection=False), Wall(count), None
    try:
        teacher.on("map_update", lambda frame: None)
        teacher.connect(server.url, transports=["websocket"])
        started = call(teacher, "start_class")
        code, key = started["room"]["code"], started["key"]
        learners = Learners(server.url, code, count)
        time.sleep(warmup)  # every learner trains
        without_wall = figures(learners.ask(f"measure {seconds}", "measured"))
        wall.connect(server.url, transports=["websocket"])
        call(wall, "teach", {"code": code, "key": key, "page": "wall"})
        wait_until(lambda: wall.full_walls, timeout=20, message="a wall with every tile")
        opened = time.monotonic()
        with_wall = figures(learners.ask(f"measure {seconds}", "measured"))
        window = time.monotonic() - opened
        walls_per_second = sum(1 for t in wall.full_walls if t >= opened) / window
        sent = time.time() * 1000
        call(teacher, "push_config", {"hash": "#learningRate=0.1&activation=relu", "fixSeed": False})
        pushes = learners.arrivals("pushes", sent)  # the push resets every run; the times are the learners' own
        learners.ask("start", "started")
        time.sleep(warmup)
        paused = time.time() * 1000
        call(teacher, "pause_all")
        stops = learners.arrivals("stops", paused)
        return {
            "learners": count,
            "withoutWall": without_wall,
            "withWall": with_wall,
            "wallMessagesWithEveryTilePerSecond": round(walls_per_second, 2),
            "pushedConfigReachedRuns": latencies(sent, [learner["pushes"] for learner in pushes]),
            "pauseAllStoppedRuns": latencies(paused, [learner["stops"] for learner in stops]),
        }
    finally:
        if learners is not None:
            learners.close()
        for client in (teacher, wall):
            client.disconnect()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, action="append", help="class sizes (default 30 and 100)")
    parser.add_argument("--seconds", type=float, default=8.0, help="each measuring window")
    options = parser.parse_args()
    sizes = options.learners or [30, 100]
    json.dump({"classes": [one_class(count, options.seconds) for count in sizes]}, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
