"""One script attacking the class's server (issue 10), on loopback, bounded in count and time. One JSON object.

    .venv/bin/python bench/abuse.py            # every attack (about 3 minutes)
    .venv/bin/python bench/abuse.py --only flood,halfOpen
    .venv/bin/python bench/abuse.py --only heavyClients,heavyClients    # the same attack twice on one server

The attacker connects from 127.0.0.2, a normal client (training the default config) from 127.0.0.1. For each
attack: the normal client's frames/s during it and in the 5 s after it (target: at least 90% of its rate alone),
the server's memory growth (at most 20 MB, back to within 5 MB of before 5 s after), the slowest `/healthz` answer
(at most 100 ms throughout), and what the attack got (disconnected, refused, closed).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
import urllib.request
from pathlib import Path

import websocket

from bench.load import BenchClient, check, log
from tests.live_server import LiveServer
from tests.test_abuse import MALFORMED_FRAMES, carries_no_traceback, session, tcp

ROOT = Path(__file__).resolve().parents[1]

MB = 1024 * 1024
AFTER_SECONDS = 5.0
HEAVY = '42["update_config",{"networkShape":[8,8,8,8,8,8],"learningRate":0.03}]'


class HealthProbe:
    """Asks /healthz every 20 ms from its own thread and keeps the slowest answer (a failure counts as 10 s)."""

    def __init__(self, url: str):
        self.url, self.slowest, self.running = url + "/healthz", 0.0, True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while self.running:
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    response.read()
                took = time.perf_counter() - started
            except OSError:
                took = 10.0
            self.slowest = max(self.slowest, took)
            time.sleep(0.02)

    def take(self) -> float:
        slowest, self.slowest = self.slowest, 0.0
        return round(slowest * 1000, 1)

    def stop(self) -> None:
        self.running = False
        self.thread.join(15)


def frames_per_second(client: BenchClient, start: float, end: float) -> float:
    return round(sum(start <= frame[0] < end for frame in client.frames) / (end - start), 1)


def close_quietly(ws) -> None:
    with contextlib.suppress(websocket.WebSocketException, OSError):
        ws.close(timeout=1)


def closed_by_server(ws, seconds: float = 5.0) -> bool:
    ws.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            opcode, _ = ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return True
        except websocket.WebSocketTimeoutException:
            continue
        except (websocket.WebSocketException, OSError):
            return True
    return False


# --- the attacks: each returns what it got, and ends (or leaves to `cleanup`) its connections -----------------------


def malformed_frames(server: LiveServer) -> dict:
    """Each malformed frame of tests/test_abuse.py on a new session, 5 times; how long until its slot was free."""
    freed, clean = [], True
    for _ in range(5):
        for frame in MALFORMED_FRAMES:
            before = server.counts()["connections"]
            ws = session(server)
            ws.send(frame)
            started = time.monotonic()
            clean &= closed_by_server(ws)
            while server.counts()["connections"] > before and time.monotonic() - started < 60:
                time.sleep(0.01)
            freed.append(time.monotonic() - started)
            close_quietly(ws)
    return {"sessions": len(freed), "allClosedByServer": clean, "slotFreedMaxSeconds": round(max(freed), 3)}


def flood(server: LiveServer) -> dict:
    """One client sending update_config as fast as it can for 0.5 s (at most 25,000 events)."""
    ws, sent = session(server), 0
    deadline = time.monotonic() + 0.5
    while sent < 25_000 and time.monotonic() < deadline:
        try:
            ws.send('42["update_config",{"learningRate":0.03}]')
        except (websocket.WebSocketException, OSError):
            break
        sent += 1
    disconnected = closed_by_server(ws)
    close_quietly(ws)
    return {"sent": sent, "disconnected": disconnected}


def heavy_clients(
    server: LiveServer, count: int = 20, per_second: float = 60, seconds: float = 3.0, event: str = HEAVY
) -> dict:
    """`count` clients each sending a heavy event (a rebuild of a large network) `per_second` for `seconds`."""
    sockets = [session(server) for _ in range(count)]
    sent = [0] * count

    def send(index: int) -> None:
        ws, started = sockets[index], time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                ws.send(event)
            except (websocket.WebSocketException, OSError):
                return
            sent[index] += 1
            time.sleep(max(0.0, started + sent[index] / per_second - time.monotonic()))

    threads = [threading.Thread(target=send, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 10)
    for ws in sockets:
        close_quietly(ws)
    return {"clients": count, "eventsSent": sum(sent)}


def attachments(server: LiveServer) -> dict:
    """A binary event announcing 100,000 attachments, then up to 150 of 575 KB."""
    ws, sent = session(server), 0
    ws.send('45100000-["upload_data",{"_placeholder":true,"num":0}]')
    blob = b"\x00" * 575_000
    try:
        for _ in range(150):
            ws.send_binary(blob)
    except (websocket.WebSocketException, OSError):
        pass
    disconnected = closed_by_server(ws)
    close_quietly(ws)
    return {"attachmentsSent": sent, "disconnected": disconnected}


def fragments(server: LiveServer) -> dict:
    """Fragments of 100 KB without a final one, up to 3 MB."""
    ws, sent = session(server), 0
    try:
        ws.send_frame(websocket.ABNF.create_frame("x" * 100_000, websocket.ABNF.OPCODE_TEXT, fin=0))
        for _ in range(29):
            ws.send_frame(websocket.ABNF.create_frame("x" * 100_000, websocket.ABNF.OPCODE_CONT, fin=0))
    except (websocket.WebSocketException, OSError):
        pass
    disconnected = closed_by_server(ws)
    close_quietly(ws)
    return {"bytesSent": (sent + 1) * 100_000, "disconnected": disconnected}


def big_messages(server: LiveServer, count: int = 20) -> dict:
    """Back-to-back legal 500 KB CSV uploads (each a 575 KB-class message), waiting for each reply."""
    ws = session(server)
    csv = "".join(f"{x % 12 - 6}.123456,{x % 7 - 3}.654321,{1 if x % 2 else -1}\n" for x in range(5_000))[:500_000]
    replies = 0
    for index in range(count):
        ws.send(f'42{index}["upload_data",{json.dumps({"csv": csv})}]')
        ws.settimeout(10)
        while not str(ws.recv()).startswith(f"43{index}"):
            pass
        replies += 1
    close_quietly(ws)
    return {"messages": count, "bytes": len(csv), "replies": replies}


def half_open(server: LiveServer, count: int = 1030) -> dict:
    """`count` TCP connections that never send a request; how many the server closed at once."""
    connections, refused = [], 0
    for _ in range(count):
        try:
            connections.append(tcp(server))
        except OSError:
            refused += 1
    time.sleep(0.5)
    for connection in connections:
        connection.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            refused += connection.recv(1) == b""
    for connection in connections:
        connection.close()
    return {"opened": count, "closedAtOnce": refused}


def all_connections(server: LiveServer, count: int = 200) -> dict:
    """Up to `count` Socket.IO sessions from the attacker's one address."""
    sockets, refused = [], 0
    for _ in range(count):
        try:
            sockets.append(session(server))
        except (websocket.WebSocketException, OSError):
            refused += 1
    for ws in sockets:
        close_quietly(ws)
    return {"tried": count, "held": len(sockets), "refused": refused}


