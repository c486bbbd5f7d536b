"""Many-seed runs: K runs of one config as one batched group against the same K runs one after another, side by
side in one process. Prints one JSON object.

    PYTHONPATH=. .venv/bin/python bench/seeds.py [--runs 20] [--seconds 3] [--rounds 3]
    PYTHONPATH=. .venv/bin/python bench/seeds.py --screenshot docs/screenshot-seeds.png

Group: `playground.seeds.SeedRun` (K sessions differing only in their seed, trained with `train_group`) in turns of
TURN_SECONDS, as the server's seed loop trains it, for `seconds`. One after another: the same K runs (fresh
sessions from the same seeds) each trained alone with `train_for` in the same turns, `seconds / K` each. Both count
every member's epochs with their evaluation; the figure is total epochs per second of all K, the median of
`rounds` alternating runs, for the same data and for K redrawn datasets. Also the cost of one `seed_update` (the
summary and K small maps rendered in one batched pass) and its size. One thread (torch.set_num_threads(1)), as the
server runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

from playground.seeds import SeedRun
from playground.session import TrainingSession
from playground.web import messages

TURN_SECONDS = 0.02
CONFIG = {"seed": "0.59704"}  # the default config: circle, x and y, 4-2, tanh, batch 10
SPEED_UP_TARGET = 5.0  # "far less than K separate sessions"


def fresh_run(runs: int, data: str) -> SeedRun:
    run = SeedRun(TrainingSession(CONFIG), runs, data)
    run.start()
    return run


def grouped_rate(runs: int, data: str, seconds: float) -> float:
    run = fresh_run(runs, data)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        run.train(TURN_SECONDS)
    return sum(member.epoch for member in run.members) / (time.perf_counter() - start)


def one_after_another_rate(runs: int, data: str, seconds: float) -> float:
    members = fresh_run(runs, data).members
    start = time.perf_counter()
    for member in members:
        until = time.perf_counter() + seconds / runs
        while time.perf_counter() < until:
            member.train_for(TURN_SECONDS)
    return sum(member.epoch for member in members) / (time.perf_counter() - start)


def update_cost(runs: int) -> dict:
    run = fresh_run(runs, "same")
    run.train(0.2)
    messages.seed_update(run)  # the render buffers, once
    times, sizes = [], []
    for _ in range(20):
        started = time.perf_counter()
        update = messages.seed_update(run)
        times.append(time.perf_counter() - started)
        sizes.append(len(update["maps"]) + len(json.dumps({k: v for k, v in update.items() if k != "maps"})))
        run.train(TURN_SECONDS)
    return {"ms": round(statistics.median(times) * 1000, 2), "bytes": int(statistics.median(sizes))}


def measure(runs: int, seconds: float, rounds: int) -> dict:
    result = {}
    for data in ("same", "redrawn"):
        grouped, alone = [], []
        for _ in range(rounds):
            grouped.append(grouped_rate(runs, data, seconds))
            alone.append(one_after_another_rate(runs, data, seconds))
        group_rate, alone_rate = statistics.median(grouped), statistics.median(alone)
        result[data] = {
            "group_epochs_per_second": round(group_rate),
            "one_after_another_epochs_per_second": round(alone_rate),
            "speed_up": round(group_rate / alone_rate, 2),
            "met": group_rate / alone_rate >= SPEED_UP_TARGET,
        }
    return result


def screenshot(path: Path) -> None:
    """The page after "Run with 20 seeds" on the circle with a stop rule, at 1280×900."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from playwright.sync_api import sync_playwright

    from tests.chromium import launch
    from tests.live_server import LiveServer

    server = LiveServer()
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(server.url + "/#dataset=circle&seed=0.31415&noise=25&learningRate=0.03&stopBelowTestLoss=0.12")
            page.wait_for_function("() => (window.__playgroundStats || {}).configs > 0", timeout=30000)
            page.click("#run-seeds")
            page.wait_for_function(
                "() => /reached the stop rule .* after/.test(document.querySelector('.seed-line').textContent)",
                timeout=60000,
            )
            page.wait_for_timeout(1500)
            page.mouse.move(1, 1)
            page.screenshot(path=str(path))
            browser.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, help="save the page's many-seed view instead of measuring")
    args = parser.parse_args()
    if args.screenshot:
        screenshot(args.screenshot)
        return
    torch.set_num_threads(1)
    print(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__},
                "runs": args.runs,
                "seconds": args.seconds,
                "rounds": args.rounds,
                "target_speed_up": SPEED_UP_TARGET,
                "data": measure(args.runs, args.seconds, args.rounds),
                "seed_update": update_cost(args.runs),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
