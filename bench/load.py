"""Load benchmark: the real server (`python app.py`) driven by real Socket.IO clients over loopback.

    .venv/bin/python bench/load.py                        # every scenario, about 5 minutes
    .venv/bin/python bench/load.py --quick                # shorter windows, about 2 minutes
    .venv/bin/python bench/load.py --scenario class30     # one scenario (repeat --scenario for several)
    .venv/bin/python bench/load.py --stall-seconds 30

Prints ONE JSON object on stdout (progress goes to stderr): every figure, the targets, and pass/fail per target.
Exit status: 0 when it ran (whether targets were met is `allPassed` in the JSON, so `make bench` goes on to the
next benchmark), 1 when the benchmark itself failed (then the JSON has `failure` and the server log's tail is on
stderr).

Scenarios, in this order (`--scenario NAME`; the first five share one server and Python clients):
1. engine     the engine's own epochs/s in this process (default config, one torch thread), before the server
              starts and again after it stops; the higher of the two is the reference rate (with oneClient).
2. oneClient  one client training the default config: frames/s, epochs/s, ratio to the engine; then
   latency    `update_config` (networkShape, which rebuilds the network and so shows in `layerSizes`) sent while
              training, to the first `map_update` that shows it. A reset stops training (TF Playground), so training
              is restarted before each sample; and
   bytes      bytes per `map_update` of the default network, counted from the WebSocket messages received
              (Engine.IO payloads plus WebSocket frame headers; the Python client does not compress).
3. eightClients  eight clients training at once: event-loop lag (server's /metrics, MEASURE_LAG=1), per-client
              frames/s and epochs/s, fairness, total epochs/s against one session alone (scenario 2).
4. stall      two normal clients alone, then the same two plus a client that stops acknowledging `map_update`:
              server RSS every second, and the normal clients' frame rates in both phases.
5. class30, class30Mixed, class100  a class: 30 clients on the default config (each its own seed), 30 clients on
              30 different configs (`mixed_config`), 100 clients on the default config. Each runs twice, each time
              on a fresh server with MAX_TRAINING_SESSIONS=100: ours (the server's own batching) and the baseline
              with batching off (MAX_GROUP_SIZE=1), so the JSON shows them side by side. The clients are one
              Node.js process (bench/swarm.mjs: the npm socket.io-client the page uses, WebSocket transport,
              permessage-deflate as browsers negotiate it, each map_update acknowledged at once); its own CPU share
              is reported next to the server's so a reader can see it did not take the server's core.
6. frameBytes two swarm clients, the default network and the largest (6 layers of 8, all seven features): bytes
              per `map_update` on the wire (compressed) and decoded, and bytes per second.

The Python clients are cheap on purpose (they share the machine's cores with the server): handlers only record
`time.monotonic()`, numbers already decoded, and byte counts; every figure is computed after its window.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import engineio
import socketio
from engineio import packet as eio_packet

from playground.options import FEATURES, MAX_HIDDEN_LAYERS, MAX_NEURONS, OPTIONS_BY_NAME
from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[1]

SWARM = ROOT / "bench" / "swarm.mjs"
DEFAULT_SEED = "0.59704"
DEFAULT_LAYER_SIZES = [2, 4, 2, 1]
RAW_RGB_MAIN_MAP_BYTES = 100 * 100 * 3
MAX_FRAME_BYTES = 12_000
BENCH_CLIENTS = 8
BUSY_PERCENT = 20.0  # other processes' CPU (% of one core) above which a window's figures are suspect


def log(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- clients ------------------------------------------------------------------------------------------------------


class InlineEngineIO(engineio.Client):
    """Engine.IO client that hands each received message to Socket.IO in its reader thread.

    The stock client starts a new thread for every message (`run_async=True`): a binary `map_update` is two
    WebSocket messages (the event and its attachment), so eleven clients at 30 frames/s would start over a thousand
    threads a second on the two cores the server needs, and the parts of a binary
    event would be reassembled by racing threads. Our handlers only record numbers, so running them inline is
    cheaper and keeps the order of the wire.
    """

    def _receive_packet(self, pkt):
        if pkt.packet_type == eio_packet.MESSAGE:
            self._trigger_event("message", pkt.data, run_async=False)
        else:
            super()._receive_packet(pkt)


def _websocket_bytes(payload_length: int) -> int:
    """A server-to-client WebSocket frame: unmasked header (2, 4 or 10 bytes) plus its payload."""
    return payload_length + (2 if payload_length < 126 else 4 if payload_length < 65536 else 10)


class BenchClient(socketio.Client):
    """A Socket.IO client that records what arrives: (time, seq, epoch, bytes, layerSizes) per `map_update`.

    Acknowledging: python-socketio sends the ACK for an event that asked for one right after the handler returns
    (`Client._handle_event`). A normal client just returns from its handler. For a client that stops acknowledging,
    `acking = False` makes `_handle_event` run the handler and return WITHOUT sending the ACK packet, which is
    exactly what a frozen browser tab that still reads its socket looks like to the server. The alternatives do
    not model that: a handler that raises leaves the ACK unsent only as a side effect of an exception escaping
    into the library (which logs a stack trace per frame), and a handler that blocks stops this client's reader
    thread, so it would stop reading the socket altogether (TCP backpressure, a different scenario) and would
    also never see its other events.
    """

    def __init__(self, name: str, reconnection: bool = False):
        super().__init__(
            reconnection=reconnection,
            # python-socketio leaves these untyped, so pyright takes int from their defaults; they are seconds (its
            # docs) and a fraction is what a quick reconnect after a restart needs.
            reconnection_delay=0.2,  # pyright: ignore[reportArgumentType]
            reconnection_delay_max=1,
            handle_sigint=False,
        )
        self.name = name
        self.acking = True
        self.frames: list = []  # (t, seq, epoch, wire bytes, json bytes, binary bytes, layerSizes)
        self.steps: list = []  # (t, epoch, epochsPerSecond, wire bytes)
        self.states: list = []  # (t, status)
        self.errors: list = []
        self.expect: tuple | None = None  # (layerSizes, threading.Event, [arrival time, epoch]) for latency
        self._packet_bytes = [0, 0]  # the current Socket.IO packet's text and binary wire bytes
        self.on("map_update", self._on_map_update)
        self.on("state", self._on_state)
        self.on("error", self._on_error)

    def _engineio_client_class(self):
        return InlineEngineIO

    # Count the bytes of each Socket.IO packet as it arrives. A text message is the Engine.IO type digit "4" plus
    # the Socket.IO packet; a binary attachment is sent as a bare binary WebSocket message (Engine.IO v4).
    def _handle_eio_message(self, data):
        if self._binary_packet is None:
            text = data if isinstance(data, (bytes, bytearray)) else data.encode()
            self._packet_bytes = [_websocket_bytes(1 + len(text)), 0]
        else:
            self._packet_bytes[1] += _websocket_bytes(len(data))
        super()._handle_eio_message(data)

    def _handle_event(self, namespace, id, data):
        if id is not None and not self.acking and data and data[0] == "map_update":
            self._trigger_event(data[0], namespace or "/", *data[1:])
            return  # no ACK packet: the server keeps this frame in flight
        super()._handle_event(namespace, id, data)

    def _on_map_update(self, frame):
        now = time.monotonic()
        text, binary = self._packet_bytes
        sizes = frame["layerSizes"]
        self.frames.append(
            (now, frame["seq"], frame["epoch"], text + binary, text, binary, sizes, frame["epochsPerSecond"])
        )
        expect = self.expect
        if expect is not None and not expect[1].is_set() and sizes == expect[0]:
            expect[2][:] = [now, frame["epoch"]]
            expect[1].set()

    def _on_state(self, state):
        self.states.append((time.monotonic(), state["status"]))

    def _on_error(self, error):
        self.errors.append(error)

    # --- helpers for the benchmark ---

    def request(self, event: str, data=None, timeout: int = 10) -> dict:
        reply = self.call(event, data, timeout=timeout)
        if not isinstance(reply, dict) or not reply.get("ok"):
            raise RuntimeError(f"{self.name}: {event} failed: {reply!r}")
        return reply

    def window(self, start: float, end: float) -> dict:
        """Frames/s and epochs/s of this client between two monotonic times."""
        frames = [f for f in self.frames if start <= f[0] <= end]
        out = {
            "frames": len(frames),
            "framesPerSecond": round(len(frames) / (end - start), 2),
            "epochsPerSecond": None,
            "reportedEpochsPerSecondMedian": None,
            "maxSeqGap": None,
        }
        if len(frames) >= 2 and frames[-1][0] > frames[0][0]:
            out["epochsPerSecond"] = round((frames[-1][2] - frames[0][2]) / (frames[-1][0] - frames[0][0]), 1)
            out["maxSeqGap"] = max(b[1] - a[1] for a, b in itertools.pairwise(frames))
        if frames:
            out["reportedEpochsPerSecondMedian"] = statistics.median(f[7] for f in frames)
        return out


# --- the server ---------------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU time every process of the machine used so far, all cores (Linux /proc/stat: user to steal)."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def server_pid(server: LiveServer) -> int:
    """The pid of the server's process, which LiveServer starts in its constructor."""
    if server.process is None:
        raise RuntimeError(f"the server at {server.url} has no process")
    return server.process.pid


