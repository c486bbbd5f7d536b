"""Every eventlet-specific call of the project, so that changing the async mode is a change to this file alone.

Rules (docs: ../shared/reference/socketio-stack.md, section 2): code handed to `run_native` runs in a native OS
thread and must not touch anything green (locks, events, queues, sockets) nor emit; it only computes and returns.
Everything else here is for green threads only.
"""
from __future__ import annotations

import socket

import eventlet
import eventlet.event
import eventlet.semaphore
import eventlet.tpool
import eventlet.wsgi

ASYNC_MODE = "eventlet"
# One native thread for all session work: training threads thrash the GIL when there are several (measured in
# ../shared/reference/socketio-stack.md, section 7), and what a pass keeps for the next (frames' buffers) is then
# kept once, not once per pool thread. Set before tpool starts its threads (on first use).
eventlet.tpool.set_num_threads(1)


def monkey_patch() -> None:
    """Make the standard library cooperative; call before anything else is imported."""
    eventlet.monkey_patch()


def run_native(function, *args):
    """Run `function(*args)` in a native thread; only the calling green thread waits."""
    return eventlet.tpool.execute(function, *args)


def new_lock():
    """A lock for green threads (never acquired from a native thread)."""
    return eventlet.semaphore.Semaphore(1)


class Wakeup:
    """Lets one green thread sleep until another says there is work; several wake-ups before it runs count once."""

    def __init__(self):
        self._event = eventlet.event.Event()

    def set(self) -> None:
        if not self._event.ready():
            self._event.send(True)

    def wait(self, timeout: float) -> None:
        with eventlet.Timeout(timeout, False):
            self._event.wait()
        # No green switch can happen between the wake-up and this line, so no set() is lost.
        self._event = eventlet.event.Event()


def serve(app, host: str, port: int) -> None:
    """Serve a WSGI app with eventlet's server, with Nagle's algorithm off.

    socketio.run() cannot set TCP_NODELAY, and without it a binary event (two WebSocket frames) waits for the
    client's delayed ACK: frames then arrive at about 21 per second instead of 30. Linux copies the option from the
    listening socket to every accepted one.
    """
    listener = eventlet.listen((host, port))
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    eventlet.wsgi.server(listener, app, log_output=False)
