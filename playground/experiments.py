"""Experiments apart from connections, and the rules of a server that trains many of them at once.

An `Experiment` is one training run: its session, what it displays (the focused node), its frame clock, its pace and
who is watching it. A viewer is any connection that receives its frames (the learner who owns it, later a teacher's
wall or a projector); each viewer acknowledges frames on its own. The `Lab` holds every experiment of the process and
the rules the web layer used to carry: who may start training (the cap counts experiments that train, not those whose
viewers stopped reading), who is trained now, and how running experiments are grouped so that each group trains as
one batched computation (`session.train_group`). Pure Python: time is passed in, nothing blocks, no web code. The web
layer calls some of it from the native thread while green threads add and remove entries, so dicts are read through
snapshots (`list(...)`), never iterated live.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable

from .network import plan_groups
from .options import ConfigError
from .session import RUNNING, TrainingSession
from .tokens import TokenBucket


class Experiment:
    def __init__(self, experiment_id: str, session: TrainingSession, frame_interval: float):
        self.id = experiment_id
        self.session = session
        self.focus: int | None = None  # the node the big map shows (None: the output)
        self.frame_interval = frame_interval
        self.next_frame_at = 0.0  # a fixed clock, so render time does not stretch the period
        self.seq = 0  # frames produced
        self.newest: dict | None = None  # the newest frame's payload
        self.newest_answers_event = False  # it shows the outcome of an event: sent even if it looks the same
        self.viewers: dict[str, float | None] = {}  # viewer id -> when its oldest unacknowledged frame went out
        self.epoch_samples: deque = deque(maxlen=64)  # (time, epoch), for epochs per second
        self.pace: TokenBucket | None = None  # epochs the speed control allows now (None: no limit)

    # --- viewers and their acknowledgements ------------------------------------------------------------------------

    def watch(self, viewer: str) -> None:
        self.viewers.setdefault(viewer, None)

    def unwatch(self, viewer: str) -> None:
        self.viewers.pop(viewer, None)

    def sent(self, viewer: str, now: float) -> None:
        if self.viewers.get(viewer) is None and viewer in self.viewers:
            self.viewers[viewer] = now

    def acknowledged(self, viewer: str) -> None:
        if viewer in self.viewers:
            self.viewers[viewer] = None

    def stalled(self, now: float, stall_seconds: float) -> bool:
        """Nobody reads its frames: every viewer has left a frame unacknowledged for over `stall_seconds` (or it has
        no viewer). A stalled experiment is not trained, so a tab that stopped reading costs nothing."""
        return all(since is not None and now - since > stall_seconds for since in list(self.viewers.values()))

    # --- frames --------------------------------------------------------------------------------------------------

    def frame_due(self, now: float, within: float = 0.0) -> bool:
        return self.next_frame_at - now <= within

    def store(self, payload: dict, now: float, answers_event: bool = False) -> dict:
        """Keep a new frame as the newest (numbering it); returns it. A frame that `answers_event` is sent even when
        it shows what the viewers already have: a client waits for the frame that follows its event's reply."""
        self.seq += 1
        payload["seq"] = self.seq
        self.newest = payload
        self.newest_answers_event = answers_event
        # Keep the clock when on time; when late, start it again from now rather than rush the next frame.
        due = self.next_frame_at + self.frame_interval
        self.next_frame_at = due if due > now else now + self.frame_interval
        self.epoch_samples.append((now, payload["epoch"]))
        return payload

    def epochs_per_second(self, now: float) -> float:
        samples = self.epoch_samples
        while len(samples) > 2 and now - samples[1][0] > 1.0:
            samples.popleft()
        if len(samples) < 2:
            return 0.0
        (t0, e0), (t1, e1) = samples[0], samples[-1]
        return round((e1 - e0) / (t1 - t0), 1) if t1 > t0 and e1 >= e0 else 0.0

    # --- pace ----------------------------------------------------------------------------------------------------

    def pace_allowance(self, now: float, burst_seconds: float) -> int | None:
        """How many epochs the speed control allows now (None: no limit). Unused time is not saved up beyond one
        burst, so a paused or slow turn is not followed by a rush."""
        pace = self.session.config["epochsPerSecond"]
        if not pace:
            self.pace = None
            return None
        if self.pace is None or self.pace.rate != pace:
            self.pace = TokenBucket(pace, max(1.0, pace * burst_seconds), now, tokens=1.0)  # first epoch at once
        return int(self.pace.refill(now))

    def pace_spent(self, epochs: int) -> None:
        if self.pace is not None:
            self.pace.tokens -= epochs

    @property
    def running(self) -> bool:
        return self.session.status == RUNNING