class CpuMeter:
    """CPU use over a window, in % of one core: the server, the clients (this benchmark process, or the swarm's
    process when `clients_pid` is given), and everything else on the machine (other work there makes every figure
    of the window worse)."""

    def __init__(self, server_pid: int, clients_pid: int | None = None):
        self.server_pid = server_pid
        self.clients_pid = clients_pid
        self.start()

    def start(self) -> None:
        self.began = self._now()

    def _now(self) -> tuple:
        clients = time.process_time() if self.clients_pid is None else cpu_seconds(self.clients_pid)
        return time.monotonic(), cpu_seconds(self.server_pid), clients, machine_busy_seconds()

    def read(self) -> dict:
        now = self._now()
        elapsed, server, clients, machine = (b - a for a, b in zip(self.began, now, strict=True))
        return {
            "server": round(100 * server / elapsed, 1),
            "clients": round(100 * clients / elapsed, 1),
            "otherProcesses": round(max(0.0, 100 * (machine - server - clients) / elapsed), 1),
        }


def wait_connections(server: LiveServer, count: int, timeout: float = 10.0) -> None:
    """Until the server counts `count` connections (its /metrics, served to loopback)."""
    deadline = time.monotonic() + timeout
    while server.metrics()["connections"] != count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server did not reach {count} connections")
        time.sleep(0.05)


