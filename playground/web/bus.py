"""Commands that must reach server-side state in every process of a deployment (a teacher's "pause all" reaches the
experiments of learners connected to other processes). Socket.IO's message queue reaches browsers, not server
handlers, so these travel on a bus of their own. `LocalBus` is the embedded default (one process: a publish calls
the handlers at once); `RedisBus` carries them between the processes of a cluster (`MESSAGE_QUEUE_URL`).

A message is a JSON object; handlers run in green threads and must not block. `publish` is for commands, each of
which must arrive; `publish_newest` for a state that the next message of the same key replaces (a process's part of
a class's wall, a few times a second): only the newest of each key waits while Redis is away.
"""

from __future__ import annotations

import itertools
import json
import logging
import uuid
import zlib
from collections import deque
from collections.abc import Callable
from typing import cast

import redis

from . import concurrency

log = logging.getLogger(__name__)
Handler = Callable[[dict], None]
HealthHandler = Callable[[bool], None]


class LocalBus:
    def __init__(self):
        self._handlers: dict[str, list[Handler]] = {}
        self.degraded = False  # one process: nothing to lose

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers.setdefault(topic, []).append(handler)

    def publish(self, topic: str, message: dict) -> None:
        for handler in list(self._handlers.get(topic, ())):
            try:
                handler(message)
            except Exception:  # one failing handler must not keep the message from the others
                log.exception("bus handler for %s failed", topic)

    def publish_newest(self, topic: str, key: str, message: dict) -> None:
        self.publish(topic, message)

    def on_health(self, handler: HealthHandler) -> None:
        """`handler(degraded)` whenever the bus loses or regains the other processes: never, for this one."""


