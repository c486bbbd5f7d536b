"""Connected clients, the single training scheduler, and the per-client frame emitters.

Design (measured in ../shared/reference/socketio-stack.md, section 7):
- One green scheduler serves every training session in short turns, each turn one `run_native` call, so exactly
  one native thread trains at a time: two or more training threads thrash the GIL and lose over half the total.
  Turns shrink as sessions are added so that each still gets a frame at the target rate.
- Each client has a green emitter. The scheduler leaves the newest frame in `client.newest` and wakes the emitter;
  the emitter keeps at most one `map_update` in flight and sends the newest frame when the previous one is
  acknowledged. Frames produced meanwhile replace each other: a slow client gets the newest, never a backlog.
- A client whose frame has waited for its ack longer than `stall_seconds` stops being scheduled, so a tab that
  stopped reading costs nothing until it reads again.
- All work on a session (training turns, rebuilds, renders) runs under the client's green lock, one call at a time.
"""
from __future__ import annotations

import logging
import time
from collections import deque

from ..session import RUNNING, STOPPED, TrainingSession
from ..tokens import TokenBucket
from . import concurrency, messages

log = logging.getLogger(__name__)
MIN_TURN_SECONDS = 0.002


class Client:
    def __init__(self, sid: str, rate_limit: float = 50.0, rate_burst: float = 100.0):
        self.sid = sid
        self.session = TrainingSession()
        self.lock = concurrency.new_lock()
        self.wakeup = concurrency.Wakeup()
        self.focus: int | None = None
        self.seq = 0                         # frames produced
        self.newest: dict | None = None      # the newest frame's payload, not yet sent
        self.in_flight_since: float | None = None
        self.last_frame_at = 0.0
        self.epoch_samples: deque = deque(maxlen=64)   # (time, epoch) to report epochs per second
        self.pace: TokenBucket | None = None    # epochs the speed control allows (None: no limit)
        self.events = TokenBucket(rate_limit, rate_burst, time.monotonic())   # control events it may send
        self.closed = False

    def call(self, function, *args):
        """Run session work in a native thread, never overlapping other work on this session."""
        with self.lock:
            return concurrency.run_native(function, *args)

    @property
    def running(self) -> bool:
        return self.session.status == RUNNING and not self.closed

    def stalled(self, now: float, stall_seconds: float) -> bool:
        return self.in_flight_since is not None and now - self.in_flight_since > stall_seconds

    def pace_allowance(self, now: float, burst_seconds: float) -> int | None:
        """How many epochs the speed control allows now (None: no limit). Unused time is not saved up beyond one
        burst, so a paused or slow turn is not followed by a rush."""
        pace = self.session.config["epochsPerSecond"]
        if not pace:
            self.pace = None
            return None
        if self.pace is None or self.pace.rate != pace:
            self.pace = TokenBucket(pace, max(1.0, pace * burst_seconds), now, tokens=1.0)   # first epoch at once
        return int(self.pace.refill(now))

    def pace_spent(self, epochs: int) -> None:
        if self.pace is not None:
            self.pace.tokens -= epochs

    def epochs_per_second(self, now: float) -> float:
        while len(self.epoch_samples) > 2 and now - self.epoch_samples[1][0] > 1.0:
            self.epoch_samples.popleft()
        if len(self.epoch_samples) < 2:
            return 0.0
        (t0, e0), (t1, e1) = self.epoch_samples[0], self.epoch_samples[-1]
        return round((e1 - e0) / (t1 - t0), 1) if t1 > t0 and e1 >= e0 else 0.0