# --- scenarios ----------------------------------------------------------------------------------------------------


def engine_rate(seconds: float) -> dict:
    """The engine's own training speed on the default config, one torch thread, in this process."""
    import torch

    from playground.session import TrainingSession

    torch.set_num_threads(1)
    session = TrainingSession({"seed": DEFAULT_SEED})
    session.train_for(min(0.5, seconds / 4))  # warm-up: first kernels, caches
    started = time.perf_counter()
    epochs = session.train_for(seconds)
    elapsed = time.perf_counter() - started
    return {"epochs": epochs, "seconds": round(elapsed, 3), "epochsPerSecond": round(epochs / elapsed, 1)}


class Run:
    def __init__(self):
        self.server: LiveServer | None = None
        self.clients: list[BenchClient] = []
        self.errors: list = []  # `error` events the server sent, by client name

    @property
    def running_server(self) -> LiveServer:
        """The shared server of the Python scenarios, which only run between its start and stop."""
        if self.server is None:
            raise RuntimeError("the Python scenarios' server is not running")
        return self.server

    def connect(self, name: str) -> BenchClient:
        client = BenchClient(name)
        self.clients.append(client)
        client.connect(self.running_server.url, transports=["websocket"], wait_timeout=10)
        return client

    def disconnect_all(self) -> None:
        for client in self.clients:
            self.errors.extend({"client": client.name, **error} for error in client.errors)
            with contextlib.suppress(Exception):  # the server may already be gone
                client.disconnect()
        self.clients.clear()

    def end_phase(self) -> None:
        self.disconnect_all()
        wait_connections(self.running_server, 0)

    def one_client(self, seconds: float, warmup: float) -> tuple[BenchClient, dict]:
        client = self.connect("solo")
        client.request("start_training")
        time.sleep(warmup)
        self.running_server.metrics(clear=True)
        cpu = CpuMeter(server_pid(self.running_server))
        start = time.monotonic()
        time.sleep(seconds)
        end = time.monotonic()
        cpu = cpu.read()
        lag = self.running_server.metrics()["lagMs"]
        return client, dict(
            client.window(start, end), seconds=round(end - start, 2), lagMs=lag, cpuPercent=cpu, window=(start, end)
        )

    def latency(self, client: BenchClient, samples: int, rng: random.Random) -> dict:
        shapes = ([3, 2], [4, 2])  # the default is [4, 2]; alternate so every sample rebuilds
        latencies, epochs, missed = [], [], 0
        self.running_server.metrics(clear=True)
        for i in range(samples):
            client.request("start_training")
            time.sleep(rng.uniform(0.12, 0.3))  # training, frames flowing, at a random phase of the frame clock
            shape = shapes[i % 2]
            arrived = threading.Event()
            hit: list = []
            client.expect = ([2, *shape, 1], arrived, hit)
            sent = time.monotonic()
            client.emit("update_config", {"networkShape": shape})
            if arrived.wait(5.0):
                latencies.append((hit[0] - sent) * 1000)
                epochs.append(hit[1])
            else:
                missed += 1
            client.expect = None
        lag = self.running_server.metrics()["lagMs"]
        ordered = sorted(latencies)

        def pick(q):
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None

        return {
            "samples": len(latencies),
            "missed": missed,
            "p50Ms": pick(0.5),
            "p95Ms": pick(0.95),
            "maxMs": round(ordered[-1], 1) if ordered else None,
            "firstFrameEpochs": sorted(set(epochs)),
            "lagMs": lag,
            "allMs": [round(v, 1) for v in latencies],
        }

    def bytes_per_frame(self, client: BenchClient, window: tuple[float, float]) -> dict:
        frames = [f for f in client.frames if window[0] <= f[0] <= window[1] and f[6] == DEFAULT_LAYER_SIZES]
        wire = [f[3] for f in frames]
        return {
            "frames": len(frames),
            "layerSizes": DEFAULT_LAYER_SIZES,
            "mapUpdateWireBytesMedian": statistics.median(wire),
            "mapUpdateWireBytesMax": max(wire),
            "jsonPartBytesMedian": statistics.median(f[4] for f in frames),
            "binaryPartBytesMedian": statistics.median(f[5] for f in frames),
            "rawRgbMainMapBytes": RAW_RGB_MAIN_MAP_BYTES,
            "note": "Engine.IO payloads plus WebSocket frame headers; TCP/IP headers not counted",
        }

    def many_clients(self, count: int, seconds: float, warmup: float, alone_epochs: float | None) -> dict:
        clients = [self.connect(f"many-{i}") for i in range(count)]
        wait_connections(self.running_server, count)
        for client in clients:
            client.request("start_training")
        time.sleep(warmup)
        before = self.running_server.metrics(clear=True)
        cpu = CpuMeter(server_pid(self.running_server))
        start = time.monotonic()
        time.sleep(seconds)
        end = time.monotonic()
        cpu = cpu.read()
        after = self.running_server.metrics()
        per = [client.window(start, end) for client in clients]
        epochs = [p["epochsPerSecond"] or 0.0 for p in per]
        frames = [p["framesPerSecond"] for p in per]
        total = sum(epochs)
        return {
            "clients": count,
            "seconds": round(end - start, 2),
            "trainingOnServer": before["training"],
            "lagMs": after["lagMs"],
            "cpuPercent": cpu,
            "framesPerSecond": frames,
            "minFramesPerSecond": min(frames),
            "epochsPerSecond": epochs,
            "totalEpochsPerSecond": round(total, 1),
            "reportedEpochsPerSecondMedian": [p["reportedEpochsPerSecondMedian"] for p in per],
            "fairness": round(min(epochs) / max(epochs), 3) if max(epochs) > 0 else 0.0,
            "totalVsAlone": round(total / alone_epochs, 3) if alone_epochs else None,
            "maxSeqGap": max((p["maxSeqGap"] or 0) for p in per),
        }

    def stall(self, alone_seconds: float, stall_seconds: float, warmup: float) -> dict:
        normal = [self.connect(f"normal-{i}") for i in range(2)]
        for client in normal:
            client.request("start_training")
        time.sleep(warmup)
        cpu = CpuMeter(server_pid(self.running_server))
        start = time.monotonic()
        time.sleep(alone_seconds)
        alone_end = time.monotonic()
        alone_cpu = cpu.read()
        alone = [client.window(start, alone_end) for client in normal]

        stalled = self.connect("stops-acking")
        stalled.request("start_training")
        time.sleep(1.0)  # it trains and acknowledges like the others for a second
        self.running_server.metrics(clear=True)
        stalled.acking = False
        stall_start = time.monotonic()
        cpu.start()
        stalled_epoch_at_start = stalled.frames[-1][2] if stalled.frames else 0
        stalled_frames_at_start = len(stalled.frames)
        rss = []  # (seconds since the stall began, bytes)
        next_sample = stall_start
        end = stall_start + stall_seconds
        while True:
            now = time.monotonic()
            if now >= end:
                break
            if now >= next_sample:
                metrics = self.running_server.metrics()
                rss.append((time.monotonic() - stall_start, metrics["rssBytes"]))
                next_sample += 1.0
            time.sleep(max(0.0, min(next_sample, end) - time.monotonic()))
        stall_end = time.monotonic()
        stall_cpu = cpu.read()
        metrics = self.running_server.metrics()
        rss.append((stall_end - stall_start, metrics["rssBytes"]))
        during = [client.window(stall_start, stall_end) for client in normal]
        ratios = [
            round(d["framesPerSecond"] / a["framesPerSecond"], 3) if a["framesPerSecond"] else 0.0
            for a, d in zip(alone, during, strict=True)
        ]
        stalled_frames = stalled.frames[stalled_frames_at_start:]
        mb = [value / 1e6 for _, value in rss]
        return {
            "aloneSeconds": round(alone_end - start, 2),
            "stallSeconds": round(stall_end - stall_start, 2),
            "alone": {
                "framesPerSecond": [a["framesPerSecond"] for a in alone],
                "epochsPerSecond": [a["epochsPerSecond"] for a in alone],
                "cpuPercent": alone_cpu,
            },
            "duringStall": {
                "framesPerSecond": [d["framesPerSecond"] for d in during],
                "epochsPerSecond": [d["epochsPerSecond"] for d in during],
                "lagMs": metrics["lagMs"],
                "trainingOnServer": metrics["training"],
                "cpuPercent": stall_cpu,
            },
            "frameRateRatios": ratios,
            "minFrameRateRatio": min(ratios),
            "stalledClient": {
                "framesReceivedDuringStall": len(stalled_frames),
                "epochsAdvancedDuringStall": (stalled_frames[-1][2] - stalled_epoch_at_start) if stalled_frames else 0,
            },
            "rss": {
                "samples": len(rss),
                "firstMB": round(mb[0], 2),
                "lastMB": round(mb[-1], 2),
                "maxMB": round(max(mb), 2),
                "growthMB": round(mb[-1] - mb[0], 2),
                "maxGrowthMB": round(max(mb) - mb[0], 2),
                "slopeMBPerMinute": round(slope([t for t, _ in rss], mb) * 60, 3),
            },
        }


