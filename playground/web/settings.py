"""Server configuration, in one place. Every value can be set from the environment (see README)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, fields, replace

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
    frames_per_second: float = 30.0  # per client, at most
    frames_budget_per_second: float = 1200.0  # all experiments together: 30 get 30 each, 100 get 12
    turn_seconds: float = 0.02  # longest slice of training given to one session at a time
    ack_timeout: float = 5.0  # an unacknowledged frame is presumed lost after this
    stall_seconds: float = 1.0  # training pauses while a frame waits this long for its ack
    # Where rooms and saved experiments are kept (playground/store.py): a SQLite file, created on first use (a
    # relative path is under the checkout), or ":memory:" for nothing kept past the process.
    database_url: str = "instance/playground.sqlite3"
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

    def proxies(self) -> frozenset[str]:
        return frozenset(_split(self.trusted_proxies))


def _split(listing: str) -> list[str]:
    return [item.strip() for item in listing.split(",") if item.strip()]
