"""Guards against abuse, each at the layer that owns what it guards (docs/reliability.md, "Abuse"):

- `AddressLimits`: connections and half-open requests per client address (used by the server in concurrency.py).
- `Middleware` (WSGI, around the whole app): the client's real address (forwarded headers only from a trusted
  proxy), the page's security headers on every response, Socket.IO included, and a logged, traceback-free answer
  when anything inside fails.
- `guard_engineio`: fixed 400 bodies (Engine.IO's echo the session id), no JSONP polling, and a WebSocket that
  breaks the protocol ends its session at once instead of lingering until the ping timeout.
- `guard_socketio`: per-client flood control on Engine.IO packets before Socket.IO decodes them, a server-wide rate
  at which messages are read (each client waits its turn), a protocol error ends the session, and a server-wide
  budget of queued event work (over it: a `busy` error at once).
"""

from __future__ import annotations

import functools
import logging
import time
import urllib.parse
from collections import Counter

from engineio.base_server import BaseServer
from engineio.socket import Socket as EngineIOSocket
from socketio import packet

from ..tokens import TokenBucket
from . import messages

log = logging.getLogger(__name__)
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
REFUSALS_LOGGED_EVERY = 10.0  # seconds: an address's refused connections are logged together, at most this often
FLOOD_FACTOR = 2.0  # Engine.IO packets a client may send: twice its events and frame acknowledgements


class AddressLimits:
    """Counts each address's open connections and those whose request head has not arrived yet."""

    def __init__(self, max_connections: int, max_pending: int, exempt: frozenset[str] = frozenset()):
        self.max_connections, self.max_pending, self.exempt = max_connections, max_pending, exempt
        self.connections: Counter[str] = Counter()
        self.pending: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # refusals not yet logged, per address
        self.logged: dict[str, float] = {}  # when each address's refusals were last logged

    def admit(self, address: str) -> bool:
        """A new connection from `address` (pending until `head_received`), or False when it has too many."""
        if address not in self.exempt and (
            self.connections[address] >= self.max_connections or self.pending[address] >= self.max_pending
        ):
            self._log_refusal(address, time.monotonic())
            return False
        self.connections[address] += 1
        self.pending[address] += 1
        return True

    def _log_refusal(self, address: str, now: float) -> None:
        """Log refusals together, at most once per REFUSALS_LOGGED_EVERY per address: a line for each of a
        thousand connections a script opened took a tenth of the event loop's time while it lasted."""
        self.refused[address] += 1
        if now - self.logged.get(address, -REFUSALS_LOGGED_EVERY) < REFUSALS_LOGGED_EVERY:
            return
        log.warning(
            "%d connection(s) from %s refused: it has too many open or unfinished", self.refused.pop(address), address
        )
        self.logged[address] = now
        if len(self.logged) > 1024:  # addresses not heard from for a while are forgotten (and their count kept)
            self.logged = {key: when for key, when in self.logged.items() if now - when < REFUSALS_LOGGED_EVERY}

    def head_received(self, address: str, pending: bool) -> None:
        if pending:
            _decrement(self.pending, address)

    def closed(self, address: str, pending: bool) -> None:
        _decrement(self.connections, address)
        if pending:
            _decrement(self.pending, address)


def _decrement(counter: Counter, key: str) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]


class Middleware:
    """WSGI middleware around the whole application."""

    def __init__(self, app, headers: dict[str, str], trusted_proxies: frozenset[str]):
        self.app, self.headers, self.trusted_proxies = app, list(headers.items()), trusted_proxies

    def __call__(self, environ, start_response):
        self._client_address(environ)

        def start_with_headers(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            headers = headers + [(name, value) for name, value in self.headers if name.lower() not in present]
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start_with_headers)
        except Exception:
            # The server answers 500 without a body (debug off); the details go to the log, never to the client.
            log.exception(
                "%s %s from %s failed",
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                environ.get("REMOTE_ADDR"),
            )
            raise

    def _client_address(self, environ) -> None:
        """Believe X-Forwarded-For only from a trusted proxy; remove every forwarded header otherwise, so that no
        layer below (Engine.IO's origin check, Flask) can be told another host or address."""
        forwarded_for = environ.get("HTTP_X_FORWARDED_FOR", "")
        if environ.get("REMOTE_ADDR") in self.trusted_proxies and forwarded_for:
            environ["REMOTE_ADDR"] = forwarded_for.split(",")[-1].strip()
        else:
            for name in [name for name in environ if name.startswith("HTTP_X_FORWARDED_")]:
                del environ[name]


def client_address(environ) -> str:
    return (environ or {}).get("REMOTE_ADDR", "?")


def guard_engineio(eio) -> None:
    eio._bad_request = lambda message=None: BaseServer._bad_request(eio)  # never echo the request back
    handle_request = eio.handle_request

    @functools.wraps(handle_request)
    def without_jsonp(environ, start_response):
        if "j" in urllib.parse.parse_qs(environ.get("QUERY_STRING", "")):
            answer = eio._bad_request()
            start_response(answer["status"], answer["headers"])
            return [answer["response"]]
        return handle_request(environ, start_response)

    eio.handle_request = without_jsonp
    if EngineIOSocket._websocket_handler not in _GUARDED_HANDLERS:
        guarded = _ending_on_protocol_error(EngineIOSocket._websocket_handler)
        _GUARDED_HANDLERS.add(guarded)
        EngineIOSocket._websocket_handler = guarded  # pyright: ignore[reportAttributeAccessIssue]