# --- a class: many clients in one Node.js process (bench/swarm.mjs) -----------------------------------------------

CLASS_SESSIONS = 100  # MAX_TRAINING_SESSIONS of a class's server: room for the largest class
# Every client of the swarm comes from 127.0.0.1, as a class behind one school NAT does: such a server raises the
# per-address caps (README, Configuration), or the class's burst of connections is refused past the eighth.
CLASS_ADDRESS_SETTINGS = {"max_connections_per_address": 400, "max_pending_requests_per_address": 400}
CONNECT_SECONDS = 30  # the swarm's bound on connecting all its clients
LARGEST_CONFIG = {"networkShape": [MAX_NEURONS] * MAX_HIDDEN_LAYERS, **{name: True for name in FEATURES}}


def default_configs(count: int, prefix: str) -> list[dict]:
    """The default config for each of `count` clients, each with its own seed."""
    return [{"seed": f"{prefix}-{index}"} for index in range(count)]


def mixed_config(index: int) -> dict:
    """The index-th config of a spread over the options, the same for the same index: depths 0 to 6 hidden layers
    in turn with widths cycling through 1 to 8; the non-empty sets of input features in a stride of 53 (prime to
    their 127, so 30 indices give 30 different sets); the activations in turn; the datasets, classification and
    regression, in a stride of 4 over their 9 (in this order none of the first 30 configs diverges within 8,000
    epochs). The batch size stays the default: the issue spreads shapes, features and activations, and a batch of
    one is 250 updates an epoch, one after another, whatever trains beside it."""
    activations = OPTIONS_BY_NAME["activation"].choices
    datasets = [("classification", "dataset", name) for name in OPTIONS_BY_NAME["dataset"].choices] + [
        ("regression", "regDataset", name) for name in OPTIONS_BY_NAME["regDataset"].choices
    ]
    feature_set = 1 + 53 * index % (2 ** len(FEATURES) - 1)  # a bit mask over FEATURES, never 0
    problem, dataset_option, dataset = datasets[4 * index % len(datasets)]
    depth = index % (MAX_HIDDEN_LAYERS + 1)
    return {
        "seed": f"mixed-{index}",
        "networkShape": [1 + (3 * index + 5 * layer) % MAX_NEURONS for layer in range(depth)],
        **{name: bool(feature_set >> bit & 1) for bit, name in enumerate(FEATURES)},
        "activation": activations[index % len(activations)],
        "problem": problem,
        dataset_option: dataset,
    }


