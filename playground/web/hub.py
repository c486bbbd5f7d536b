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
from . import concurrency, memory, messages

log = logging.getLogger(__name__)
MIN_TURN_SECONDS = 0.003


class Client:
    def __init__(self, sid: str, rate_limit: float = 50.0, rate_burst: float = 100.0):
        self.sid = sid
        self.session = TrainingSession()
        self.lock = concurrency.new_lock()
        self.wakeup = concurrency.Wakeup()
        self.focus: int | None = None
        self.link_extras: dict = {}          # the link's keys that are not options (inert, `_hide`), kept in hashes
        self.seq = 0                         # frames produced
        self.newest: dict | None = None      # the newest frame's payload, not yet sent
        self.last_sent: dict | None = None
        self.last_sent_at = 0.0
        self.unacked_since: float | None = None   # first frame sent since the client last acknowledged one
        self.next_frame_at = 0.0             # a fixed 30 Hz clock, so render time does not stretch the period
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
        return self.unacked_since is not None and now - self.unacked_since > stall_seconds

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
        self.frame_interval = 1.0 / settings.frames_per_second     # per client; longer when many train at once
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
            client.newest = client.last_sent = None
            client.wakeup.set()          # the emitter sees `closed` and ends, dropping the last reference

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
        # Keep the clock when on time; when late, start it again from now rather than rush the next frame.
        due = client.next_frame_at + self.frame_interval
        client.next_frame_at = due if due > now else now + self.frame_interval
        client.epoch_samples.append((now, payload["epoch"]))
        client.wakeup.set()

    def _emit_frames(self, client: Client) -> None:
        while not client.closed:
            client.wakeup.wait(self.settings.ack_timeout)
            now = time.monotonic()
            if client.closed:
                break
            if client.unacked_since is None:
                frame = client.newest
            elif now - client.last_sent_at >= self.settings.ack_timeout:
                frame = client.newest or client.last_sent     # presumed lost: send the newest again
            else:
                continue
            if frame is None:
                continue
            client.newest, client.last_sent, client.last_sent_at = None, frame, now
            if client.unacked_since is None:
                client.unacked_since = now
            self.socketio.emit("step_result", messages.step_result(frame, client.epochs_per_second(now)),
                               to=client.sid)
            self.socketio.emit("map_update", frame, to=client.sid,
                               callback=lambda *_, client=client: self._acknowledged(client))
        del client                       # the last reference to the closed session: its memory is freed now
        memory.release_freed()

    def _acknowledged(self, client: Client) -> None:
        """The client drew a frame: the next may go, and its training goes on if it had stalled."""
        client.unacked_since = None
        client.wakeup.set()
        self.work.set()

    # --- training -----------------------------------------------------------------------------------------------

    def _schedule(self) -> None:
        """The one loop that trains: round-robin turns over the sessions that are running and being read."""
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
                memory.release_freed()           # idle: a good moment to return what closed sessions freed
                self.work.wait(max(0.001, next_due - now))
                continue
            # Rendering and sending a frame costs about as much as a few epochs: beyond a few sessions, share a
            # budget of frames rather than give each 30 a second, so that training keeps most of the core.
            self.frame_interval = max(1.0 / self.settings.frames_per_second,
                                      len(ready) / self.settings.frames_budget_per_second)
            # Each session should get a turn, and so a frame, every frame interval.
            turn = max(MIN_TURN_SECONDS, min(self.settings.turn_seconds, 0.8 * self.frame_interval / len(ready)))
            for client, allowance in ready:
                if client.running:
                    self._turn(client, turn, allowance)

    def _turn(self, client: Client, turn: float, max_epochs: int | None) -> None:
        # End the turn when the client's next frame is due, and render it then.
        until_due = client.next_frame_at - time.monotonic()
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
            client.session.stop_reason = None
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
