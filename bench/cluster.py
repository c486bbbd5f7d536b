"""Cluster benchmark: the same class on one app process and on two, behind HAProxy, on one Redis (README, "Scaling
out"). Real parts throughout: redis-server, `python app.py` processes in cluster mode (MESSAGE_QUEUE_URL),
HAProxy with deploy/haproxy.cfg, and the Node.js swarm of bench/swarm.mjs (the page's npm socket.io-client).

    PYTHONPATH=. .venv/bin/python bench/cluster.py                 # 60 clients, about 2 minutes
    PYTHONPATH=. .venv/bin/python bench/cluster.py --clients 30 --seconds 5 --warmup 2

Scenarios, one after the other in one run, each on fresh processes:
1. oneProcess    Redis, one app process, HAProxy; the class (default config, each client its own seed) through
                 HAProxy: total epochs/s and frames/s, each client's rates, CPU of every process.
2. twoProcesses  the same with two app processes (HAProxy splits the class between them).
   `speedUp` compares the totals (the issue asks for 1.5x: the clients, Redis and HAProxy share the two cores).
3. queueCost     two app processes, the class connected straight to the first: what the second process and Redis
                 spend on it (the queue's cost), per learner per second. No room traffic exists yet (the classroom's
                 wall is another branch's), so this is the cost of the idle cluster plumbing: the queue's listener,
                 the bus's reader, health checks.

Prints ONE JSON object on stdout (progress on stderr). The per-client targets are the capacity issue's class30 ones.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import traceback

from bench.load import (
    CLASS_ADDRESS_SETTINGS,
    CLASS_SESSIONS,
    cpu_seconds,
    default_configs,
    drive_swarm,
    machine_busy_seconds,
    ratio,
    spread,
)
from tests.live_server import LiveServer, free_port
from tests.services import HAProxy, RedisServer, cluster_settings

PER_CLIENT_TARGETS = {"framesPerSecond.min": 20, "epochsPerSecond.min": 150}  # bench/load.py's class30
SPEED_UP_TARGET = 1.5


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Cluster:
    """Redis, `processes` app processes in cluster mode and HAProxy in front, stopped together."""

    def __init__(self, processes: int, sessions: int):
        self.redis = RedisServer()
        front_port = free_port()
        self.apps = [
            LiveServer(
                **cluster_settings(self.redis.url, front_port),
                measure_lag=1,
                max_training_sessions=max(CLASS_SESSIONS, sessions),
                **CLASS_ADDRESS_SETTINGS,
            )
            for _ in range(processes)
        ]
        self.front = HAProxy([app.port for app in self.apps], front_port)

    def stop(self) -> None:
        self.front.stop()
        for app in self.apps:
            app.stop()
        self.redis.stop()

    def redis_bytes(self) -> tuple[int, int]:
        stats = self.redis.info("stats")
        return int(stats["total_net_input_bytes"]), int(stats["total_net_output_bytes"])


class Window:
    """What every process of a cluster (and the swarm, and the machine) spent between `open` and `close`."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.figures: dict = {}

    def _now(self, swarm_pid: int) -> dict:
        return {
            "at": time.monotonic(),
            "apps": [cpu_seconds(app.process.pid) for app in self.cluster.apps],
            "redis": cpu_seconds(self.cluster.redis.process.pid),
            "haproxy": cpu_seconds(self.cluster.front.process.pid),
            "swarm": cpu_seconds(swarm_pid),
            "machine": machine_busy_seconds(),
            "redisBytes": self.cluster.redis_bytes(),
        }

    def open(self, swarm_pid: int) -> None:
        self.swarm_pid = swarm_pid
        self.connections = [app.counts()["connections"] for app in self.cluster.apps]
        for app in self.cluster.apps:
            app.metrics(clear=True)
        self.began = self._now(swarm_pid)

    def close(self) -> None:
        now, began = self._now(self.swarm_pid), self.began
        seconds = now["at"] - began["at"]

        def percent(key: str) -> float:
            return round(100 * (now[key] - began[key]) / seconds, 1)

        self.figures = {
            "seconds": round(seconds, 2),
            "cpuPercent": {
                "apps": [round(100 * (b - a) / seconds, 1) for a, b in zip(began["apps"], now["apps"], strict=True)],
                "redis": percent("redis"),
                "haproxy": percent("haproxy"),
                "swarm": percent("swarm"),
                "machine": percent("machine"),
            },
            "redisBytesPerSecond": {
                direction: round((now["redisBytes"][index] - began["redisBytes"][index]) / seconds)
                for index, direction in enumerate(("in", "out"))
            },
            "lagMsP99": [app.metrics()["lagMs"]["p99"] for app in self.cluster.apps],
            "connections": self.connections,  # each process's, as the window opened
        }


def class_run(processes: int, configs: list[dict], seconds: float, warmup: float, straight_to_first: bool) -> dict:
    cluster = Cluster(processes, len(configs))
    try:
        window = Window(cluster)
        url = cluster.apps[0].url if straight_to_first else cluster.front.url
        result = drive_swarm(url, configs, seconds, warmup, window.open, window.close)
    finally:
        cluster.stop()
    clients = result["clients"]
    frames = [client["framesPerSecond"] for client in clients]
    epochs = [client["epochsPerSecond"] or 0.0 for client in clients]
    figures = {
        "processes": processes,
        "clients": len(clients),
        "connected": sum(client["connected"] for client in clients),
        "refusals": sum(client["refusalCount"] for client in clients),
        "totalEpochsPerSecond": round(sum(epochs), 1),
        "totalFramesPerSecond": round(sum(frames), 1),
        "framesPerSecond": spread(frames),
        "epochsPerSecond": spread(epochs),
        **window.figures,
    }
    figures["targets"] = {
        name: figures[name.split(".")[0]][name.split(".")[1]] >= limit for name, limit in PER_CLIENT_TARGETS.items()
    }
    return figures


def queue_cost(run: dict) -> dict:
    """The second process's CPU and Redis's traffic while the class trains on the first, per learner."""
    learners = run["connected"] or 1
    other = run["cpuPercent"]["apps"][1]
    return {
        "learners": learners,
        "otherProcessCpuPercent": other,
        "otherProcessCpuMsPerLearnerSecond": round(10 * other / learners, 3),  # % of a core = 10 ms per second
        "redisCpuPercent": run["cpuPercent"]["redis"],
        "redisBytesPerSecond": run["redisBytesPerSecond"],
        "redisBytesPerLearnerSecond": {
            direction: round(rate / learners, 1) for direction, rate in run["redisBytesPerSecond"].items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    arguments = parser.parse_args()
    configs = default_configs(arguments.clients, "cluster")
    out: dict = {"clients": arguments.clients, "seconds": arguments.seconds, "warmup": arguments.warmup}
    try:
        for name, processes, straight in (("oneProcess", 1, False), ("twoProcesses", 2, False), ("queueCost", 2, True)):
            log(f"{name}: {arguments.clients} clients on {processes} process(es)")
            out[name] = class_run(processes, configs, arguments.seconds, arguments.warmup, straight)
        one, two = out["oneProcess"], out["twoProcesses"]
        out["speedUp"] = {
            "epochs": ratio(two["totalEpochsPerSecond"], one["totalEpochsPerSecond"]),
            "frames": ratio(two["totalFramesPerSecond"], one["totalFramesPerSecond"]),
            "target": SPEED_UP_TARGET,
        }
        out["queueCost"] = {**out["queueCost"], "perLearner": queue_cost(out["queueCost"])}
    except Exception:
        out["failure"] = traceback.format_exc()
        print(json.dumps(out, indent=2))
        return 1
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