def nan_export(server: LiveServer) -> dict:
    """export_network after divergence: the wire text must be strict JSON."""
    ws = session(server)
    ws.send(
        '420["update_config",{"learningRate":10,"activation":"relu","regularization":"L2",'
        '"regularizationRate":10,"problem":"regression","batchSize":1}]'
    )
    for index in range(1, 31):
        ws.send(f'42{index}["step"]')
    ws.send('4299["export_network"]')
    ws.settimeout(10)
    while not (text := str(ws.recv())).startswith("4399"):
        pass
    close_quietly(ws)
    return {"nanOrInfinity": "NaN" in text or "Infinity" in text, "traceback": not carries_no_traceback(text)}


ATTACKS = {
    "malformedFrames": malformed_frames,
    "flood": flood,
    "heavyClients": heavy_clients,
    "attachments": attachments,
    "fragments": fragments,
    "bigMessages": big_messages,
    "halfOpen": half_open,
    "allConnections": all_connections,
    "nanExport": nan_export,
}


def measure(server: LiveServer, normal: BenchClient, probe: HealthProbe, attack, alone: float) -> dict:
    before = server.metrics()["rssBytes"]
    probe.take()
    started = time.monotonic()
    result = attack(server)
    ended = time.monotonic()
    during_ms, peak = probe.take(), server.metrics()["rssBytes"]
    time.sleep(AFTER_SECONDS)
    after = server.metrics()["rssBytes"]
    return {
        **result,
        "seconds": round(ended - started, 2),
        "framesPerSecond": {
            "alone": alone,
            "during": frames_per_second(normal, started, max(ended, started + 1)),
            "after": frames_per_second(normal, ended, ended + AFTER_SECONDS),
        },
        "rssMB": {"growth": round((peak - before) / MB, 1), "afterGrowth": round((after - before) / MB, 1)},
        "healthzSlowestMs": {"during": during_ms, "after": probe.take()},
    }


def checks(name: str, figures: dict) -> list[dict]:
    frames = figures["framesPerSecond"]
    return [
        check(f"{name}: frames/s during / alone", round(frames["during"] / frames["alone"], 2), ">=", 0.9),
        check(f"{name}: frames/s after / alone", round(frames["after"] / frames["alone"], 2), ">=", 0.9),
        check(f"{name}: RSS growth MB", figures["rssMB"]["growth"], "<=", 20),
        check(f"{name}: RSS 5 s after MB", figures["rssMB"]["afterGrowth"], "<=", 5),
        check(f"{name}: slowest /healthz ms", max(figures["healthzSlowestMs"].values()), "<=", 100),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated attacks: " + ", ".join(ATTACKS))
    names = [name for name in parser.parse_args().only.split(",") if name] or list(ATTACKS)
    server = LiveServer(max_training_sessions=30)  # sessions are not what is attacked here
    normal = BenchClient("normal")
    probe = HealthProbe(server.url)
    report = {"attacks": {}, "checks": []}
    try:
        normal.connect(server.url, transports=["websocket"], wait_timeout=10)
        normal.call("start_training", timeout=10)
        time.sleep(2.0)
        started = time.monotonic()
        time.sleep(3.0)
        alone = frames_per_second(normal, started, time.monotonic())
        report["normalAloneFramesPerSecond"] = alone
        for index, name in enumerate(names):
            # An attack named again is measured again on the same server: what stays after the first time and
            # not the second is a high-water mark (the heaps grown once), not a leak.
            key = f"{name} (run {names[:index].count(name) + 1})" if name in names[:index] else name
            log(f"attack {key}")
            figures = measure(server, normal, probe, ATTACKS[name], alone)
            report["attacks"][key] = figures
            report["checks"] += checks(key, figures)
    finally:
        probe.stop()
        if normal.connected:
            normal.disconnect()
        server.stop()
    report["pass"] = all(item["pass"] for item in report["checks"])
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
