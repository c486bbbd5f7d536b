"""Engine speed against plain PyTorch, and many sessions batched against one after another, side by side in one
process. Prints one JSON object.

    .venv/bin/python bench/engine.py [--seconds 2] [--rounds 3] [--groups 1,8,32,100]

Baseline: the obvious PyTorch training loop (nn.Sequential of float64 nn.Linear + activations, torch.optim.SGD,
autograd, one optimizer step per batch, then the train and test loss of the epoch), which is what one would write
without knowing where the time goes. Engine: playground.session.TrainingSession.train_for, which does TF
Playground's exact rule (and the same two losses per epoch). Both on one thread (torch.set_num_threads(1)), as the
server runs. Each figure is the median of `rounds` runs of `seconds`, the two alternating.

Groups: N default-config sessions (each its own seed: own data and weights) trained for `seconds` in scheduler-like
turns of TURN_SECONDS, either all together with `train_group` (one batched computation per turn) or one after
another (`train_for`, a group of one each), with each epoch's evaluation; total epochs per second of all N. Also
what stacking the group and writing it back costs per turn, and the batched frame render cost per member against
one session at a time. `tanh_kernels`: torch's tanh against numpy's on the tensor sizes the engine meets.
`envelopes`: networks of different shapes trained as one group (`network.Envelope`): measured step times against
the cost model that plans the groups, and 30 different configs planned, in one envelope per kind, and one by one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy
import torch

from bench.load import mixed_config  # the class bench's spread of 30 configs
from playground.network import ACTIVATIONS, TrainerGroup, plan_groups, step_cost
from playground.session import RUNNING, TrainingSession, render_frames, train_group

CASES = {
    "a_default": {"seed": "0.59704"},
    "b_6x8_all_features": {
        "seed": "0.59704",
        "networkShape": [8] * 6,
        "xSquared": True,
        "ySquared": True,
        "xTimesY": True,
        "sinX": True,
        "sinY": True,
    },
    "c_default_batch_1": {"seed": "0.59704", "batchSize": 1},
}
TARGETS = {
    "a_default": {"speedup": 4.0, "engine_epochs_per_second": 300},
    "b_6x8_all_features": {"speedup": 3.0},
    "c_default_batch_1": {"speedup": 3.0},
}
FRAME_TARGET_MS = 3.0
TURN_SECONDS = 0.02
GROUP_TARGETS = {8: 5.0, 32: 10.0}  # batched / one after another, total epochs per second


def engine_rate(session: TrainingSession, seconds: float) -> float:
    start, epochs = time.perf_counter(), session.epoch
    session.train_for(seconds)
    return (session.epoch - epochs) / (time.perf_counter() - start)


class Baseline:
    """Plain PyTorch on the session's own data and initial weights."""

    def __init__(self, session: TrainingSession):
        layers = []
        for block, name in zip(session.net.augmented, session.net.activation_names, strict=True):
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
            prediction = self.model(self.train_x[start : start + self.batch])
            loss = 0.5 * ((prediction - self.train_y[start : start + self.batch]) ** 2).mean()
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


def running_sessions(count: int) -> list[TrainingSession]:
    sessions = [TrainingSession({"seed": f"bench{index}"}) for index in range(count)]
    for session in sessions:
        session.status = RUNNING
    return sessions


def batched_rate(sessions: list[TrainingSession], seconds: float) -> float:
    start, epochs = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        epochs += sum(train_group(sessions, TURN_SECONDS, [None] * len(sessions)))
    return epochs / (time.perf_counter() - start)


def sequential_rate(sessions: list[TrainingSession], seconds: float) -> float:
    start, epochs = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        for session in sessions:
            epochs += session.train_for(TURN_SECONDS / len(sessions))
    return epochs / (time.perf_counter() - start)


def stack_ms(sessions: list[TrainingSession], repeats: int = 20) -> float:
    """Stacking a group's state and data and writing it back: what a turn pays besides its epochs."""
    start = time.perf_counter()
    for _ in range(repeats):
        group = TrainerGroup([session.trainer for session in sessions])
        group._stack_data()
        group.write_back()
    return (time.perf_counter() - start) / repeats * 1000


def frames_ms_per_member(sessions: list[TrainingSession], batched: bool, repeats: int = 5) -> float:
    focuses = [None] * len(sessions)
    start = time.perf_counter()
    for _ in range(repeats):
        if batched:
            render_frames(sessions, focuses)
        else:
            for session in sessions:
                session.frame()
    return (time.perf_counter() - start) / repeats / len(sessions) * 1000


def kernel_report(seconds: float = 0.2) -> dict:
    """tanh in torch against numpy on the same tensors (the engine uses numpy's at every size: one implementation
    keeps a member exact to its solo run): one member's batch, 30 members' batch, 30 members' evaluation set, and 30
    members' hidden layer over a frame's grid."""
    report = {}
    for name, shape, dtype in (
        ("batch_1_member", (1, 4, 10), torch.float64),
        ("batch_30_members", (30, 4, 10), torch.float64),
        ("evaluation_30_members", (30, 4, 500), torch.float64),
        ("frame_grid_30_members", (30, 4, 10_000), torch.float32),
    ):
        values = torch.randn(*shape, dtype=dtype)
        out = torch.empty_like(values)
        kernels = {
            "torch": lambda values=values, out=out: torch.tanh(values, out=out),
            "numpy": lambda values=values, out=out: numpy.tanh(values.numpy(), out=out.numpy()),
        }
        result: dict = {"elements": values.numel()}
        for kernel, run in kernels.items():
            calls, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                run()
                calls += 1
            result[f"{kernel}_us"] = round((time.perf_counter() - started) / calls * 1e6, 2)
        report[name] = result
    return report