@dataclass(frozen=True)
class ClassScenario:
    """A class of clients and the issue's targets for it: (figure, "<=" or ">=", limit)."""

    configs: Callable[[], list[dict]]
    targets: tuple[tuple[str, str, float], ...]


# TF Playground trains the default config at about 48 epochs/s in Chromium on this machine (README).
CLASS_SCENARIOS = {
    "class30": ClassScenario(
        lambda: default_configs(30, "class"),
        (
            ("refusals", "<=", 0),
            ("framesPerSecond.min", ">=", 20),
            ("epochsPerSecond.min", ">=", 150),
            ("fairness", ">=", 0.8),
            ("lagMs.p99", "<=", 20),
        ),
    ),
    "class30Mixed": ClassScenario(
        lambda: [mixed_config(index) for index in range(30)],
        (
            ("refusals", "<=", 0),
            ("framesPerSecond.min", ">=", 10),
            ("epochsPerSecond.min", ">=", 48),
            ("lagMs.p99", "<=", 30),
        ),
    ),
    "class100": ClassScenario(
        lambda: default_configs(100, "class"),
        (("refusals", "<=", 0), ("framesPerSecond.min", ">=", 10), ("epochsPerSecond.min", ">=", 48)),
    ),
}
BASELINE_SETTINGS = {"max_group_size": 1}  # the server trains one network at a time: batching off


def drive_swarm(
    url: str, configs: list[dict], seconds: float, warmup: float, opened: Callable[[int], None], closed: Callable
) -> dict:
    """One swarm against `url`, a client per config; `opened(swarm_pid)` runs when its measuring window opens and
    `closed()` when it closes (the caller reads its servers' figures there). Returns the swarm's result."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node (Node.js 20) is not on PATH")
    command = [
        node,
        str(SWARM),
        "--url",
        url,
        "--configs",
        "-",
        "--warmup",
        str(warmup),
        "--seconds",
        str(seconds),
        "--connect-timeout",
        str(CONNECT_SECONDS),
    ]
    swarm = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    # The swarm ends by itself; the watchdog bounds the run all the same if the server stops answering.
    watchdog = threading.Timer(CONNECT_SECONDS + warmup + seconds + 60, swarm.kill)
    watchdog.start()
    result, window_closed = None, False
    try:
        assert swarm.stdin is not None and swarm.stdout is not None
        swarm.stdin.write(json.dumps(configs))
        swarm.stdin.close()
        for line in swarm.stdout:  # the swarm's phases, as they happen
            record = json.loads(line)
            if record["phase"] == "measure":
                opened(swarm.pid)
            elif record["phase"] == "measured":
                closed()
                window_closed = True
            elif record["phase"] == "result":
                result = record
        if swarm.wait() != 0 or result is None or not window_closed:
            raise RuntimeError(f"the swarm failed (exit status {swarm.returncode}; its stderr is above)")
        return result
    finally:
        watchdog.cancel()
        if swarm.poll() is None:
            swarm.kill()
            swarm.wait()


def run_swarm(configs: list[dict], seconds: float, warmup: float, **settings) -> dict:
    """A fresh server (`settings` as LiveServer takes them) and one swarm with a client per config. Returns the
    swarm's result and the server's /metrics and CPU over the swarm's measuring window."""
    settings = dict(
        measure_lag=1, max_training_sessions=max(CLASS_SESSIONS, len(configs)), **CLASS_ADDRESS_SETTINGS, **settings
    )
    server = LiveServer(**settings)
    window: dict = {"env": {key.upper(): str(value) for key, value in settings.items()}}

    def opened(swarm_pid: int) -> None:
        window["before"] = server.metrics(clear=True)
        window["meter"] = CpuMeter(server_pid(server), swarm_pid)

    def closed() -> None:
        window["cpu"] = window.pop("meter").read()
        window["after"] = server.metrics()

    try:
        window["result"] = drive_swarm(server.url, configs, seconds, warmup, opened, closed)
    except BaseException:
        close_log(server, failed=True)
        raise
    finally:
        server.stop()
    close_log(server, failed=False)
    return window


