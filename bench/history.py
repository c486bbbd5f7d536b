"""What time travel costs: training speed with checkpoints on and off in one run, memory per hour of training, and
the bytes of a saved experiment. Prints one JSON object.

    PYTHONPATH=. .venv/bin/python bench/history.py [--seconds 2] [--rounds 3]

- Speed: the same sessions trained for `seconds`, alternately with their history (losses after every epoch, a
  checkpoint when the policy wants one) and with a history that keeps nothing; the median of `rounds` each. Solo
  (`train_for`) and as one batched group of 32 (`train_group`, where a capture per member weighs most).
- Memory per hour: epochs an hour at the measured speed, the number of checkpoints the policy keeps after that many
  (playground/history.py, counted by running the policy), times the bytes one checkpoint holds (resident memory over
  many captures), plus the loss curve at its bound; for the default network and the largest (7 inputs, 6 layers of 8).
- Saved bytes: `saved.pack` of a session trained `--epochs` epochs (the default network and the largest), and with
  a fork.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import tracemalloc

import torch

from bench.engine import CASES
from playground import history, saved
from playground.network import Evaluation
from playground.session import TrainingSession, train_group

NETWORKS = {"default": CASES["a_default"], "largest": CASES["b_6x8_all_features"]}  # bench/engine.py's
GROUP_SIZE = 32
TURN_SECONDS = 0.02


class KeepsNothing:
    """A history that records nothing and never captures: training as it was before time travel."""

    def record(self, epoch, evaluation) -> None:
        pass

    @staticmethod
    def due(epoch) -> bool:
        return False


def running(config: dict, seed: str) -> TrainingSession:
    session = TrainingSession({**config, "seed": seed})
    session.start()
    return session


def rate(sessions: list[TrainingSession], seconds: float, keep: bool) -> float:
    """Total epochs per second of these sessions over `seconds` of TURN_SECONDS turns."""
    kept = [session.history for session in sessions]
    if not keep:
        for session in sessions:
            session.history = KeepsNothing()  # pyright: ignore[reportAttributeAccessIssue] (a bench stand-in)
    before = sum(session.epoch for session in sessions)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        if len(sessions) == 1:
            sessions[0].train_for(TURN_SECONDS)
        else:
            train_group(sessions, TURN_SECONDS, [None] * len(sessions))
    elapsed = time.perf_counter() - start
    for session, own in zip(sessions, kept, strict=True):
        session.history = own
    return (sum(session.epoch for session in sessions) - before) / elapsed


def speed(seconds: float, rounds: int) -> dict:
    cases = {
        "solo_default": [running(NETWORKS["default"], "0.59704")],
        f"group_{GROUP_SIZE}_default": [running(NETWORKS["default"], f"seed-{i}") for i in range(GROUP_SIZE)],
    }
    results = {}
    for name, sessions in cases.items():
        on, off = [], []
        for _ in range(rounds):
            on.append(rate(sessions, seconds, keep=True))
            off.append(rate(sessions, seconds, keep=False))
        results[name] = {
            "epochs_per_second_checkpoints_on": round(statistics.median(on), 1),
            "epochs_per_second_checkpoints_off": round(statistics.median(off), 1),
            "on_over_off": round(statistics.median(on) / statistics.median(off), 3),
        }
    return results


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def bytes_per_checkpoint(session: TrainingSession, count: int = 20_000) -> float:
    """Resident memory that `count` checkpoints of this session take, per checkpoint: the tensors' bytes and
    PyTorch's and Python's own overhead (tracemalloc would miss PyTorch's allocator)."""
    before = resident_bytes()
    kept = [session.checkpoint() for _ in range(count)]
    grown = resident_bytes() - before
    del kept
    return grown / count


def kept_after(epochs: int) -> int:
    """How many checkpoints the policy keeps after `epochs` epochs of one branch."""
    blank = torch.zeros(1)
    evaluation = Evaluation(0.0, 0.0, None, None)
    start = TrainingSession().checkpoint()

    def checkpoint(epoch: int) -> history.Checkpoint:
        return history.Checkpoint(epoch, blank, None, 0, 0, evaluation, {}, start.data)

    run = history.History(checkpoint(0))
    for epoch in range(history.CHECKPOINT_EVERY, epochs + 1, history.CHECKPOINT_EVERY):
        run.keep(checkpoint(epoch))
    run.current.prune(epochs)
    return len(run.checkpoints())


def loss_curve_bytes() -> int:
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    curve = history.LossCurve()
    for epoch in range(history.MAX_LOSS_POINTS - 1):
        curve.add(epoch, 0.1 + epoch * 1e-6, 0.2 + epoch * 1e-6)
    grown = sum(stat.size_diff for stat in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    return grown


def memory_per_hour(seconds: float) -> dict:
    results = {}
    curve = loss_curve_bytes()
    for name, config in NETWORKS.items():
        session = running(config, "0.59704")
        epochs_per_second = rate([session], seconds, keep=True)
        epochs_an_hour = int(epochs_per_second * 3600)
        count = kept_after(epochs_an_hour)
        per_checkpoint = bytes_per_checkpoint(session)
        results[name] = {
            "epochs_per_second": round(epochs_per_second, 1),
            "epochs_an_hour": epochs_an_hour,
            "checkpoints_kept_after_an_hour": count,
            "bytes_per_checkpoint": round(per_checkpoint),
            "loss_curve_bytes_at_its_bound": curve,
            "bytes_an_hour": round(count * per_checkpoint + curve),
        }
    return results


def saved_bytes(epochs: int) -> dict:
    results = {}
    for name, config in NETWORKS.items():
        session = running(config, "0.59704")
        session.train_for(3600.0, max_epochs=epochs)
        plain = len(saved.pack(session))
        # Fork at the kept checkpoint nearest the middle (further back they are sparser: history.py).
        middle = min(session.history.checkpoints(), key=lambda epoch: abs(epoch - session.epoch / 2))
        session.fork(middle, {"learningRate": 0.01})
        session.start()
        session.train_for(3600.0, max_epochs=epochs // 2)
        results[name] = {
            "epochs": epochs,
            "checkpoints": len(session.history.checkpoints()),
            "bytes": plain,
            "bytes_with_a_fork": len(saved.pack(session)),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="What time travel costs (see the module docstring).")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5000)
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = {
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "processor": platform.machine()},
        "policy": {
            "checkpoint_every": history.CHECKPOINT_EVERY,
            "slots": history.CHECKPOINT_SLOTS,
            "max_loss_points": history.MAX_LOSS_POINTS,
            "max_branches": history.MAX_BRANCHES,
        },
        "speed": speed(args.seconds, args.rounds),
        "memory_per_hour": memory_per_hour(args.seconds),
        "saved_experiment": saved_bytes(args.epochs),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
