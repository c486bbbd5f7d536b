"""Many-seed runs: the current config trained from K initial weights at once, to see what one lucky run hides.

A `SeedRun` holds K `TrainingSession`s that differ only in their seed, so they share one signature and train as one
batched group through the engine (`session.train_group`, exact to 1e-12 per member): each member is exactly the run
its seed gives alone. On the same data, member i keeps the learner's data and draws its initial weights from its own
seed's stream (`TrainingSession.restart_from_seed`); on redrawn data, member i is the session that config with
`seed` = its seed opens, data and weights both from that seed (a link with that seed gives it back). The K seeds are
drawn from a stream of the learner's seed, so the same link gives the same K runs.

The summary is what the chart and its line show: the median test loss and the 10th-90th percentile band over the K
runs (a diverged run counts as an infinite loss), and how many reached a stop rule, after how many epochs (median
and range). Pure Python + PyTorch, no web code; the web layer calls it from the native thread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .options import OPTIONS_BY_NAME
from .rng import SeedRandom, new_seed
from .session import DIVERGED, RUNNING, STOPPED, TrainingSession, render_frames, train_group

RUNS = OPTIONS_BY_NAME["seedRuns"]  # K: its range and default live in the options table
DATA_CHOICES = OPTIONS_BY_NAME["seedData"].choices  # "same" or "redrawn"
BAND = (10, 90)  # the percentiles of the chart's band


def member_seeds(seed: str, count: int) -> list[str]:
    """`count` distinct seeds, drawn as TF Playground draws a new seed, from a stream of `seed` (never `seed` itself,
    which is the learner's own run)."""
    rng = SeedRandom(f"{seed}/seeds")
    seeds: list[str] = []
    while len(seeds) < count:
        candidate = new_seed(rng)
        if candidate != seed and candidate not in seeds:
            seeds.append(candidate)
    return seeds


def member_session(base: TrainingSession, seed: str, data: str) -> TrainingSession:
    """The run `seed` gives with `base`'s config: on `base`'s own data ("same") or on the data the seed draws."""
    if data == "redrawn":
        return TrainingSession({**base.config, "seed": seed}, base.url_extras)
    member = TrainingSession(base.config, base.url_extras)
    member.restart_from_seed(seed, base.data)
    return member


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0 to 100) with linear interpolation between the closest ranks, as numpy's default; an
    infinite neighbour gives infinity."""
    ordered = sorted(values)
    position = q / 100 * (len(ordered) - 1)
    low, high = ordered[math.floor(position)], ordered[math.ceil(position)]
    if low == high or math.isinf(high):
        return high
    return low + (high - low) * (position - math.floor(position))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


class SeedRun:
    """K runs of one config from K seeds, trained together."""

    def __init__(self, base: TrainingSession, count: int, data: str):
        self.data = data
        self.seeds = member_seeds(base.config["seed"], count)
        self.members = [member_session(base, seed, data) for seed in self.seeds]
        self.reached: list[int | None] = [None] * count  # the epoch at which each member's stop rule held
        # The config as it was at the start: the members keep it (a change the learner makes meanwhile is the main
        # run's), and the summary describes its stop rules.
        self.config = dict(base.config)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def status(self) -> str:
        statuses = {member.status for member in self.members}
        if RUNNING in statuses:
            return RUNNING
        return DIVERGED if statuses == {DIVERGED} else STOPPED

    def start(self) -> None:
        """Play every member that has not diverged."""
        for member in self.members:
            if member.status != DIVERGED:
                member.start()

    def stop(self) -> None:
        for member in self.members:
            member.stop()

    def train(self, seconds: float, max_epochs: int | None = None) -> int:
        """Train the running members together for about `seconds` (at most `max_epochs` each); returns the epochs
        the furthest one trained. A member whose stop rule holds stops there, and its epoch is kept."""
        running = [member for member in self.members if member.status == RUNNING]
        if not running:
            return 0
        counts = train_group(running, seconds, [max_epochs] * len(running))
        for index, member in enumerate(self.members):
            if member.stop_reason and self.reached[index] is None:
                self.reached[index] = member.epoch
        return max(counts)

    def rule(self) -> str | None:
        """The stop rules in force, in words (None: no rule, so nothing can be reached)."""
        rules = []
        if self.config["stopAfterEpochs"]:
            rules.append(f"{self.config['stopAfterEpochs']} epochs")
        if self.config["stopBelowTestLoss"]:
            rules.append(f"test loss below {self.config['stopBelowTestLoss']:g}")
        return " or ".join(rules) or None

    def summary(self) -> dict:
        """What the chart and its line show now (JSON numbers; null where a loss is not finite)."""
        losses = [member.test_loss if math.isfinite(member.test_loss) else math.inf for member in self.members]
        reached = sorted(epoch for epoch in self.reached if epoch is not None)
        return {
            "status": self.status,
            "epochs": [member.epoch for member in self.members],
            "testLosses": [_finite(member.test_loss) for member in self.members],
            "statuses": [member.status for member in self.members],
            "median": _finite(percentile(losses, 50)),
            "low": _finite(percentile(losses, BAND[0])),
            "high": _finite(percentile(losses, BAND[1])),
            "rule": self.rule(),
            "reached": len(reached),
            "reachedMedian": percentile(reached, 50) if reached else None,
            "reachedMin": reached[0] if reached else None,
            "reachedMax": reached[-1] if reached else None,
        }

    def render(self) -> list:
        """Every member's frame (its output map full size) in one batched pass."""
        return render_frames(self.members, [None] * len(self.members))

    def take(self, index: int) -> TrainingSession:
        """Member `index`, stopped, to become the main run (`TrainingSession.take_over`); the run is spent."""
        member = self.members[index]
        member.stop()
        self.members = []
        return member
