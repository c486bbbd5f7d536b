"""Commands that must reach server-side state in every process of a deployment (a teacher's "pause all" reaches the
experiments of learners connected to other processes). Socket.IO's message queue reaches browsers, not server
handlers, so these travel on a bus of their own. `LocalBus` is the embedded default (one process: a publish calls
the handlers at once); a shared bus for several processes implements the same two methods.

A message is a JSON object; handlers run in green threads and must not block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger(__name__)
Handler = Callable[[dict], None]


class LocalBus:
    def __init__(self):
        self._handlers: dict[str, list[Handler]] = {}

    def subscribe(self, topic: str, handler: Handler) -> None:
        self._handlers.setdefault(topic, []).append(handler)

    def publish(self, topic: str, message: dict) -> None:
        for handler in list(self._handlers.get(topic, ())):
            try:
                handler(message)
            except Exception:  # one failing handler must not keep the message from the others
                log.exception("bus handler for %s failed", topic)