def spread(values: list[float]) -> dict:
    return {"min": min(values), "median": round(statistics.median(values), 2), "max": max(values)}


def class_figures(window: dict) -> dict:
    """Per-scenario figures from a swarm window: the spread over the clients and the server's side."""
    clients = window["result"]["clients"]
    frames = [client["framesPerSecond"] for client in clients]
    epochs = [client["epochsPerSecond"] or 0.0 for client in clients]
    # Each client's median bytes per map_update; the figure is the median of those over the class.
    wire = [c["mapUpdateBytes"]["median"] for c in clients if c["mapUpdateBytes"]["median"] is not None]
    decoded = [c["mapUpdateDecodedBytes"]["median"] for c in clients if c["mapUpdateDecodedBytes"]["median"]]
    return {
        "clients": len(clients),
        "connected": sum(client["connected"] for client in clients),
        "trainingOnServer": window["before"]["training"],
        "env": window["env"],
        "refusals": sum(client["refusalCount"] for client in clients),
        "refusalExamples": [refusal for client in clients for refusal in client["refusals"]][:3],
        "unexpectedDisconnects": sum(client["unexpectedDisconnects"] for client in clients),
        "notRunning": [client["index"] for client in clients if set(client["statuses"]) != {"running"}],
        "framesPerSecond": spread(frames),
        "epochsPerSecond": spread(epochs),
        "fairness": round(min(epochs) / max(epochs), 3) if max(epochs) > 0 else 0.0,
        "totalEpochsPerSecond": round(sum(epochs), 1),
        "lagMs": window["after"]["lagMs"],
        "mapUpdateBytesMedian": statistics.median(wire) if wire else None,
        "mapUpdateDecodedBytesMedian": statistics.median(decoded) if decoded else None,
        "bytesPerSecondPerClient": spread([client["bytesPerSecond"] or 0 for client in clients]),
        "cpuPercent": window["cpu"],
        "swarm": window["result"]["swarm"],
        "windowSeconds": window["result"]["windowSeconds"],
    }


def figure(figures: dict, path: str):
    """A figure by its dotted path, e.g. "lagMs.p99"."""
    for key in path.split("."):
        figures = figures[key]
    return figures


def ratio(ours, baseline):
    return round(ours / baseline, 2) if ours is not None and baseline else None


def class_scenario(name: str, seconds: float, warmup: float) -> dict:
    """Ours and the baseline, each on a fresh server, with the targets checked for both."""
    scenario = CLASS_SCENARIOS[name]
    configs = scenario.configs()
    sides = {}
    for side, settings in (("ours", {}), ("baseline", BASELINE_SETTINGS)):
        log(f"{name}: {len(configs)} clients, {side} ({warmup} s warm-up, {seconds} s)")
        figures = class_figures(run_swarm(configs, seconds, warmup, **settings))
        figures["targets"] = [
            check(f"{name}.{path}", figure(figures, path), op, limit) for path, op, limit in scenario.targets
        ]
        sides[side] = figures
        log(
            f"{name} {side}: frames/s {figures['framesPerSecond']}, epochs/s {figures['epochsPerSecond']}, "
            f"lag p99 {figures['lagMs']['p99']} ms, swarm CPU {figures['cpuPercent']['clients']}%"
        )
    ours, baseline = sides["ours"], sides["baseline"]
    sides["oursVsBaseline"] = {
        path: ratio(figure(ours, path), figure(baseline, path))
        for path in ("epochsPerSecond.min", "epochsPerSecond.median", "framesPerSecond.min", "totalEpochsPerSecond")
    }
    return sides


