"""Where the first heavy attack's memory stays (docs/reliability.md): variants of bench/abuse.py's `heavyClients`,
each on a fresh server with a normal client training, each run twice. One JSON object.

    .venv/bin/python bench/high_water.py                      # every variant, about 4 minutes
    .venv/bin/python bench/high_water.py --only bare,full

For each variant: the server's memory 5 s after the first run and 5 s after the same again, against before it. What
the first run leaves and the second does not add is a high-water mark of the heaps, not a leak. Allocator settings
are environment variables of the server, which inherits this script's: `MALLOC_ARENA_MAX=2 .venv/bin/python
bench/high_water.py --only full` (docs/reliability.md lists those tried).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

from bench.abuse import AFTER_SECONDS, HEAVY, MB, close_quietly, heavy_clients, session
from bench.load import BenchClient, log
from tests.live_server import LiveServer

LIGHT = '42["update_config",{"learningRate":0.03}]'


def connections(server: LiveServer, count: int, events: int, hold: float = 0.0) -> None:
    """`count` connections, each sending `events` heavy events at 60 a second, held `hold` seconds more."""
    sockets = [session(server) for _ in range(count)]
    for _ in range(events):
        for ws in sockets:
            ws.send(HEAVY)
        time.sleep(1 / 60)
    time.sleep(hold)
    for ws in sockets:
        close_quietly(ws)


VARIANTS: dict[str, tuple[str, Callable[[LiveServer], object]]] = {
    "bare": ("20 connections, nothing sent", lambda server: connections(server, 20, 0)),
    "held": ("20 connections held 3 s", lambda server: connections(server, 20, 0, hold=3.0)),
    "tenEach": ("20 connections, 10 heavy events each", lambda server: connections(server, 20, 10, hold=1.0)),
    "oneClient": ("1 connection, 180 heavy events", lambda server: connections(server, 1, 180)),
    "fiveClients": ("5 clients, the full attack", lambda server: heavy_clients(server, count=5)),
    "oneSecond": ("20 clients for 1 s instead of 3", lambda server: heavy_clients(server, seconds=1.0)),
    "light": ("20 clients of light events", lambda server: heavy_clients(server, event=LIGHT)),
    "full": ("the full attack", heavy_clients),
}


def measure(attack: Callable[[LiveServer], object]) -> dict:
    server = LiveServer(max_training_sessions=30)
    normal = BenchClient("normal")
    try:
        normal.connect(server.url, transports=["websocket"], wait_timeout=10)
        normal.call("start_training", timeout=10)
        time.sleep(4.0)
        rss = [server.metrics()["rssBytes"]]
        for _ in range(2):
            attack(server)
            time.sleep(AFTER_SECONDS)
            rss.append(server.metrics()["rssBytes"])
    finally:
        if normal.connected:
            normal.disconnect()
        server.stop()
    return {"firstMB": round((rss[1] - rss[0]) / MB, 1), "againMB": round((rss[2] - rss[1]) / MB, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated variants: " + ", ".join(VARIANTS))
    names = [name for name in parser.parse_args().only.split(",") if name] or list(VARIANTS)
    report = {}
    for name in names:
        title, attack = VARIANTS[name]
        log(f"variant {name}: {title}")
        report[name] = {"attack": title, **measure(attack)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