class Lab:
    """Every experiment of this process, and who trains.

    `max_training`: experiments that may train at once (stalled ones do not count, and wait for a free place when
    their viewers read again); `max_group_size`: most members of one batched group (1 turns batching off)."""

    def __init__(self, max_training: int, max_group_size: int, stall_seconds: float):
        self.max_training = max_training
        self.max_group_size = max(1, max_group_size)
        self.stall_seconds = stall_seconds
        self.experiments: dict[str, Experiment] = {}
        self.places: set[str] = set()  # the experiments that hold a training place
        self.reserved: dict[str, int] = {}  # places held by many-seed runs (`reserve`): owner id -> places
        self._ids = itertools.count(1)

    def create(self, session: TrainingSession, frame_interval: float) -> Experiment:
        experiment = Experiment(f"e{next(self._ids)}", session, frame_interval)
        self.experiments[experiment.id] = experiment
        return experiment

    def remove(self, experiment: Experiment) -> None:
        self.experiments.pop(experiment.id, None)
        self.places.discard(experiment.id)

    def training(self, now: float) -> list[Experiment]:
        """The experiments that train now: running and read by someone, at most `max_training`. Those that held a
        place keep it; one that stalls gives its place up, and when its viewers read again it gets a place only if
        one is free (else it waits, still running)."""
        active = [e for e in list(self.experiments.values()) if e.running and not e.stalled(now, self.stall_seconds)]
        kept = [e.id for e in active if e.id in self.places]
        newcomers = [e.id for e in active if e.id not in self.places]
        free = self.max_training - len(kept) - sum(self.reserved.values())
        self.places = set(kept + newcomers[: max(0, free)])
        return [e for e in active if e.id in self.places]

    def training_count(self, now: float) -> int:
        return len(self.training(now))

    def claim_place(self, experiment: Experiment, now: float) -> None:
        """Keep a training place for an experiment about to start, or raise ConfigError (field `session`) when the
        server already trains its maximum."""
        if experiment.id not in {e.id for e in self.training(now)}:
            if len(self.places) + sum(self.reserved.values()) >= self.max_training:
                raise ConfigError(
                    {
                        "session": f"is refused: the server is already training its maximum of "
                        f"{self.max_training} experiments; try again in a moment"
                    }
                )
            self.places.add(experiment.id)

    def reserve(self, owner: str, count: int, now: float) -> None:
        """Hold `count` training places for a many-seed run (its members train in trips of their own, not as
        experiments, but each takes a place as an experiment would), or raise ConfigError (field `session`) when
        fewer are free. A new reservation of the same owner replaces its last; the owner's own place counts as free
        (its experiment stops while the run trains)."""
        others = [experiment for experiment in self.training(now) if experiment.id != owner]
        free = self.max_training - len(others) - sum(held for key, held in self.reserved.items() if key != owner)
        if count > free:
            raise ConfigError(
                {
                    "session": f"is refused: {count} runs need {count} training places and {max(0, free)} of the "
                    f"server's {self.max_training} are free; try fewer runs, or again in a moment"
                }
            )
        self.reserved[owner] = count

    def release(self, owner: str) -> None:
        self.reserved.pop(owner, None)

    def ready(self, now: float, burst_seconds: float) -> tuple[list[tuple[Experiment, int | None]], float]:
        """Who trains this round, with each one's epoch allowance (None: no limit), and when the next paced
        experiment will be allowed an epoch (`now + 1` if none waits)."""
        ready, next_due = [], now + 1.0
        for experiment in self.training(now):
            allowance = experiment.pace_allowance(now, burst_seconds)
            if allowance == 0 and experiment.pace is not None:  # a zero allowance comes from the pace
                next_due = min(next_due, experiment.pace.due(now))
            else:
                ready.append((experiment, allowance))
        return ready, next_due

    def groups(self, ready: Iterable[tuple[Experiment, int | None]]) -> list[list[tuple[Experiment, int | None]]]:
        """Ready experiments in batched groups: of one signature, networks that train faster together than apart
        (`network.plan_groups`), at most `max_group_size` a group."""
        by_signature: dict = {}
        for entry in ready:
            by_signature.setdefault(entry[0].session.signature, []).append(entry)
        planned = [
            [same[index] for index in group]
            for same in by_signature.values()
            for group in plan_groups([experiment.session.trainer.shape for experiment, _ in same])
        ]
        size = self.max_group_size
        return [members[i : i + size] for members in planned for i in range(0, len(members), size)]
