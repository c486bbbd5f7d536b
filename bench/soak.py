"""Soak and churn: what a whole class does to one server, bounded in count and time, loopback only. One JSON object.

    .venv/bin/python bench/soak.py            # the full runs (about 6 minutes)
    .venv/bin/python bench/soak.py --quick    # the same scenarios scaled down (about 1 minute)

Scenarios (docs/reliability.md has the figures):
1. churn: N cycles of connect, start, train one second, disconnect without stopping (10 at a time). Afterwards no
   session is left and the server's memory grew by at most 20 MB (from after 20 warm-up cycles to after the run,
   each time once Engine.IO's ping tasks of the closed connections have let go of them: 30 s).
2. the cap plus five: as many training clients as MAX_TRAINING_SESSIONS, plus five more. The five are told busy at
   once; the rest keep at least 10 frames/s each; event-loop lag p99 at most 50 ms.
3. stalled clients: two normal clients alone, then beside ten clients that never acknowledge a frame. Memory stays
   flat and the normal clients' frames/s and epochs/s stay within 10% of their run alone.
4. a restart mid-training: three clients training, the server killed and started again on the same port; every
   client reconnects by itself and restores its config (as the page does).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from bench.load import BenchClient, CpuMeter, check, log, server_pid, slope
from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[1]

MB = 1024 * 1024


def threads_of(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Threads:"))


def connect(server: LiveServer, name: str, reconnection: bool = False) -> BenchClient:
    client = BenchClient(name, reconnection=reconnection)
    client.connect(server.url, transports=["websocket"], wait_timeout=10)
    return client


def churn(cycles: int, workers: int, warmup_cycles: int = 20, settle_seconds: float = 30.0) -> dict:
    server = LiveServer(max_training_sessions=workers + 2)
    try:

        def cycle(index: int) -> None:
            client = connect(server, f"churn-{index}")
            client.request("start_training")
            time.sleep(1.0)
            client.disconnect()  # without stopping

        def run(count: int, first: int) -> None:
            pending = iter(range(first, first + count))
            lock = threading.Lock()

            def worker():
                while True:
                    with lock:
                        index = next(pending, None)
                    if index is None:
                        return
                    cycle(index)

            threads = [threading.Thread(target=worker) for _ in range(workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

        run(warmup_cycles, 0)
        server.wait_connections(0)
        time.sleep(settle_seconds)
        before = server.metrics()
        threads_before = threads_of(server_pid(server))
        started = time.monotonic()
        run(cycles, warmup_cycles)
        seconds = time.monotonic() - started
        deadline = time.monotonic() + 2
        while server.counts() != {"connections": 0, "training": 0} and time.monotonic() < deadline:
            time.sleep(0.05)
        after = server.metrics()
        # Engine.IO lets each closed connection's ping task sleep out its interval (25 s) before it lets go of the
        # socket: memory is what is left once those have woken.
        time.sleep(settle_seconds)
        settled = server.metrics()
        return {
            "cycles": cycles,
            "workers": workers,
            "seconds": round(seconds, 1),
            "left": {"connections": after["connections"], "training": after["training"]},
            "threads": {"before": threads_before, "after": threads_of(server_pid(server))},
            "rssMB": {
                "before": round(before["rssBytes"] / MB, 1),
                "after": round(after["rssBytes"] / MB, 1),
                "settled": round(settled["rssBytes"] / MB, 1),
                "growth": round((settled["rssBytes"] - before["rssBytes"]) / MB, 1),
            },
        }
    finally:
        server.stop()


def over_the_cap(extra: int, seconds: float) -> dict:
    server = LiveServer(measure_lag=1)
    cap = 8  # the default MAX_TRAINING_SESSIONS
    clients = []
    try:
        clients = [connect(server, f"cap-{i}") for i in range(cap + extra)]
        for client in clients[:cap]:
            client.request("start_training")
        busy_ms, refused = [], 0
        for client in clients[cap:]:
            sent = time.monotonic()
            reply = client.call("start_training", timeout=10)
            if not isinstance(reply, dict):
                raise RuntimeError(f"{client.name}: start_training replied {reply!r}, not an object")
            busy_ms.append(round((time.monotonic() - sent) * 1000, 1))
            refused += reply.get("ok") is False and reply["error"]["field"] == "session"
        time.sleep(1.5)
        server.metrics(clear=True)
        cpu = CpuMeter(server_pid(server))
        start = time.monotonic()
        time.sleep(seconds)
        end = time.monotonic()
        frames = [client.window(start, end)["framesPerSecond"] for client in clients[:cap]]
        return {
            "cap": cap,
            "extra": extra,
            "busyReplies": refused,
            "busyReplyMs": busy_ms,
            "framesPerSecond": frames,
            "minFramesPerSecond": min(frames),
            "lagMs": server.metrics()["lagMs"],
            "cpuPercent": cpu.read(),
        }
    finally:
        for client in clients:
            client.disconnect()
        server.stop()


def stalled(silent_count: int, alone_seconds: float, stall_seconds: float) -> dict:
    server = LiveServer(measure_lag=1, max_training_sessions=silent_count + 4)
    clients = []
    try:
        normal = [connect(server, f"normal-{i}") for i in range(2)]
        clients += normal
        for client in normal:
            client.request("start_training")
        time.sleep(1.5)
        start = time.monotonic()
        time.sleep(alone_seconds)
        alone = [client.window(start, time.monotonic()) for client in normal]
        silent = [connect(server, f"silent-{i}") for i in range(silent_count)]
        clients += silent
        for client in silent:
            client.acking = False
            client.request("start_training")
        time.sleep(2.0)  # they stall after their first frame
        rss, times = [], []
        cpu = CpuMeter(server_pid(server))
        start = time.monotonic()
        while time.monotonic() - start < stall_seconds:
            rss.append(server.metrics()["rssBytes"] / MB)
            times.append(time.monotonic() - start)
            time.sleep(1.0)
        during = [client.window(start, time.monotonic()) for client in normal]
        ratio = [
            round(d[key] / a[key], 3)
            for a, d in zip(alone, during, strict=True)
            for key in ("framesPerSecond", "epochsPerSecond")
        ]
        return {
            "silentClients": silent_count,
            "alone": alone,
            "duringStall": during,
            "ratios": ratio,
            "minRatio": min(ratio),
            "silentFramesReceived": [len(client.frames) for client in silent],
            "rssMB": {
                "first": round(rss[0], 1),
                "last": round(rss[-1], 1),
                "max": round(max(rss), 1),
                "growth": round(rss[-1] - rss[0], 2),
                "slopePerMinute": round(slope(times, rss) * 60, 2),
            },
            "cpuPercent": cpu.read(),
        }
    finally:
        for client in clients:
            client.disconnect()
        server.stop()


def restart(count: int) -> dict:
    server = LiveServer()
    clients, configs, restored = [], [], []
    try:
        for index in range(count):
            config = {"networkShape": [index + 1, 2], "seed": f"soak{index}", "activation": "relu"}
            client = BenchClient(f"restart-{index}", reconnection=True)

            def restore(client=client, config=config):  # what the page does on every connect
                threading.Thread(
                    target=lambda: restored.append(
                        (client.name, time.monotonic(), client.call("update_config", config, timeout=10))
                    )
                ).start()

            client.on("connect", restore)
            client.connect(server.url, transports=["websocket"], wait_timeout=10)
            clients.append(client)
            configs.append(config)
        deadline = time.monotonic() + 10
        while len(restored) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        for client in clients:
            client.request("start_training")
        time.sleep(1.0)
        killed = time.monotonic()
        server.restart()
        deadline = time.monotonic() + 30
        while len(restored) < 2 * count and time.monotonic() < deadline:
            time.sleep(0.05)
        again = restored[count:]
        for client in clients:
            client.request("start_training")
        time.sleep(1.0)
        frames_after = [client.frames[-1][6] if client.frames else None for client in clients]
        expected = [[2, *config["networkShape"], 1] for config in configs]
        return {
            "clients": count,
            "reconnected": len(again),
            "restoredConfigs": sum(reply.get("ok") is True for _, _, reply in again),
            "framesShowTheRestoredNetwork": frames_after == expected,
            "secondsToRestore": sorted(round(at - killed, 2) for _, at, _ in again),
        }
    finally:
        for client in clients:
            client.disconnect()
        server.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the same scenarios scaled down (about a minute)")
    quick = parser.parse_args(argv).quick
    plan = {
        "churnCycles": 60 if quick else 500,
        "settleSeconds": 30,
        "capSeconds": 5 if quick else 20,
        "stallAloneSeconds": 5 if quick else 20,
        "stallSeconds": 15 if quick else 120,
    }
    result: dict = {
        "benchmark": "bench/soak.py",
        "quick": quick,
        "plan": plan,
        "cpuCount": os.cpu_count(),
        "loadAverageAtStart": os.getloadavg(),
    }
    started = time.monotonic()
    log(f"churn: {plan['churnCycles']} cycles")
    result["churn"] = churn(plan["churnCycles"], workers=10, settle_seconds=plan["settleSeconds"])
    log("over the cap")
    result["overTheCap"] = over_the_cap(5, plan["capSeconds"])
    log("stalled clients")
    result["stalled"] = stalled(10, plan["stallAloneSeconds"], plan["stallSeconds"])
    log("restart")
    result["restart"] = restart(3)
    churned, cap, stall, back = result["churn"], result["overTheCap"], result["stalled"], result["restart"]
    result["targets"] = [
        check("churn: sessions left", churned["left"]["connections"] + churned["left"]["training"], "<=", 0),
        check("churn: memory growth MB", churned["rssMB"]["growth"], "<=", 20),
        check("over the cap: busy replies", cap["busyReplies"], ">=", cap["extra"]),
        check("over the cap: slowest busy reply ms", max(cap["busyReplyMs"]), "<=", 500),
        check("over the cap: min frames/s", cap["minFramesPerSecond"], ">=", 10),
        check("over the cap: lag p99 ms", cap["lagMs"]["p99"], "<=", 50),
        check("stalled: memory growth MB", stall["rssMB"]["growth"], "<=", 5),
        check("stalled: min ratio of normal clients' rates to alone", stall["minRatio"], ">=", 0.9),
        check("restart: clients restored", back["restoredConfigs"], ">=", back["clients"]),
    ]
    result["allPassed"] = all(target["pass"] for target in result["targets"])
    result["elapsedSeconds"] = round(time.monotonic() - started, 1)
    result["medianBusyReplyMs"] = statistics.median(cap["busyReplyMs"])
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