class RedisBus:
    """The bus of a cluster: one Redis stream that every process appends to and reads.

    A stream rather than pub/sub so that nothing is lost while Redis or the connection to it is away: each process
    reads on from the last entry it saw, and what it publishes meanwhile waits in its outbox (bounded) and goes out
    when Redis is back. A publish reaches this process's own handlers at once, whatever Redis does, and the reader
    skips the entries this process wrote. Each command carries its process's sequence number: when Redis went away
    after it had added an entry but before its answer came, the entry is sent again, and readers drop the copy.
    Two green threads (`concurrency.spawn`) do the Redis work; never a native thread. While either fails the bus
    is degraded, and the health handlers are told each time that changes.
    """

    STREAM = "playground:bus"
    MAX_LENGTH = 10_000  # entries kept in Redis (about: trimmed in whole blocks): minutes of a busy class
    # `publish_newest`'s messages: a stream of their own, kept short (they are read at once or never), deflated (a
    # class's part of a wall is JSON of many alike entries: 16 KB for 30 learners, 3 KB deflated)
    NEWEST_STREAM = "playground:newest"
    NEWEST_LENGTH = 100
    STREAMS = (STREAM, NEWEST_STREAM)
    OUTBOX_LIMIT = 10_000  # messages of this process waiting for Redis; the oldest go first beyond it
    READ_BLOCK_MS = 1000
    RETRY_SECONDS = 0.5

    def __init__(self, url: str):
        self._redis = redis.Redis.from_url(url)  # connects on first use, again after any failure
        self._local = LocalBus()
        self.origin = uuid.uuid4().hex  # this process, in the entries it writes
        self._sequence = itertools.count(1)  # of this process's commands, in the entries it writes
        self._heard: dict[bytes, int] = {}  # origin -> the last sequence number read from it
        self._outbox: deque[tuple[str, str, int]] = deque(maxlen=self.OUTBOX_LIMIT)
        self._newest: dict[tuple[str, str], tuple[str, bytes]] = {}  # (topic, key) -> (topic, body) waiting
        self._outbox_ready = concurrency.Wakeup()
        self._problems: dict[str, str] = {}  # "read" / "send" -> what failed last
        self._health_handlers: list[HealthHandler] = []
        concurrency.spawn(self._read)
        concurrency.spawn(self._send)

    @property
    def degraded(self) -> bool:
        return bool(self._problems)

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._local.subscribe(topic, handler)

    def publish(self, topic: str, message: dict) -> None:
        body = json.dumps(message, separators=(",", ":"), allow_nan=False)
        self._local.publish(topic, message)
        if len(self._outbox) == self.OUTBOX_LIMIT:
            log.warning("bus outbox full while Redis is away: the oldest message is dropped")
        self._outbox.append((topic, body, next(self._sequence)))
        self._outbox_ready.set()

    def publish_newest(self, topic: str, key: str, message: dict) -> None:
        self._local.publish(topic, message)
        body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
        self._newest[(topic, key)] = (topic, zlib.compress(body, 1))
        self._outbox_ready.set()

    def on_health(self, handler: HealthHandler) -> None:
        self._health_handlers.append(handler)

    def _health(self, side: str, problem: Exception | None) -> None:
        was = self.degraded
        if problem is None:
            self._problems.pop(side, None)
        else:
            self._problems[side] = str(problem)
        if self.degraded != was:
            (log.warning if self.degraded else log.info)(
                "bus %s: %s", "degraded" if self.degraded else "recovered", problem or "Redis answers again"
            )
            for handler in list(self._health_handlers):
                handler(self.degraded)

    def _send(self) -> None:
        while True:
            if not self._outbox and not self._newest:
                self._outbox_ready.wait(self.READ_BLOCK_MS / 1000)
                continue
            newest = None
            if self._outbox:  # commands first, in order
                stream, length, (topic, body, sequence) = self.STREAM, self.MAX_LENGTH, self._outbox[0]
                fields: dict = {"topic": topic, "origin": self.origin, "sequence": sequence, "message": body}
            else:
                key = next(iter(self._newest))
                stream, length, newest = self.NEWEST_STREAM, self.NEWEST_LENGTH, self._newest.pop(key)
                topic, body = newest  # a state: a copy read twice does no harm
                fields = {"topic": topic, "origin": self.origin, "message": body}
            try:
                self._redis.xadd(stream, fields, maxlen=length, approximate=True)
            except redis.RedisError as problem:
                if newest is not None:
                    self._newest.setdefault(key, newest)  # unless a newer one came meanwhile
                self._health("send", problem)
                concurrency.sleep(self.RETRY_SECONDS)
                continue
            if stream == self.STREAM:
                self._outbox.popleft()
            self._health("send", None)

    def _read(self) -> None:
        # The newest entry seen of each stream; None before the first contact (older ones are not ours)
        last_ids: dict | None = None  # stream -> entry id
        while True:
            try:
                if last_ids is None:
                    newest = {stream: cast(list, self._redis.xrevrange(stream, count=1)) for stream in self.STREAMS}
                    last_ids = {stream: entries[0][0] if entries else b"0-0" for stream, entries in newest.items()}
                reply = cast(list, self._redis.xread(dict(last_ids), count=100, block=self.READ_BLOCK_MS))
            except redis.RedisError as problem:
                self._health("read", problem)
                concurrency.sleep(self.RETRY_SECONDS)
                continue
            self._health("read", None)
            for stream, entries in reply or ():
                for entry_id, fields in entries:
                    last_ids[stream.decode()] = entry_id
                    if fields[b"origin"].decode() != self.origin and self._first_copy(fields):
                        self._deliver(stream, fields)

    def _first_copy(self, fields: dict) -> bool:
        """False for a command whose sequence number its process had already sent (a send retried after Redis had
        taken it); a process's entries are in the order it sent them."""
        sequence = fields.get(b"sequence")
        if sequence is None:
            return True
        origin, number = fields[b"origin"], int(sequence)
        if number <= self._heard.get(origin, 0):
            return False
        self._heard[origin] = number
        return True

    def _deliver(self, stream: bytes, fields: dict) -> None:
        try:
            body = fields[b"message"]
            message = json.loads(zlib.decompress(body) if stream == self.NEWEST_STREAM.encode() else body)
        except (ValueError, zlib.error):  # not one of ours: the reader goes on
            log.warning("bus entry of %s is not a message: skipped", stream)
            return
        self._local.publish(fields[b"topic"].decode(), message)
