"""Every eventlet-specific call of the project, so that changing the async mode is a change to this file alone.

Rules (docs: ../shared/reference/socketio-stack.md, section 2): code handed to `run_native` runs in a native OS
thread and must not touch anything green (locks, events, queues, sockets) nor emit; it only computes and returns.
Everything else here is for green threads only.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from collections.abc import Callable
from typing import Any, TypeVar

import eventlet
import eventlet.event
import eventlet.greenpool
import eventlet.tpool
import eventlet.websocket
import eventlet.wsgi
import numpy as np

ASYNC_MODE = "eventlet"
T = TypeVar("T")
# One native thread for all session work: training threads thrash the GIL when there are several (measured in
# ../shared/reference/socketio-stack.md, section 7), and what a pass keeps for the next (frames' buffers) is then
# kept once, not once per pool thread. Set before tpool starts its threads (on first use).
eventlet.tpool.set_num_threads(1)
# Connections the kernel queues before the server accepts them. eventlet's default of 50 overflowed when one script
# opened a thousand: every other client's SYN was then dropped and retried a second later.
LISTEN_BACKLOG = 1024
ACCEPT_SLICE_SECONDS = 0.002  # a burst of connections is accepted for this long between the others' turns
# After its close frame a WebSocket reads and drops what the client still sends, for at most this long and this much,
# before it closes (`_close_lingering`).
LINGER_SECONDS = 1.0
LINGER_BYTES = 2 * 2**20


def monkey_patch() -> None:
    """Make the standard library cooperative; call before anything else is imported.

    psycopg 3 (the PostgreSQL store) waits for its server in C (poll) unless told otherwise, and it only notices
    gevent's patching, not eventlet's: a query would then hold up every green thread. Its `wait_select` waits
    through `select.select`, which is eventlet's green one once patched. Read when psycopg is first imported."""
    eventlet.monkey_patch()
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")


def run_native(function: Callable[..., T], *args) -> T:
    """Run `function(*args)` in the native thread (one: calls run one at a time, in order); only the calling green
    thread waits."""
    return eventlet.tpool.execute(function, *args)  # pyright: ignore[reportReturnType] (tpool is untyped)


def spawn(function: Callable[..., object], *args) -> None:
    """Run `function(*args)` in a new green thread."""
    eventlet.spawn(function, *args)


def sleep(seconds: float) -> None:
    """Let the other green threads run for `seconds` (0: one pass of the event loop)."""
    eventlet.sleep(seconds)  # pyright: ignore[reportArgumentType] (its stub says int; it takes any number)


class Outcome:
    """A value one green thread waits for and another hands over, once."""

    def __init__(self):
        self._event = eventlet.event.Event()

    def send(self, value) -> None:
        self._event.send(value)

    def wait(self) -> Any:
        return self._event.wait()


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
    """Serve the Flask app with eventlet's server, with Nagle's algorithm off, tracebacks off and timeouts on.

    socketio.run() cannot set TCP_NODELAY, and without it a binary event (two WebSocket frames) waits for the
    client's delayed ACK: frames then arrive at about 21 per second instead of 30. Linux copies the option from the
    listening socket to every accepted one.
    eventlet's server writes a traceback into every 500 response unless `debug=False` (the WSGI middleware in
    guard.py logs it instead). Without a socket timeout a connection that never finishes its request holds a green
    thread forever; the WebSocket handler of python-engineio sets its own, the ping interval plus the ping timeout.
    """
    from .guard import AddressLimits  # here, not above: this module is imported before monkey_patch()

    settings = app.config["PLAYGROUND_SETTINGS"]
    harden_websockets()
    # eventlet sets SO_REUSEPORT by default: a second process on the same port would start silently and share it,
    # and long-polling clients then break (../shared/reference/scale-out.md, section 3). A cluster gives each
    # process its own port behind a proxy; a port in use is an error.
    listener = eventlet.listen((host, port), backlog=LISTEN_BACKLOG, reuse_port=False)
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    limits = AddressLimits(
        settings.max_connections_per_address, settings.max_pending_requests_per_address, exempt=settings.proxies()
    )
    pool, protocol = _guarded_connections(limits)
    eventlet.wsgi.server(
        listener,
        app,
        log_output=False,
        debug=False,
        custom_pool=pool,
        protocol=protocol,
        socket_timeout=settings.request_head_seconds,
        keepalive=settings.keepalive_seconds,
    )


