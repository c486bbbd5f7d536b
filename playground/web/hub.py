"""Connections, the one training scheduler, and the per-connection frame emitters.

A connection is not an experiment (docs/protocol.md): each connection owns the experiment it creates at connect and
watches it; the experiments and the rules of who trains live in `playground.experiments`. Design (measured in
../shared/reference/socketio-stack.md, section 7, and bench/load.py):
- All work on sessions runs in the one native thread (`concurrency.run_native`), one call at a time, in order: the
  scheduler's training turns and every event's trip. Two or more training threads thrash the GIL and lose over half
  the total, and one call at a time also means no session is ever touched by two threads.
- One green scheduler gives turns to groups of running experiments that share a signature; a group trains as one
  batched computation (`session.train_group`), and its members whose frames are due are rendered in one pass at the
  end of the turn. A group's turn is long in proportion to its members, so each experiment gets its share of the core
  whatever group it is in. A round over all groups trains for TRAINING_SHARE of its time (measured from the last
  round), within a round at least as long as a frame at the fastest rate and at most as long as one at the slowest
  (`FRAMES_PER_SECOND`, `MIN_FRAMES_PER_SECOND`): few experiments get every frame and train the rest of the time,
  many get fewer frames, and the frame-rate floor is kept before training.
- Each connection has a green emitter. A new frame is left in `experiment.newest`; the emitter keeps at most one
  `map_update` in flight per watched experiment and sends the newest frame once the previous one is acknowledged.
  Frames produced meanwhile replace each other (a slow client gets the newest, never a backlog), and a frame that
  shows nothing new is not sent at all.
- An event makes one trip to the native thread, which returns its reply, the new data and state if they changed,
  and the new frame. Trips wait for their client's share of the native thread and for all events' share
  (`ALL_EVENTS_NATIVE_SHARE`), then go in order to one green dispatcher that hands the native thread what is
  waiting in slices between the scheduler's turns (`_run_event_jobs`).
- In cluster mode (a message queue joins the processes), everything sent to one client of this process goes
  straight to it, never through the queue (`send`); only emits to Socket.IO rooms travel through Redis.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from ..experiments import Experiment, Lab
from ..options import ConfigError
from ..session import RUNNING, STOPPED, TrainingSession, train_group
from ..store import Store
from ..tokens import TokenBucket
from . import concurrency, memory, messages, saving
from .bus import LocalBus, RedisBus
from .seeding import SeedRuns

log = logging.getLogger(__name__)
MIN_TURN_SECONDS = 0.003
DRAIN_PASSES = 10  # event-loop passes after a turn's frames are stored (fewer leave sending to compete with training)
# Of each round's time (bench/load.py: the class targets need frames and epochs both). 0.52 was tried: on a loaded
# machine four paired probes of 30 clients gave it +30% epochs/s with frames/s in the noise, but on a quiet one
# four more gave +11% epochs/s (103-111 against 85-119) for -15% frames/s (19-21 against 22-25, under the 20 that
# a class needs), so a round trains 45%.
TRAINING_SHARE = 0.45
# ...and never less, even when frames cannot keep MIN_FRAMES_PER_SECOND (a hundred learners' frames alone take
# longer than a tenth of a second: without it training stopped at an epoch per round)
LEAST_TRAINING_SHARE = 0.35
# Events' work goes to the native thread in slices between training turns, each at most this share of the last
# round's length (and never under MIN_EVENT_SLICE_SECONDS): with a hundred learners a round is a tenth of a second,
# and one event a round would take ten seconds to serve them all.
EVENT_SLICE_SHARE = 0.25
MIN_EVENT_SLICE_SECONDS = 0.005


def _run_jobs(functions: list, slice_seconds: float) -> list[tuple]:
    """Native thread: run the functions in order until `slice_seconds` have passed (one at least); each one's
    (value, exception or None, native seconds it took)."""
    started, results = time.perf_counter(), []
    for function in functions:
        began = time.thread_time()
        try:
            value, problem = function(), None
        except Exception as error:  # handed back: the event's handler raises it
            value, problem = None, error
        results.append((value, problem, time.thread_time() - began))
        if time.perf_counter() - started >= slice_seconds:
            break
    return results


class Connection:
    """One Socket.IO connection: its id, its event allowance, and what it watches (with its own ack state, kept by
    each experiment)."""

    def __init__(
        self,
        sid: str,
        experiment: Experiment,
        rate_limit: float,
        rate_burst: float,
        native_share: float,
        native_burst: float,
    ):
        self.sid = sid
        self.experiment = experiment  # the experiment this connection created and controls
        self.watching: dict[str, Experiment] = {experiment.id: experiment}
        self.last_sent: dict[str, dict] = {}  # per experiment: the frame it got last
        self.last_sent_at: dict[str, float] = {}
        self.wakeup = concurrency.Wakeup()
        self.events = TokenBucket(rate_limit, rate_burst, time.monotonic())  # control events it may send
        # Seconds of the native thread its events may use (a share of it, saved up to a burst); may go negative.
        self.native_time = TokenBucket(native_share, native_burst, time.monotonic())
        self.closed = False
        experiment.watch(sid)


def turn_seconds(seconds: float, least: float, frames_due: list[float], now: float) -> float:
    """How long a turn trains: `seconds`, or until the first of its members' frames falls due if that comes
    sooner (but `least` at least), so that the frame is drawn on time. A frame already late changes nothing: its
    members are drawn at the end of the turn anyway."""
    due = min(frames_due, default=now)
    return max(least, due - now) if now < due < now + seconds else seconds


def same_picture(frame: dict, other: dict) -> bool:
    """Two frames that show the learner exactly the same (they differ at most in their number)."""
    return frame.keys() == other.keys() and all(frame[key] == other[key] for key in frame if key != "seq")


class Hub:
    def __init__(self, socketio, settings, store: Store, bus: LocalBus | RedisBus):
        self.socketio = socketio
        self.settings = settings
        self.store = store  # rooms and saved experiments (playground/store.py)
        self.bus = bus  # commands to the experiments of every process (bus.py)
        self.saves = saving.Saves(store, settings)  # saved experiments and drafts
        self.lab = Lab(settings.max_training_sessions, settings.max_group_size, settings.stall_seconds)
        self.seeds = SeedRuns(self)  # many-seed runs, one per experiment at most (seeding.py)
        self.connections: dict[str, Connection] = {}
        self.work = concurrency.Wakeup()
        # The native thread's time that all events together may use, the same again for new connections' first
        # sessions (a class opening the page at once must not leave its first events refused), and the queue of
        # their work, which goes to the native thread in slices between the scheduler's turns.
        share, burst = settings.all_events_native_share, settings.all_events_native_burst
        self.events_native_time = TokenBucket(share, burst, time.monotonic())
        self.connects_native_time = TokenBucket(share, burst, time.monotonic())
        self.event_jobs: deque = deque()  # (function, Outcome) waiting for the native thread, in order
        self.event_jobs_waiting = concurrency.Wakeup()
        socketio.start_background_task(self._run_event_jobs)
        self.frame_interval = 1.0 / settings.frames_per_second  # each experiment's frames at most this often
        self.round_seconds = 0.0  # the last round's length
        self.events_seconds = 0.0  # native time events' work took since the round began
        self._scheduler_started = False
        self.leaving: list = []  # called with each connection that closes (the classroom's hook)
        self.classroom = None  # classroom.Classroom: rooms, their learners and the wall (set by the factory)
        self.lag_samples: deque = deque(maxlen=6000)  # seconds a 10 ms green sleep overslept (last minute)
        if settings.measure_lag:
            socketio.start_background_task(self._measure_lag)
        bus.on_health(self._bus_health)

    def send(self, sid: str, event: str, payload: dict, callback=None) -> None:
        """Send an event to one client of this process, never through the message queue. Through it every frame
        would cost every other process CPU and Redis megabytes a minute (../shared/reference/scale-out.md), and the
        ack gate of a learner's frames stays in the learner's process. (Aimed at a client of another process, it
        would be dropped: each process sends only to its own connections.)"""
        self.socketio.emit(event, payload, to=sid, callback=callback, ignore_queue=True)

    def _bus_health(self, degraded: bool) -> None:
        """Tell this process's clients that the shared services went away or came back (their own training does not
        depend on them)."""
        for sid in list(self.connections):
            self.send(sid, "service", messages.service(degraded))

    def _measure_lag(self) -> None:
        """How late the event loop wakes a green thread: the delay every client's messages see too."""
        while True:
            started = time.perf_counter()
            self.socketio.sleep(0.01)
            self.lag_samples.append(time.perf_counter() - started - 0.01)

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def connect(self, sid: str) -> Connection:
        """A new connection with a new experiment of the default config: it gets the data, the state and a frame."""

        def create():
            session = TrainingSession()
            return session, messages.dataset(session), messages.frame(session, None)

        # A new connection waits as long as it takes, never refused: their number is bounded (MAX_CONNECTIONS and
        # per address).
        session, dataset, frame = self._run_for_events(create, None, self.connects_native_time)
        experiment = self.lab.create(session, self.frame_interval)
        settings = self.settings
        connection = Connection(
            sid,
            experiment,
            settings.events_per_second,
            settings.events_burst,
            settings.event_native_share,
            settings.event_native_burst,
        )
        self.connections[sid] = connection
        self.send(sid, "dataset", dataset)
        self.send(sid, "state", messages.state(session))
        self.send(sid, "service", messages.service(self.bus.degraded))
        self.socketio.start_background_task(self._emit_frames, connection)
        self._store(experiment, frame)
        if not self._scheduler_started:
            self._scheduler_started = True
            self.socketio.start_background_task(self._schedule)
        return connection

    def disconnect(self, sid: str) -> None:
        connection = self.connections.pop(sid, None)
        if connection is None:
            return
        for forget in self.leaving:
            forget(connection)
        connection.closed = True
        for experiment in connection.watching.values():
            experiment.unwatch(sid)
            if not experiment.viewers:
                self.seeds.close(experiment)
                self.lab.remove(experiment)
        connection.watching.clear()
        connection.last_sent.clear()
        connection.wakeup.set()  # the emitter sees `closed` and ends, dropping the last reference

    def training_count(self) -> int:
        return self.lab.training_count(time.monotonic())

    # --- events: one trip each ----------------------------------------------------------------------------------

    def trip(
        self, experiment: Experiment, action, *, payer: Connection | None, changes: bool = True, renders: bool = True
    ):
        """Run `action(session)` in the native thread with everything a change needs, in one call: the reply, and
        (unless `changes` is False) the new data and status if they changed and (if `renders`) a frame of the new
        state. Sends those to the experiment's viewers and returns the reply. An error raised by `action` is raised
        here (actions check their input before they change anything).

        The native thread's time is charged to the `payer`'s allowance (the connection whose event this is) and to
        all events' together (`_run_for_events`): heavy events, even within the event rate, cannot take the thread
        that trains everyone (docs/reliability.md). Raises ConfigError (field `busy`) when the wait would be too
        long."""
        (reply,) = self.trip_all([(experiment, action)], payer=payer, changes=changes, renders=renders)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def trip_all(
        self,
        actions: list[tuple[Experiment, object]],
        *,
        payer: Connection | None,
        changes: bool = True,
        renders: bool = True,
    ) -> list:
        """`trip` for many experiments in one native call (a teacher's action on a whole class): returns each
        action's reply, or the exception it raised (that experiment is left as it was)."""

        def one(experiment: Experiment, action):
            session = experiment.session
            state_before, data_before = messages.state(session), session.data
            reply = action(session)
            if not changes:
                return reply, None, None
            dataset = messages.dataset(session) if session.data is not data_before else None
            state = messages.state(session)
            return reply, dataset, state if state != state_before else None

        def work():  # each action's outcome
            outcomes, drawn = [], []
            for experiment, action in actions:
                try:
                    outcomes.append(one(experiment, action))
                    drawn.append(experiment)
                except Exception as problem:  # handed back: trip raises it, a class's action reports it
                    outcomes.append((problem, None, None))
            # The frames of the new states, drawn in batched passes (a class pushed one config: one signature).
            shown = drawn if changes and renders else []
            frames = messages.frames([e.session for e in shown], [self._valid_focus(e) for e in shown])
            by_id = dict(zip((e.id for e in shown), frames, strict=True))
            return [(*outcome, by_id.get(e.id)) for (e, _), outcome in zip(actions, outcomes, strict=True)]

        # A teacher's action on a class (payer None: it came over the bus, the teacher's own events were limited in
        # its process) resets the class's runs: it does not count against the events of the learners it resets.
        done = self._run_for_events(work, payer, self.events_native_time if payer is not None else None)
        replies = []
        for (experiment, _), (reply, dataset, state, frame) in zip(actions, done, strict=True):
            if dataset is not None:
                self._to_viewers(experiment, "dataset", dataset)
            if state is not None:
                self._to_viewers(experiment, "state", state)
            if frame is not None:
                self._store(experiment, frame, answers_event=True)
            replies.append(reply)
        return replies

    def _run_for_events(self, function, payer: Connection | None, allowance: TokenBucket | None):
        """`function()` in the native thread for an event (or a new connection), its time charged to the payer's
        allowance and to `allowance` (all events', all new connections', or None). The payer waits for its own
        allowance first (or is refused, ConfigError `busy`, when that would take over `ack_timeout`: it spent its
        share), then for `allowance` as long as that takes (the others' use of the thread is no reason to refuse a
        client; the events waiting are bounded by `MAX_QUEUED_EVENTS`), then for its slice (`_run_event_jobs`)."""
        if payer is not None:
            self._wait_for(payer.native_time, self.settings.ack_timeout)
        if allowance is not None:
            self._wait_for(allowance, float("inf"))
        if payer is not None and payer.closed:  # it left while waiting: its work would be for nobody
            raise ConfigError({"connection": "has closed: its event was dropped"})
        outcome = concurrency.Outcome()
        self.event_jobs.append((function, outcome))
        self.event_jobs_waiting.set()
        value, problem, seconds = outcome.wait()
        if allowance is not None:
            allowance.tokens -= seconds
        if payer is not None:
            payer.native_time.tokens -= seconds
        if problem is not None:
            raise problem
        return value

    def _run_event_jobs(self) -> None:
        """The one green thread that hands events' work to the native thread: what is waiting, in order, in one
        call that stops after its slice of time (EVENT_SLICE_SHARE of the last round: the rest waits for the next
        call, which queues behind the scheduler's next turn). Events of a whole class go through in a few rounds,
        and however many wait, training turns and frames come between every slice."""
        while True:
            if not self.event_jobs:
                self.event_jobs_waiting.wait(60.0)
                continue
            jobs = list(self.event_jobs)
            self.event_jobs.clear()
            slice_seconds = max(MIN_EVENT_SLICE_SECONDS, self.round_seconds * EVENT_SLICE_SHARE)
            try:
                outcomes = concurrency.run_native(_run_jobs, [function for function, _ in jobs], slice_seconds)
            except Exception as problem:  # not the functions' (those are handed back): a bug here
                log.exception("events' work failed")
                outcomes = [(None, problem, 0.0)] * len(jobs)
            self.events_seconds += sum(seconds for _, _, seconds in outcomes)
            for (_, outcome), result in zip(jobs, outcomes, strict=False):
                outcome.send(result)
            self.event_jobs.extendleft(reversed(jobs[len(outcomes) :]))  # first in the next slice

    def _wait_for(self, allowance: TokenBucket, patience: float) -> None:
        """Sleep until `allowance` is out of debt, or refuse (ConfigError `busy`) if that would take longer than
        `patience` seconds."""
        now = time.monotonic()
        if allowance.refill(now) >= 0:
            return
        wait = allowance.due(now, 0.0) - now
        if wait > patience:
            raise ConfigError(
                {"busy": "is refused: this client's events have used the server's time for now; try again in a moment"}
            )
        self.socketio.sleep(wait)

    def set_focus(self, experiment: Experiment, node: int | None, payer: Connection | None) -> None:
        def focus(session):  # in the trip: a trip refused as busy changes nothing
            experiment.focus = node

        self.trip(experiment, focus, payer=payer)

    @staticmethod
    def _valid_focus(experiment: Experiment) -> int | None:
        focus = experiment.focus
        if focus is not None and focus >= sum(experiment.session.net.layer_sizes):
            experiment.focus = focus = None  # the focused node went with a smaller network
        return focus

    def start(self, experiment: Experiment, payer: Connection | None) -> None:
        """Start training; raises ConfigError when the server already trains its maximum or the run diverged."""
        self.trip(experiment, self.starter(experiment), payer=payer, renders=False)  # its first turn brings a frame
        self.work.set()

    def starter(self, experiment: Experiment):
        """The action that starts an experiment's training (for `trip_all`; call `work.set()` after)."""

        def start(session):
            self.lab.claim_place(experiment, time.monotonic())
            session.start()

        return start

    def stop(self, experiment: Experiment, payer: Connection | None) -> None:
        """Stop after the current turn, and show where training stopped."""
        self.trip(experiment, lambda session: session.stop(), payer=payer)

    def _to_viewers(self, experiment: Experiment, event: str, payload: dict) -> None:
        for sid in list(experiment.viewers):
            self.send(sid, event, payload)

    # --- frames -------------------------------------------------------------------------------------------------

    def _store(self, experiment: Experiment, payload: dict, answers_event: bool = False) -> None:
        experiment.store(payload, time.monotonic(), answers_event)
        for sid in experiment.viewers:
            connection = self.connections.get(sid)
            if connection is not None:
                connection.wakeup.set()

    def _next_frame(self, connection: Connection, experiment: Experiment, now: float) -> dict | None:
        """The frame to send this viewer now, if any: the newest one once the last is acknowledged (unless it shows
        nothing new), or after `ack_timeout` without an acknowledgement the newest again, in case one was lost."""
        last = connection.last_sent.get(experiment.id)
        newest = experiment.newest
        if experiment.viewers.get(connection.sid) is None:
            if newest is None or newest is last:
                return None
            if last is not None and not experiment.newest_answers_event and same_picture(newest, last):
                connection.last_sent[experiment.id] = newest
                return None
            return newest
        if now - connection.last_sent_at.get(experiment.id, now) >= self.settings.ack_timeout:
            return newest or last
        return None

    def _emit_frames(self, connection: Connection) -> None:
        while not connection.closed:
            connection.wakeup.wait(self.settings.ack_timeout)
            now = time.monotonic()
            for experiment in list(connection.watching.values()):
                frame = None if connection.closed else self._next_frame(connection, experiment, now)
                if frame is None:
                    continue
                connection.last_sent[experiment.id], connection.last_sent_at[experiment.id] = frame, now
                experiment.sent(connection.sid, now)
                self.send(
                    connection.sid,
                    "map_update",
                    messages.as_sent(frame, experiment.epochs_per_second(now)),
                    callback=lambda *_, c=connection, e=experiment: self._acknowledged(c, e),
                )
        del connection  # the last reference to a closed connection: its memory is freed now
        memory.release_freed()

    def _acknowledged(self, connection: Connection, experiment: Experiment) -> None:
        """The client drew a frame: the next may go, and training goes on if it had stalled."""
        experiment.acknowledged(connection.sid)
        connection.wakeup.set()
        self.work.set()

    # --- training -----------------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """The one loop that trains: rounds of turns over the groups of running experiments that are read. Each
        round trains every group for its share and draws the frames that are due; the training time of a round
        follows from the time the last round spent on everything else (drawing, sending, events)."""
        other = own = 0.0
        while True:
            now = time.monotonic()
            ready, next_due = self.lab.ready(now, self.settings.pace_burst_seconds)
            if not ready:
                memory.release_freed()  # idle: a good moment to return what closed sessions freed
                self.work.wait(max(0.001, next_due - now))
                other = own = self.events_seconds = 0.0  # events' work while idle took nothing from a round
                continue
            memory.release_waiting()  # what experiments that closed during the last rounds freed
            training, least = self._training_seconds(other, own)
            trained = 0.0
            for group in self.lab.groups(ready):  # each group's share of the training is its member count
                part = len(group) / len(ready)
                trained += self._turn(group, training * part, least * part, within=self.round_seconds / 2)
            self.round_seconds = time.monotonic() - now
            other = max(0.0, self.round_seconds - trained)
            own = max(0.0, other - self.events_seconds)  # what the trained experiments' own frames took
            self.events_seconds = 0.0

    def _training_seconds(self, other: float, own: float) -> tuple[float, float]:
        """A round's training time, and the least of it a turn keeps when a frame is due sooner (`_turn`), from
        the last round's time besides training (`other`) and the part of it that was not events' work (`own`: the
        trained experiments' frames and their sending).

        Training takes TRAINING_SHARE of a round besides the events, but a round no shorter than a frame interval
        at the fastest frame rate (training fills it) and, while training keeps at least LEAST_TRAINING_SHARE, no
        longer than one at the slowest (frames come first). Events' work is left out of the shares: it would make
        the round longer by more than itself, and every experiment's frames slower (one learner alone fell from 30
        to 14 frames/s while twenty scripts' events ran)."""
        settings = self.settings
        share = own * TRAINING_SHARE / (1 - TRAINING_SHARE)
        least = max(MIN_TURN_SECONDS, own * LEAST_TRAINING_SHARE / (1 - LEAST_TRAINING_SHARE))
        fill = 1 / settings.frames_per_second - other
        most = 1 / settings.min_frames_per_second - other
        return max(least, min(max(share, fill), most)), max(least, share)

    def _turn(self, group: list[tuple[Experiment, int | None]], seconds: float, least: float, within: float) -> float:
        """Train a group for `seconds`, or only until a member's frame is due if that is sooner (but `least` at
        least), and draw its members whose frames are due within `within` seconds (so that each is drawn once a
        round); returns the time spent training."""
        experiments = [experiment for experiment, _ in group]
        epochs_before = [experiment.session.epoch for experiment in experiments]
        try:
            payloads, trained = concurrency.run_native(self._train_and_render, group, seconds, least, within)
        except Exception:  # a bug must not stop every other experiment's training
            log.exception("training turn failed")
            for experiment in experiments:
                experiment.session.status = STOPPED
                self._to_viewers(experiment, "state", messages.state(experiment.session))
            return 0.0
        for experiment, before, payload in zip(experiments, epochs_before, payloads, strict=True):
            experiment.pace_spent(experiment.session.epoch - before)
            if payload is None or experiment.id not in self.lab.experiments:
                continue
            self._store(experiment, payload)
            if payload["status"] != RUNNING:  # the turn ended it: the loss diverged or a stop rule holds
                self._to_viewers(experiment, "state", messages.state(experiment.session))
        # Let the emitters send the frames now, while no native thread competes for the GIL: each hand-off (emitter,
        # Engine.IO queue, socket writer) takes a pass of the event loop.
        for _ in range(DRAIN_PASSES):
            self.socketio.sleep(0)
        return trained

    @staticmethod
    def _train_and_render(
        group: list[tuple[Experiment, int | None]], seconds: float, least: float, within: float
    ) -> tuple[list[dict | None], float]:
        """Native thread: train the group's running members together, then render in one pass the frames that are
        due, or that show where a member stopped. Members stopped since the turn was planned are left alone."""
        members = [(experiment, allowance) for experiment, allowance in group if experiment.running]
        seconds = turn_seconds(seconds, least, [e.next_frame_at for e, _ in members], time.monotonic())
        # The group was planned before this call; an event's trip queued ahead of it may have changed a member's
        # signature (a new batch size, another shape): train each signature apart rather than fail the whole group.
        by_signature: dict = {}
        for experiment, allowance in members:
            by_signature.setdefault(experiment.session.signature, []).append((experiment, allowance))
        started = time.perf_counter()
        for same in by_signature.values():
            train_group([e.session for e, _ in same], seconds, [allowance for _, allowance in same])
        trained = time.perf_counter() - started
        now = time.monotonic()
        shown = [
            experiment
            for experiment, allowance in members
            if experiment.frame_due(now, within) or allowance is not None or not experiment.running
        ]
        frames = dict(
            zip(
                (e.id for e in shown),
                messages.frames([e.session for e in shown], [Hub._valid_focus(e) for e in shown]),
                strict=True,
            )
        )
        return [frames.get(experiment.id) for experiment, _ in group], trained
