"""Many-seed runs on the server: at most one per experiment, trained in trips of its own to the native thread.

A run's K members (playground/seeds.py) are not experiments of the lab: they train as one batched group in their
own trips, each as long as the scheduler gives a group of K experiments (hub.py's share per member times K), so a
run gets the core that K learners would. While it runs it holds K training places (`Lab.reserve`): a run of 20
counts as 20 experiments against MAX_TRAINING_SESSIONS and is refused when fewer places are free; stopping,
closing or adopting a member gives them back.

The experiment's viewers get `seed_update`s, flow-controlled as frames are: at most one in flight, the newest
replacing any that waits, at most UPDATES_PER_SECOND; a run whose update stays unacknowledged for STALL_SECONDS
pauses until it is acknowledged, so a tab that stopped reading costs no training.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..experiments import Experiment
from ..options import ConfigError, is_whole_number, validate_changes
from ..seeds import SeedRun
from ..session import RUNNING
from ..tokens import TokenBucket
from . import concurrency, messages

if TYPE_CHECKING:  # hub.py imports this module
    from .hub import Connection

UPDATES_PER_SECOND = 5  # the chart gains a point per update; drawing the K small maps costs ~1 ms a member


class SeedRunner:
    """One experiment's many-seed run and its flow control."""

    def __init__(self, experiment: Experiment, run: SeedRun):
        self.experiment = experiment
        self.run = run
        self.seq = 0
        self.waiting: dict | None = None  # the newest update not sent yet
        self.sent_at: float | None = None  # when the update in flight went out (None: none is in flight)
        self.next_update_at = 0.0
        self.pace: TokenBucket | None = None
        self.wakeup = concurrency.Wakeup()
        self.closed = False  # its loop ends (stopped, closed or adopted)