def frame_bytes(seconds: float, warmup: float) -> dict:
    """Bytes per map_update of the default network and of the largest, as the page's client receives them."""
    log(f"frameBytes: the default and the largest network ({warmup} s warm-up, {seconds} s)")
    window = run_swarm([{"seed": DEFAULT_SEED}, {"seed": DEFAULT_SEED, **LARGEST_CONFIG}], seconds, warmup)
    keep = ("layerSizes", "framesPerSecond", "mapUpdateBytes", "mapUpdateDecodedBytes", "bytesPerSecond")
    out: dict = {
        network: {key: client[key] for key in keep}
        for network, client in zip(("default", "largest"), window["result"]["clients"], strict=True)
    }
    out["note"] = (
        "mapUpdateBytes: WebSocket messages as received (frame headers and permessage-deflate "
        "payloads, as a browser negotiates it); mapUpdateDecodedBytes: the same Engine.IO packets "
        "decompressed; bytesPerSecond: all the client's TCP socket read. TCP/IP headers not counted"
    )
    return out


def close_log(server: LiveServer, failed: bool) -> None:
    """A failed run shows the server log's tail on stderr and keeps the file; a good run deletes it."""
    if failed:
        with open(server.log_path) as server_log:
            sys.stderr.write(f"--- server log {server.log_path} (tail) ---\n" + "".join(server_log.readlines()[-40:]))
    elif server.log_path.exists():
        os.unlink(server.log_path)


def inherited_settings() -> dict:
    """Server settings that come from this process's environment (the server inherits it), other than ours."""
    from dataclasses import fields

    from playground.web.settings import Settings

    ours = {"HOST", "PORT", "MEASURE_LAG", "MAX_TRAINING_SESSIONS", "SECRET_KEY"}
    names = (field.name.upper() for field in fields(Settings))
    return {name: os.environ[name] for name in names if name in os.environ and name not in ours}


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 for fewer than two points)."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0


def check(name: str, value, op: str, limit) -> dict:
    ok = value is not None and (value >= limit if op == ">=" else value <= limit)
    return {"name": name, "value": value, "target": f"{op} {limit}", "pass": ok}


# --- main -------------------------------------------------------------------------------------------------------

PYTHON_SCENARIOS = ("oneClient", "eightClients", "stall")  # one server, Python clients
SCENARIOS = (*PYTHON_SCENARIOS, *CLASS_SCENARIOS, "frameBytes")


def python_scenarios(run: Run, selected: list[str], durations: dict, result: dict) -> None:
    """The scenarios that share one server and use this process's Python clients, in order."""
    if "oneClient" in selected:
        log(f"engine baseline ({durations['engine']} s)")
        engine = engine_rate(durations["engine"])
        result["engine"] = {"before": engine}
        log(f"engine: {engine['epochsPerSecond']} epochs/s; starting the server")
    run.server = LiveServer(measure_lag=1, max_training_sessions=4 * BENCH_CLIENTS)
    result["server"] = {
        "url": run.server.url,
        "log": str(run.server.log_path),
        "env": {"MEASURE_LAG": "1", "MAX_TRAINING_SESSIONS": str(4 * BENCH_CLIENTS)},
        "inheritedSettings": inherited_settings(),
    }
    one = None
    if "oneClient" in selected:
        log(f"one client ({durations['oneClient']} s)")
        solo, one = run.one_client(durations["oneClient"], durations["warmup"])
        window = one.pop("window")
        result["oneClient"] = one
        result["bytes"] = run.bytes_per_frame(solo, window)
        log(f"one client: {one['framesPerSecond']} frames/s, {one['epochsPerSecond']} epochs/s")
        log(f"latency ({durations['latencySamples']} samples)")
        result["latency"] = run.latency(solo, durations["latencySamples"], random.Random(1))
        run.end_phase()
    if "eightClients" in selected:
        log(f"{BENCH_CLIENTS} clients ({durations['eightClients']} s)")
        result["eightClients"] = run.many_clients(
            BENCH_CLIENTS, durations["eightClients"], durations["warmup"], one["epochsPerSecond"] if one else None
        )
        run.end_phase()
    if "stall" in selected:
        log(
            f"stall: 2 clients alone ({durations['stallAlone']} s), then with a non-acking client "
            f"({durations['stall']} s)"
        )
        result["stall"] = run.stall(durations["stallAlone"], durations["stall"], durations["warmup"])
        run.end_phase()
    run.server.stop()
    close_log(run.server, failed=False)
    result["server"].pop("log")
    run.server = None
    if one is not None:
        # Again with the server gone: the machine may be busier or quieter than at the start (other work on it).
        log(f"engine again ({durations['engine']} s)")
        after = engine_rate(durations["engine"])
        reference = max(result["engine"]["before"]["epochsPerSecond"], after["epochsPerSecond"])
        result["engine"].update(after=after, referenceEpochsPerSecond=reference)
        one["engineRatio"] = round(one["epochsPerSecond"] / reference, 3)
        one["reportedEngineRatio"] = round(one["reportedEpochsPerSecondMedian"] / reference, 3)


