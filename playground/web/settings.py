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
    max_training_sessions: int = 8       # experiments training at once in this process (one core's worth)
    max_group_size: int = 128            # experiments trained together as one batched group (1: no batching)
    max_connections: int = 200
    cors_allowed_origins: str = ""       # empty: same origin only; "*" or a comma-separated list otherwise
    # Largest message a client may send, in bytes: a CSV upload at its limit plus room for the event around it.
    max_http_buffer_size: int = MAX_CSV_BYTES + 64_000
    events_per_second: float = 50.0      # each client's control events: this many a second,
    events_burst: float = 100.0          # in bursts of up to this many
    frames_per_second: float = 30.0       # per client, at most
    frames_budget_per_second: float = 136.0   # all clients together: 8 training clients get 17 each
    turn_seconds: float = 0.02           # longest slice of training given to one session at a time
    ack_timeout: float = 5.0             # an unacknowledged frame is presumed lost after this
    stall_seconds: float = 1.0           # training pauses while a frame waits this long for its ack
    measure_lag: bool = False            # run a 10 ms green ticker whose oversleep /metrics reports (benchmarks)
    secret_key: str = ""

    @classmethod
    def from_env(cls, environ=os.environ, **overrides) -> "Settings":
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
        """python-socketio's cors_allowed_origins: None checks the Origin header against the host (same origin)."""
        if not self.cors_allowed_origins:
            return None
        if self.cors_allowed_origins == "*":
            return "*"
        return [origin.strip() for origin in self.cors_allowed_origins.split(",")]