class SeedRuns:
    def __init__(self, hub):
        self.hub = hub
        self.runners: dict[str, SeedRunner] = {}  # experiment id -> its run

    def runner(self, experiment: Experiment) -> SeedRunner:
        runner = self.runners.get(experiment.id)
        if runner is None:
            raise ConfigError({"seeds": "no many-seed run: start one with run_seeds"})
        return runner

    def start(self, experiment: Experiment, changes: dict, payer: Connection | None) -> dict:
        """Set `changes` (seedRuns, seedData), stop the experiment's own training and start K runs of its config,
        replacing a run it had; returns the reply. Raises ConfigError, changing nothing, for a bad option or (field
        `session`) when the server has fewer than K training places free."""
        config = {**experiment.session.config, **validate_changes(changes)}
        count, data = config["seedRuns"], config["seedData"]
        self.hub.lab.reserve(experiment.id, count, time.monotonic())  # replaces the last run's places
        previous = self.runners.pop(experiment.id, None)
        if previous is not None:
            previous.closed = True
            previous.wakeup.set()
        created = {}

        def create(session):
            session.update_config(changes)
            session.stop()
            run = created["run"] = SeedRun(session, count, data)
            run.start()
            created["update"] = messages.seed_update(run)
            return {**messages.config(session), "seeds": run.seeds, "seedStatus": run.status}

        try:
            reply = self.hub.trip(experiment, create, payer=payer)
        except Exception:
            self.hub.lab.release(experiment.id)
            raise
        runner = self.runners[experiment.id] = SeedRunner(experiment, created["run"])
        self._send(runner, created["update"])
        self.hub.socketio.start_background_task(self._train, runner)
        return reply

    def stop(self, experiment: Experiment) -> str:
        """Pause the run after its current trip, show where it stopped, and give its places back."""
        runner = self.runner(experiment)
        runner.closed = True
        runner.wakeup.set()
        self.hub.lab.release(experiment.id)

        def stop():
            runner.run.stop()
            return messages.seed_update(runner.run)

        self._send(runner, concurrency.run_native(stop))
        return runner.run.status

    def close(self, experiment: Experiment) -> None:
        """End the run (if any): it is forgotten and its places freed."""
        runner = self.runners.pop(experiment.id, None)
        if runner is not None:
            runner.closed = True
            runner.wakeup.set()
            self.hub.lab.release(experiment.id)

    def adopt(self, experiment: Experiment, member, payer: Connection | None) -> dict:
        """Member `member` becomes the experiment's run, with its exact state (stopped, to go on with play); the
        many-seed run ends. Returns the reply (the new config and epoch)."""
        runner = self.runner(experiment)
        count = len(runner.run)
        if not is_whole_number(member, 0, count - 1):
            raise ConfigError({"member": f"must be a whole number from 0 to {count - 1} (a run of this seed run)"})
        member = int(member)
        self.close(experiment)

        def adopt(session):
            session.take_over(runner.run.take(member))
            experiment.focus = None  # the member's network may be another
            return {**messages.config(session), "epoch": session.epoch}

        return self.hub.trip(experiment, adopt, payer=payer)

    # --- training and updates ----------------------------------------------------------------------------------

    def _train(self, runner: SeedRunner) -> None:
        """The run's loop: a trip of training (and, when due, its update) at a time while it runs and is read."""
        settings = self.hub.settings
        while not runner.closed and runner.run.status == RUNNING:
            now = time.monotonic()
            if runner.sent_at is not None and now - runner.sent_at > settings.stall_seconds:
                runner.wakeup.wait(settings.ack_timeout)  # nobody reads its updates: wait for an acknowledgement
                continue
            allowance = self._allowance(runner, now, settings.pace_burst_seconds)
            if allowance == 0 and runner.pace is not None:
                runner.wakeup.wait(max(0.001, runner.pace.due(now) - now))
                continue
            seconds = self._turn_seconds(len(runner.run))
            due = runner.next_update_at - now <= seconds
            trained, update = concurrency.run_native(self._turn, runner.run, seconds, allowance, due)
            if runner.pace is not None:
                runner.pace.tokens -= trained
            if runner.closed:
                break
            if update is not None:
                self._send(runner, update)
            self.hub.socketio.sleep(0)  # the emitters and the scheduler's next call go before our next trip
        if self.runners.get(runner.experiment.id) is runner:  # it ended by itself (every member stopped)
            self.hub.lab.release(runner.experiment.id)

    @staticmethod
    def _turn(run: SeedRun, seconds: float, allowance: int | None, due: bool) -> tuple[int, dict | None]:
        """Native thread: train, then render the update if it is due or the run has just stopped."""
        trained = run.train(seconds, allowance)
        return trained, messages.seed_update(run) if due or run.status != RUNNING else None

    def _turn_seconds(self, members: int) -> float:
        """As long as the scheduler's turn of a group of `members` experiments in its last round (hub.py)."""
        from .hub import MIN_TURN_SECONDS, TRAINING_SHARE  # hub.py imports this module

        hub = self.hub
        others = hub.lab.training_count(time.monotonic())
        round_seconds = max(hub.round_seconds, 1 / hub.settings.frames_per_second)
        return max(MIN_TURN_SECONDS, TRAINING_SHARE * round_seconds * members / (others + members))

    @staticmethod
    def _allowance(runner: SeedRunner, now: float, burst_seconds: float) -> int | None:
        """Epochs the speed control allows each member now (None: no limit), as an experiment's pace does."""
        pace = runner.run.config["epochsPerSecond"]
        if not pace:
            return None
        if runner.pace is None:
            runner.pace = TokenBucket(pace, max(1.0, pace * burst_seconds), now, tokens=1.0)  # one epoch at once
        return int(runner.pace.refill(now))

    def _send(self, runner: SeedRunner, update: dict) -> None:
        """Send the newest update now if none is in flight; otherwise keep it for the acknowledgement."""
        runner.waiting = update
        if runner.sent_at is not None:
            return
        runner.seq += 1
        update["seq"] = runner.seq
        runner.waiting, runner.sent_at = None, time.monotonic()
        runner.next_update_at = runner.sent_at + 1.0 / UPDATES_PER_SECOND
        for sid in list(runner.experiment.viewers):
            self.hub.send(sid, "seed_update", update, callback=lambda *_: self._acknowledged(runner))

    def _acknowledged(self, runner: SeedRunner) -> None:
        runner.sent_at = None
        if runner.waiting is not None:
            self._send(runner, runner.waiting)
        runner.wakeup.set()