def python_checks(result: dict) -> list[dict]:
    checks = []
    if "oneClient" in result:
        one = result["oneClient"]
        checks += [
            check("oneClient.engineRatio (epochs/s vs engine alone)", one["engineRatio"], ">=", 0.8),
            check("oneClient.framesPerSecond", one["framesPerSecond"], ">=", 28),
            check("latency.p95Ms (update_config to the frame showing it)", result["latency"]["p95Ms"], "<=", 100),
            check(
                "bytes.mapUpdateWireBytesMax (default network)",
                result["bytes"]["mapUpdateWireBytesMax"],
                "<=",
                MAX_FRAME_BYTES,
            ),
        ]
    if "eightClients" in result:
        many = result["eightClients"]
        checks += [
            check("eightClients.lagMs.p99", many["lagMs"]["p99"], "<=", 20),
            check("eightClients.minFramesPerSecond", many["minFramesPerSecond"], ">=", 15),
            check("eightClients.fairness (slowest/fastest epochs/s)", many["fairness"], ">=", 0.7),
        ]
        if many["totalVsAlone"] is not None:  # needs oneClient's rate
            checks.append(
                check("eightClients.totalVsAlone (total epochs/s vs one session)", many["totalVsAlone"], ">=", 0.75)
            )
    if "stall" in result:
        stall = result["stall"]
        checks += [
            check("stall.rss.growthMB", stall["rss"]["growthMB"], "<=", 5),
            check("stall.minFrameRateRatio (normal clients, stall vs alone)", stall["minFrameRateRatio"], ">=", 0.9),
        ]
    return checks


def busy_windows(result: dict) -> dict:
    """Each measuring window's CPU use, by name."""
    windows = {}
    if "oneClient" in result:
        windows["oneClient"] = result["oneClient"]["cpuPercent"]
    if "eightClients" in result:
        windows["eightClients"] = result["eightClients"]["cpuPercent"]
    if "stall" in result:
        windows["stall.alone"] = result["stall"]["alone"]["cpuPercent"]
        windows["stall.duringStall"] = result["stall"]["duringStall"]["cpuPercent"]
    for name in CLASS_SCENARIOS:
        for side in ("ours", "baseline"):
            if name in result:
                windows[f"{name}.{side}"] = result[name][side]["cpuPercent"]
    return windows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter windows (about 2 minutes for all)")
    parser.add_argument(
        "--scenario",
        action="append",
        choices=SCENARIOS,
        help="run only this scenario (repeat for several; default: all, in the order listed)",
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=None,
        help="how long the phase with a client that stops acknowledging lasts (default 60; 10 with --quick)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    selected = [name for name in SCENARIOS if name in (args.scenario or SCENARIOS)]
    durations = {
        "engine": 1.0 if quick else 3.0,
        "oneClient": 4.0 if quick else 10.0,
        "latencySamples": 30,
        "eightClients": 6.0 if quick else 15.0,
        "stallAlone": 4.0 if quick else 10.0,
        "stall": args.stall_seconds if args.stall_seconds is not None else (10.0 if quick else 60.0),
        "warmup": 1.0 if quick else 1.5,
        "class": 4.0 if quick else 10.0,
        "classWarmup": 2.0 if quick else 3.0,
        "frameBytes": 3.0 if quick else 5.0,
    }
    result: dict = {
        "benchmark": "bench/load.py",
        "command": " ".join(["python", "bench/load.py", *sys.argv[1:]]),
        "quick": quick,
        "scenarios": selected,
        "durations": durations,
        "cpuCount": os.cpu_count(),
        "loadAverageAtStart": os.getloadavg(),
    }
    run = Run()
    started = time.monotonic()
    try:
        if any(name in selected for name in PYTHON_SCENARIOS):
            python_scenarios(run, selected, durations, result)
        for name in CLASS_SCENARIOS:
            if name in selected:
                result[name] = class_scenario(name, durations["class"], durations["classWarmup"])
        if "frameBytes" in selected:
            result["frameBytes"] = frame_bytes(durations["frameBytes"], durations["classWarmup"])
    except Exception as failure:
        traceback.print_exc()
        result["failure"] = f"{type(failure).__name__}: {failure}"
    finally:
        run.disconnect_all()
        if run.server is not None:  # the shared server of the Python scenarios, if they failed
            run.server.stop()
            close_log(run.server, failed="failure" in result)
    result["loadAverageAtEnd"] = os.getloadavg()
    result["errorEvents"] = run.errors[:10]
    result["elapsedSeconds"] = round(time.monotonic() - started, 1)

    if "failure" not in result:
        result["targets"] = python_checks(result) + [
            target for name in CLASS_SCENARIOS if name in result for target in result[name]["ours"]["targets"]
        ]
        result["allPassed"] = all(t["pass"] for t in result["targets"])
        busy = {
            name: cpu["otherProcesses"]
            for name, cpu in busy_windows(result).items()
            if cpu["otherProcesses"] > BUSY_PERCENT
        }
        if busy:
            where = ", ".join(f"{name} ({percent}% of a core)" for name, percent in busy.items())
            result["warnings"] = [
                (
                    f"other processes used CPU during {where}: the server shared its cores, so rates "
                    "and latencies there are worse than the code allows; run again on a quiet machine"
                )
            ]
    print(json.dumps(result, indent=2))
    return 1 if "failure" in result else 0


if __name__ == "__main__":
    sys.exit(main())