def _ending_on_protocol_error(websocket_handler):
    """python-engineio lets a malformed packet escape its WebSocket loop: the server then wrote a 500 page into the
    WebSocket and the session stayed open (a training slot taken) until the ping timeout. And its loop reads on after
    the session was closed."""

    @functools.wraps(websocket_handler)
    def handler(socket, ws):
        wait = ws.wait

        def wait_while_open():
            # Once the server has ended the session (a flood, a protocol error), stop reading: otherwise the loop
            # would go on through everything the client managed to buffer (12,000 messages in one measured flood).
            return None if socket.closed else wait()

        ws.wait = wait_while_open
        try:
            return websocket_handler(socket, ws)
        except Exception as problem:
            log.warning(
                "WebSocket of %s closed on a protocol error: %s", client_address(ws.environ), str(problem)[:200]
            )
            socket.close(wait=False, abort=True, reason=socket.server.reason.TRANSPORT_ERROR)
            socket.server.sleep(0)  # let its writer close the WebSocket before the server closes the socket
            return []

    return handler


_GUARDED_HANDLERS: set = set()


def guard_socketio(server, settings) -> None:
    """Install the per-client flood control and the server-wide event budget on a python-socketio server."""
    packets_per_second = FLOOD_FACTOR * (settings.events_per_second + settings.frames_per_second)
    buckets: dict[str, TokenBucket] = {}
    rate = settings.all_messages_per_second
    all_messages = TokenBucket(rate, rate, time.monotonic())
    budget = EventBudget(settings.max_queued_events, settings.max_queued_events_per_client)
    handle_message, handle_disconnect = server._handle_eio_message, server._handle_eio_disconnect
    handle_event, handle_event_work = server._handle_event, server._handle_event_internal

    def end_session(eio_sid: str, why: str) -> None:
        log.warning("client %s disconnected: %s", client_address(server.environ.get(eio_sid)), why)
        server.eio.disconnect(eio_sid)

    def guarded_message(eio_sid, data):
        now = time.monotonic()
        bucket = buckets.get(eio_sid)
        if bucket is None:
            bucket = buckets[eio_sid] = TokenBucket(packets_per_second, FLOOD_FACTOR * settings.events_burst, now)
        if not bucket.take(now):
            return end_session(eio_sid, "flooding (more messages than its event rate limit allows)")
        # Engine.IO reads a client's next message only once this returns: waiting here holds back this client
        # alone, in order with the others. Frame acknowledgements (an ACK packet is "3...") keep everyone's frames
        # going and are not held back, nor are the attachments of an event already let through.
        if isinstance(data, str) and not data.startswith(str(packet.ACK)):
            wait = all_messages.reserve(now)
            if wait:
                server.sleep(wait)
        try:
            return handle_message(eio_sid, data)
        except ValueError as problem:  # python-socketio's (and wire.py's) word for a malformed packet
            return end_session(eio_sid, f"protocol error: {str(problem)[:200]}")

    def guarded_disconnect(eio_sid, reason):
        buckets.pop(eio_sid, None)
        return handle_disconnect(eio_sid, reason)

    def guarded_event(eio_sid, namespace, id, data):
        if data and data[0] in RESERVED_EVENT_NAMES:
            data = [f"{data[0]} (reserved)", *data[1:]]
        sid = server.manager.sid_from_eio_sid(eio_sid, namespace or "/")
        if not server.async_handlers or not server.manager.is_connected(sid, namespace or "/"):
            return handle_event(eio_sid, namespace, id, data)  # handled at once, or dropped: nothing queued
        if not budget.take(eio_sid):
            return refuse_busy(eio_sid, namespace, id, data)
        return handle_event(eio_sid, namespace, id, data)

    def counted_work(server_, sid, eio_sid, *rest):
        try:
            return handle_event_work(server_, sid, eio_sid, *rest)
        finally:
            if server.async_handlers:  # only events run in their own green thread took from the budget
                budget.release(eio_sid)

    def refuse_busy(eio_sid, namespace, id, data):
        event = str(data[0])[:40] if data else ""
        failure = messages.error(
            event,
            {
                "busy": f"is refused: too many events are waiting to be handled (at most {budget.per_client} of one "
                f"client's, {budget.size} of all); try again in a moment"
            },
        )
        server._send_packet(eio_sid, server.packet_class(packet.EVENT, namespace=namespace, data=["error", failure]))
        if id is not None:
            server._send_packet(
                eio_sid,
                server.packet_class(packet.ACK, namespace=namespace, id=id, data=[{"ok": False, "error": failure}]),
            )

    server._handle_eio_message, server._handle_eio_disconnect = guarded_message, guarded_disconnect
    server.eio.on("message", guarded_message)  # python-socketio registered the unguarded ones at start
    server.eio.on("disconnect", guarded_disconnect)
    server._handle_event, server._handle_event_internal = guarded_event, counted_work


# python-socketio hands client *events* named "connect", "disconnect" or "*" to the connect/disconnect/catch-all
# handlers themselves, so a client could rerun the connect handler (a new session each time, the old one never
# freed) or free its own session while staying connected. Renamed, they reach the catch-all and get an `error`.
RESERVED_EVENT_NAMES = ("connect", "disconnect", "*")


class EventBudget:
    """Events that were accepted and not yet handled, of each client and of all (python-socketio runs each in its own
    green thread, so without a bound a flood of heavy events piles up work that runs long after its senders left).
    The bound per client keeps one sender from using the room that a whole class shares."""

    def __init__(self, size: int, per_client: int):
        self.size, self.per_client = size, per_client
        self.queued = 0
        self.of_client: Counter[str] = Counter()

    def take(self, client: str) -> bool:
        if self.queued >= self.size or self.of_client[client] >= self.per_client:
            return False
        self.queued += 1
        self.of_client[client] += 1
        return True

    def release(self, client: str) -> None:
        self.queued -= 1
        _decrement(self.of_client, client)
