"""Server configuration, in one place. Every value can be set from the environment (see README)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields, replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..custom_data import MAX_CSV_BYTES


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 5000
    max_training_sessions: int = 100  # experiments training at once in this process (one core's worth)
    max_group_size: int = 128  # experiments trained together as one batched group (1: no batching)
    max_connections: int = 200
    # The addresses the page is served at, comma-separated (e.g. "https://playground.school.example"): Socket.IO
    # accepts only these origins, so a page on another name (DNS rebinding) cannot open a session. Empty: the local
    # addresses the server serves on, http://localhost:PORT and http://127.0.0.1:PORT.
    public_origins: str = ""
    cors_allowed_origins: str = ""  # further origins that may connect: "*" or a comma-separated list
    trusted_proxies: str = ""  # comma-separated addresses whose X-Forwarded-* headers are believed
    metrics_token: str = ""  # /metrics for loopback only, or for `Authorization: Bearer <token>`
    # One address (a school behind one NAT counts once): its TCP connections (a tab holds one or two) and its
    # connections that have not yet sent a whole request head.
    max_connections_per_address: int = 50
    max_pending_requests_per_address: int = 32  # a class behind one NAT opens its pages at once
    request_head_seconds: float = 10.0  # to send a request's head (and each later read of its body)
    keepalive_seconds: float = 10.0  # an idle keep-alive connection is closed after this
    max_attachments: int = 2  # binary attachments one event may announce
    max_queued_events: int = 256  # events of all clients waiting for or doing their work; more: `busy`
    max_queued_events_per_client: int = 4  # of one client
    # Largest message a client may send, in bytes: a CSV upload at its limit plus room for the event around it.
    max_http_buffer_size: int = MAX_CSV_BYTES + 64_000
    events_per_second: float = 50.0  # each client's control events: this many a second,
    events_burst: float = 100.0  # in bursts of up to this many
    # Each client's events may use this share of the one training thread's time (0.02: 2%), and save up this many
    # seconds of it: a learner's clicks and slider drags stay far below, a script of heavy events waits.
    event_native_share: float = 0.02
    event_native_burst: float = 0.5
    # All clients' events together may use this share of it, with this many seconds saved up, and new connections'
    # first sessions the same again on their own: twenty scripts within their own shares cannot take the thread
    # that trains and draws everyone (bench/abuse.py, heavyClients and allConnections).
    all_events_native_share: float = 0.25
    all_events_native_burst: float = 0.25
    # All clients' messages together (frame acknowledgements and attachments aside) are read at most this many a
    # second, a second's worth saved up; past that each client's next message waits its turn, its socket unread
    # meanwhile: twenty scripts each within its own rate had taken the event loop from everyone (bench/abuse.py).
    all_messages_per_second: float = 300.0
    frames_per_second: float = 30.0  # per experiment, at most
    # Per experiment, at least: when many train, training gives way to keep this rate (bench/load.py's class100).
    min_frames_per_second: float = 10.0
    pace_burst_seconds: float = 0.02  # a paced experiment catches up at most this much of its pace at once
    ack_timeout: float = 5.0  # an unacknowledged frame is presumed lost after this
    stall_seconds: float = 1.0  # training pauses while a frame waits this long for its ack
    # Where rooms and saved experiments are kept (playground/store.py): a SQLite file, created on first use (a
    # relative path is under the checkout), or ":memory:" for nothing kept past the process.
    database_url: str = "instance/playground.sqlite3"
    # Cluster mode (README, "Scaling out"): a Redis URL (redis:// or rediss://) that every process of the deployment
    # joins, for Socket.IO's message queue (rooms span processes) and the command bus. Empty: one process alone.
    message_queue_url: str = ""
    # Options added to that URL's query, e.g. "ssl_cert_reqs=none" for Heroku's Key-Value Store (its rediss:// URL,
    # which Heroku sets and rotates itself, has a self-signed certificate).
    message_queue_options: str = ""
    # Saved experiments and drafts (playground/web/saving.py): the largest one in bytes, the saves each client may
    # make (an hour's worth, in bursts), and how long a learner's draft outlives their last visit.
    max_experiment_bytes: int = 2_000_000
    saves_per_hour: float = 60.0
    saves_burst: float = 10.0
    draft_days: float = 30.0
    draft_training_seconds: float = 30.0  # a training run's draft is written this often while its epoch moves
    room_hours: float = 12.0  # a class (its code, names and leaderboard) is deleted this long after it opened
    measure_lag: bool = False  # run a 10 ms green ticker whose oversleep /metrics reports (benchmarks)
    secret_key: str = ""

    @classmethod
    def from_env(cls, environ=os.environ, **overrides) -> Settings:
        """Read `PORT`, `MAX_TRAINING_SESSIONS`, ... (the field names in upper case), then apply overrides."""
        values = {}
        for field in fields(cls):
            raw = environ.get(field.name.upper())
            if raw is not None:
                kind = type(field.default)
                values[field.name] = raw.lower() in ("1", "true", "yes") if kind is bool else kind(raw)
        settings = replace(cls(**values), **overrides)
        if not settings.secret_key:
            settings = replace(settings, secret_key=secrets.token_hex(16))
        return settings

    def socketio_cors(self):
        """python-socketio's cors_allowed_origins: the public origins and any others allowed, never the Host header
        (which a rebound DNS name or a forged X-Forwarded-Host controls)."""
        if self.cors_allowed_origins == "*":
            return "*"
        return self.origins() + _split(self.cors_allowed_origins)

    def origins(self) -> list[str]:
        return _split(self.public_origins) or [f"http://localhost:{self.port}", f"http://127.0.0.1:{self.port}"]

    def message_queue(self) -> str:
        """The Redis URL with the connection options Flask-SocketIO has no other way to pass (redis-py reads them
        from the URL), unless the URL sets them: an idle pub/sub connection is checked every 30 s (otherwise it can
        die unnoticed when a server drops idle clients), and a connection attempt gives up after 5 s."""
        if not self.message_queue_url:
            return ""
        parts = urlsplit(self.message_queue_url)
        query = {**dict(parse_qsl(self.message_queue_options)), **dict(parse_qsl(parts.query))}
        query.setdefault("health_check_interval", "30")
        query.setdefault("socket_connect_timeout", "5")
        return urlunsplit(parts._replace(query=urlencode(query)))

    def proxies(self) -> frozenset[str]:
        return frozenset(_split(self.trusted_proxies))


def _split(listing: str) -> list[str]:
    return [item.strip() for item in listing.split(",") if item.strip()]