class Hub:
    def __init__(self, socketio, settings):
        self.socketio = socketio
        self.settings = settings
        self.clients: dict[str, Client] = {}
        self.work = concurrency.Wakeup()
        self._scheduler_started = False
        self.lag_samples: deque = deque(maxlen=6000)     # seconds a 10 ms green sleep overslept (last minute)
        if settings.measure_lag:
            socketio.start_background_task(self._measure_lag)

    def _measure_lag(self) -> None:
        """How late the event loop wakes a green thread: the delay every client's messages see too."""
        while True:
            started = time.perf_counter()
            self.socketio.sleep(0.01)
            self.lag_samples.append(time.perf_counter() - started - 0.01)

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def connect(self, sid: str) -> Client:
        client = Client(sid, self.settings.events_per_second, self.settings.events_burst)
        self.clients[sid] = client
        self.socketio.start_background_task(self._emit_frames, client)
        if not self._scheduler_started:
            self._scheduler_started = True
            self.socketio.start_background_task(self._schedule)
        return client

    def disconnect(self, sid: str) -> None:
        client = self.clients.pop(sid, None)
        if client is not None:
            client.closed = True
            client.newest = None
            client.wakeup.set()          # the emitter sees `closed` and ends, dropping its reference

    def training_count(self) -> int:
        return sum(client.running for client in self.clients.values())

    # --- frames -------------------------------------------------------------------------------------------------

    def publish(self, client: Client) -> None:
        """Render the session's current state as the client's newest frame (after any change)."""
        if not client.closed:
            self._store(client, client.call(messages.frame, client.session, client.focus))

    def _store(self, client: Client, payload: dict) -> None:
        now = time.monotonic()
        client.seq += 1
        payload["seq"] = client.seq
        client.focus = payload["focus"]
        client.newest = payload
        client.last_frame_at = now
        client.epoch_samples.append((now, payload["epoch"]))
        client.wakeup.set()

    def _emit_frames(self, client: Client) -> None:
        sent_seq = 0
        while not client.closed:
            client.wakeup.wait(self.settings.ack_timeout)
            now = time.monotonic()
            if client.in_flight_since is not None:
                if now - client.in_flight_since < self.settings.ack_timeout:
                    continue
                client.in_flight_since = None        # presumed lost: send again, and let training resume
                self.work.set()
            frame = client.newest
            if client.closed or frame is None or frame["seq"] == sent_seq:
                continue
            sent_seq = frame["seq"]
            client.newest = None
            client.in_flight_since = now
            self.socketio.emit("step_result", messages.step_result(frame, client.epochs_per_second(now)),
                               to=client.sid)
            self.socketio.emit("map_update", frame, to=client.sid,
                               callback=lambda *_, client=client, seq=sent_seq: self._acknowledged(client, seq))

    def _acknowledged(self, client: Client, seq: int) -> None:
        client.in_flight_since = None
        client.wakeup.set()
        self.work.set()

    # --- training -----------------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """The one loop that trains: round-robin turns over the sessions that are running and being read."""
        frame_interval = 1.0 / self.settings.frames_per_second
        while True:
            now = time.monotonic()
            ready, next_due = [], now + 1.0
            for client in list(self.clients.values()):
                if not client.running or client.stalled(now, self.settings.stall_seconds):
                    continue
                allowance = client.pace_allowance(now, self.settings.turn_seconds)
                if allowance == 0:
                    next_due = min(next_due, client.pace.due(now))
                else:
                    ready.append((client, allowance))
            if not ready:
                self.work.wait(max(0.001, next_due - now))
                continue
            # Each session should get a turn, and so a frame, every frame interval.
            turn = min(self.settings.turn_seconds, 0.8 * frame_interval / len(ready))
            for client, allowance in ready:
                if client.running:
                    self._turn(client, turn, allowance, frame_interval)

    def _turn(self, client: Client, turn: float, max_epochs: int | None, frame_interval: float) -> None:
        # End the turn when the client's next frame is due, and render it then.
        until_due = client.last_frame_at + frame_interval - time.monotonic()
        render = until_due <= turn or max_epochs is not None
        seconds = max(MIN_TURN_SECONDS, min(turn, until_due))
        epoch = client.session.epoch
        try:
            payload = client.call(messages.train_turn, client.session, seconds, max_epochs, render, client.focus)
        except Exception:                      # a bug must not stop every other session's training
            log.exception("training turn failed")
            client.session.status = STOPPED
            self.state_changed(client)
            return
        client.pace_spent(client.session.epoch - epoch)
        if client.closed or payload is None:
            return
        self._store(client, payload)
        if payload["status"] != RUNNING:       # the turn ended it: the loss diverged or a stop rule holds
            self.state_changed(client)
        # Let the emitter send the frame now, while no native thread competes for the GIL.
        self.socketio.sleep(0)

    def start(self, client: Client) -> None:
        with client.lock:
            client.session.status = RUNNING
        self.work.set()
        self.state_changed(client)

    def stop(self, client: Client) -> None:
        """Stop after the current turn, and show where training stopped."""
        with client.lock:
            was_running = client.session.status == RUNNING
            if was_running:
                client.session.status = STOPPED
        if was_running:
            self.state_changed(client)
            self.publish(client)

    def state_changed(self, client: Client) -> None:
        self.socketio.emit("state", messages.state(client.session), to=client.sid)