def _guarded_connections(limits):
    """eventlet's green pool and HTTP protocol, counting each address's connections and unfinished request heads:
    a refused connection is closed at once, by eventlet's own clean-up of a connection whose handler ended."""
    pending: set[int] = set()  # id() of the connection states whose first request head has not arrived

    class Pool(eventlet.greenpool.GreenPool):
        yielded_at = 0.0

        def spawn(self, function, connection):
            try:
                return self._admit(function, connection)
            finally:
                # eventlet's accept loop accepts without yielding while connections wait in the backlog: a
                # thousand opened at once held every other green thread (the frames, /healthz) for 100 ms. A yield
                # after each one kept the others going but drained the backlog slowly, and a /healthz queued behind
                # it waited 70-120 ms: the loop yields once ACCEPT_SLICE_SECONDS have passed (30 ms then).
                now = time.monotonic()
                if now - self.yielded_at >= ACCEPT_SLICE_SECONDS:
                    eventlet.sleep(0)
                    self.yielded_at = time.monotonic()

        def _admit(self, function, connection):
            address = connection[0][0]
            if not limits.admit(address):  # (it logs the refusals)
                return super().spawn(lambda _connection: None, connection)
            pending.add(id(connection))
            thread = super().spawn(function, connection)
            thread.link(lambda _thread: limits.closed(address, _take(pending, id(connection))))
            return thread

    class Protocol(eventlet.wsgi.HttpProtocol):
        def handle_one_response(self):
            limits.head_received(self.conn_state[0][0], _take(pending, id(self.conn_state)))
            return super().handle_one_response()

    return Pool(eventlet.wsgi.DEFAULT_MAX_SIMULTANEOUS_REQUESTS), Protocol


def _take(members: set, member) -> bool:
    """Remove `member` from `members`; whether it was there."""
    if member in members:
        members.discard(member)
        return True
    return False


def harden_websockets() -> None:
    """eventlet's WebSocket: a vectorised unmask (its own XORs byte by byte in Python: about 0.1 s for a 575 KB
    message, during which no other client is served) and a bound on a message's fragments together (each fragment
    is checked against the limit, their sum was not: 3 MB were accepted). No 2010 drafts of the protocol: their
    handshake failed with a 500 on a request without an Origin."""
    eventlet.websocket.WebSocketWSGI._handle_legacy_request = _refuse_legacy_websocket
    eventlet.websocket.WebSocketWSGI._negotiate_permessage_deflate = _no_compression
    websocket = eventlet.websocket.RFC6455WebSocket
    websocket._apply_mask = staticmethod(_apply_mask)
    websocket.close = _close_lingering
    if not issubclass(websocket.Message, _BoundedMessage):
        websocket.Message = _BoundedMessage


def _close_lingering(self, close_data=None):
    """eventlet's close, but when the reader closes for a client's fault (`close_data`: a message too big, a
    protocol error) it reads and drops what the client is still sending between the close frame and closing the
    socket (a lingering close, as HTTP servers do): a socket closed with unread data resets the connection, and the
    reset can reach the client before the close frame that says why. Only the reader may read: a close from another
    green thread (Engine.IO's writer) closes at once, as eventlet's does."""
    try:
        self._send_closing_frame(close_data=close_data, ignore_send_errors=True)
        self.socket.shutdown(socket.SHUT_WR)
        drained = 0
        with eventlet.Timeout(LINGER_SECONDS, False):
            while close_data is not None and drained < LINGER_BYTES:
                chunk = self.socket.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
    except EOFError:
        pass  # the socket was closed while this read: nothing more to drop
    except OSError as error:
        if error.errno != errno.ENOTCONN:  # as eventlet's own close: a client that went first is no news
            self.log.write(f"{self.log_context} socket shutdown error: {error}")
    finally:
        self.socket.close()


def _no_compression(self, extensions):
    """Never negotiate permessage-deflate. The frames' maps arrive deflated already (playground/wire.py), the rest
    is small JSON, and compressing every message again cost the event loop's thread most of its time with a class
    training (bench/load.py); nor can a client's compressed message inflate to many times its size."""
    return None


def _refuse_legacy_websocket(self, environ):
    raise eventlet.websocket.BadRequest()


def _apply_mask(data: bytes, mask, length: int | None = None, offset: int = 0) -> bytes:
    length = len(data) if length is None else length
    key = np.array([mask[(offset + i) % 4] for i in range(4)], dtype=np.uint8)
    return (np.frombuffer(data, dtype=np.uint8, count=length) ^ np.resize(key, length)).tobytes()


class _BoundedMessage(eventlet.websocket.RFC6455WebSocket.Message):
    received = 0

    def push(self, data, final=False):
        self.received += len(data)
        if self.received > self.max_frame_length:
            raise eventlet.websocket.FailedConnectionError(1009, "Message too big.")
        super().push(data, final)
