"""Engine speed against plain PyTorch, side by side in one process on the same data. Prints one JSON object.

    .venv/bin/python bench/engine.py [--seconds 2] [--rounds 3]

Baseline: the obvious PyTorch training loop (nn.Sequential of float64 nn.Linear + activations, torch.optim.SGD,
autograd, one optimizer step per batch, then the train and test loss of the epoch), which is what one would write
without knowing where the time goes. Engine: playground.session.TrainingSession.train_for, which does TF
Playground's exact rule (and the same two losses per epoch). Both on one thread (torch.set_num_threads(1)), as the
server runs. Each figure is the median of `rounds` runs of `seconds`, the two alternating.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playground.network import ACTIVATIONS  # noqa: E402
from playground.session import TrainingSession  # noqa: E402

CASES = {
    "a_default": {"seed": "0.59704"},
    "b_6x8_all_features": {"seed": "0.59704", "networkShape": [8] * 6, "xSquared": True, "ySquared": True,
                           "xTimesY": True, "sinX": True, "sinY": True},
    "c_default_batch_1": {"seed": "0.59704", "batchSize": 1},
}
TARGETS = {"a_default": {"speedup": 4.0, "engine_epochs_per_second": 300}, "b_6x8_all_features": {"speedup": 3.0},
           "c_default_batch_1": {"speedup": 3.0}}
FRAME_TARGET_MS = 3.0


def engine_rate(session: TrainingSession, seconds: float) -> float:
    start, epochs = time.perf_counter(), session.epoch
    session.train_for(seconds)
    return (session.epoch - epochs) / (time.perf_counter() - start)


class Baseline:
    """Plain PyTorch on the session's own data and initial weights."""

    def __init__(self, session: TrainingSession):
        layers = []
        for block, name in zip(session.net.augmented, session.net.activation_names):
            linear = torch.nn.Linear(block.shape[1] - 1, block.shape[0], dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(block[:, :-1])
                linear.bias.copy_(block[:, -1])
            layers += [linear, ACTIVATIONS[name]()]
        self.model = torch.nn.Sequential(*layers)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=session.config["learningRate"])
        data = session.data
        self.train_x = session.inputs_for(data.train_points)
        self.train_y = torch.as_tensor(data.train_labels).view(-1, 1)
        self.test_x = session.inputs_for(data.test_points)
        self.test_y = torch.as_tensor(data.test_labels).view(-1, 1)
        self.batch = session.config["batchSize"]

    def epoch(self) -> None:
        for start in range(0, len(self.train_x), self.batch):
            self.optimizer.zero_grad()
            prediction = self.model(self.train_x[start:start + self.batch])
            loss = 0.5 * ((prediction - self.train_y[start:start + self.batch]) ** 2).mean()
            loss.backward()
            self.optimizer.step()
        with torch.no_grad():
            (0.5 * ((self.model(self.train_x) - self.train_y) ** 2).mean()).item()
            (0.5 * ((self.model(self.test_x) - self.test_y) ** 2).mean()).item()

    def rate(self, seconds: float) -> float:
        start, epochs = time.perf_counter(), 0
        while time.perf_counter() - start < seconds:
            self.epoch()
            epochs += 1
        return epochs / (time.perf_counter() - start)


def frame_ms(session: TrainingSession, repeats: int = 300) -> float:
    session.frame()
    start = time.perf_counter()
    for _ in range(repeats):
        session.frame()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = {"machine": {"python": platform.python_version(), "torch": torch.__version__, "cpus": os.cpu_count(),
                          "threads": torch.get_num_threads()},
              "seconds_per_run": args.seconds, "rounds": args.rounds, "cases": {}}
    ok = True
    for name, config in CASES.items():
        session = TrainingSession(config)
        baseline = Baseline(session)
        engine, plain = [], []
        for _ in range(args.rounds):
            engine.append(engine_rate(session, args.seconds))
            plain.append(baseline.rate(args.seconds))
        result = {"engine_epochs_per_second": round(statistics.median(engine), 1),
                  "baseline_epochs_per_second": round(statistics.median(plain), 1)}
        result["speedup"] = round(result["engine_epochs_per_second"] / result["baseline_epochs_per_second"], 2)
        result["targets"] = TARGETS[name]
        result["meets_targets"] = all(result[key] >= value for key, value in TARGETS[name].items())
        ok &= result["meets_targets"]
        report["cases"][name] = result
    largest = TrainingSession(CASES["b_6x8_all_features"])
    report["frame_ms"] = {"default": round(frame_ms(TrainingSession(CASES["a_default"])), 3),
                          "largest_7_inputs_6x8": round(frame_ms(largest), 3), "target_largest": FRAME_TARGET_MS}
    report["frame_ms"]["meets_target"] = report["frame_ms"]["largest_7_inputs_6x8"] < FRAME_TARGET_MS
    report["all_targets_met"] = bool(ok and report["frame_ms"]["meets_target"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