def envelope_report(seconds: float) -> dict:
    """Networks of different shapes in one envelope: the µs of a batch step measured against `step_cost`'s estimate
    for the groups the cost model is fitted on; then the bench's 30 different configs (bench/load.py `mixed_config`)
    trained as `plan_groups` splits them, as one envelope per kind, and one after another: ms per round of one
    epoch each."""
    largest = CASES["b_6x8_all_features"]
    cases = {
        "default_1": [{}],
        "default_30": [{}] * 30,
        "largest_1": [largest],
        "largest_30": [largest] * 30,
        "default_29_largest_1": [{}] * 29 + [largest],
    }
    report: dict = {}
    for name, configs in cases.items():
        sessions = [TrainingSession({**config, "seed": f"envelope{i}"}) for i, config in enumerate(configs)]
        group = TrainerGroup([session.trainer for session in sessions])
        group.set_rates([0.03] * len(sessions), [0.0] * len(sessions), [0.9] * len(sessions))
        group.train_epoch()
        epochs, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            group.train_epoch()
            epochs += 1
        steps = epochs * -(-group.kind.train_count // group.kind.batch_size)
        shapes = [session.trainer.shape for session in sessions]
        report[name] = {
            "measured_step_us": round((time.perf_counter() - started) / steps * 1e6, 1),
            "estimated_step_us": round(step_cost([(shape, shapes.count(shape)) for shape in set(shapes)]), 1),
            "planned_groups": [len(group) for group in plan_groups(shapes)],
        }
    sessions = [TrainingSession(mixed_config(index)) for index in range(30)]
    for session in sessions:
        session.status = RUNNING
    by_kind: dict = {}
    for session in sessions:
        by_kind.setdefault(session.signature, []).append(session)
    splits = {
        "planned": [
            [same[i] for i in group]
            for same in by_kind.values()
            for group in plan_groups([s.trainer.shape for s in same])
        ],
        "one_envelope_per_kind": list(by_kind.values()),
        "one_after_another": [[session] for session in sessions],
    }
    mixed: dict = {}
    for name, groups in splits.items():
        rounds, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            for group in groups:
                train_group(group, 0.0, [1] * len(group))
            rounds += 1
        mixed[name] = {"groups": len(groups), "round_ms": round((time.perf_counter() - started) / rounds * 1e3, 1)}
    mixed["planned_speedup"] = round(mixed["one_after_another"]["round_ms"] / mixed["planned"]["round_ms"], 2)
    report["mixed_30"] = mixed
    return report


def group_report(sizes: list[int], seconds: float, rounds: int) -> dict:
    report = {}
    for count in sizes:
        sessions = running_sessions(count)
        batched, sequential = [], []
        for _ in range(rounds):
            batched.append(batched_rate(sessions, seconds))
            sequential.append(sequential_rate(sessions, seconds))
        result = {
            "batched_epochs_per_second": round(statistics.median(batched), 1),
            "sequential_epochs_per_second": round(statistics.median(sequential), 1),
        }
        result["ratio"] = round(result["batched_epochs_per_second"] / result["sequential_epochs_per_second"], 2)
        result["stack_and_write_back_ms_per_turn"] = round(stack_ms(sessions), 3)
        result["frame_ms_per_member"] = {
            "batched": round(frames_ms_per_member(sessions, True), 3),
            "one_at_a_time": round(frames_ms_per_member(sessions, False), 3),
        }
        if count in GROUP_TARGETS:
            result["target_ratio"] = GROUP_TARGETS[count]
            result["meets_target"] = result["ratio"] >= GROUP_TARGETS[count]
        report[str(count)] = result
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--groups", default="1,8,32,100", help="group sizes, comma separated")
    args = parser.parse_args()
    torch.set_num_threads(1)
    report = {
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            "threads": torch.get_num_threads(),
        },
        "seconds_per_run": args.seconds,
        "rounds": args.rounds,
        "cases": {},
    }
    ok = True
    for name, config in CASES.items():
        session = TrainingSession(config)
        baseline = Baseline(session)
        engine, plain = [], []
        for _ in range(args.rounds):
            engine.append(engine_rate(session, args.seconds))
            plain.append(baseline.rate(args.seconds))
        result = {
            "engine_epochs_per_second": round(statistics.median(engine), 1),
            "baseline_epochs_per_second": round(statistics.median(plain), 1),
        }
        result["speedup"] = round(result["engine_epochs_per_second"] / result["baseline_epochs_per_second"], 2)
        result["targets"] = TARGETS[name]
        result["meets_targets"] = all(result[key] >= value for key, value in TARGETS[name].items())
        ok &= result["meets_targets"]
        report["cases"][name] = result
    largest = TrainingSession(CASES["b_6x8_all_features"])
    report["frame_ms"] = {
        "default": round(frame_ms(TrainingSession(CASES["a_default"])), 3),
        "largest_7_inputs_6x8": round(frame_ms(largest), 3),
        "target_largest": FRAME_TARGET_MS,
    }
    report["frame_ms"]["meets_target"] = report["frame_ms"]["largest_7_inputs_6x8"] < FRAME_TARGET_MS
    report["tanh_kernels"] = kernel_report()
    report["envelopes"] = envelope_report(args.seconds)
    report["turn_seconds"] = TURN_SECONDS
    report["groups"] = group_report([int(size) for size in args.groups.split(",")], args.seconds, args.rounds)
    ok &= all(result.get("meets_target", True) for result in report["groups"].values())
    report["all_targets_met"] = bool(ok and report["frame_ms"]["meets_target"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
