"""A token bucket: `rate` tokens a second, at most `burst` saved up. Time is passed in, so tests control it.

Used for the speed control (epochs a session may train now), the per-client limit on control events, and the
server-wide rate at which clients' messages are read (`reserve`: a queue in order of arrival)."""

from __future__ import annotations


class TokenBucket:
    def __init__(self, rate: float, burst: float, now: float, tokens: float | None = None):
        self.rate, self.burst = rate, burst
        self.tokens = burst if tokens is None else tokens
        self.updated = now

    def refill(self, now: float) -> float:
        """The tokens available at `now`."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.updated) * self.rate)
        self.updated = now
        return self.tokens

    def take(self, now: float, count: float = 1.0) -> bool:
        """Spend `count` tokens if there are enough."""
        if self.refill(now) >= count:
            self.tokens -= count
            return True
        return False

    def due(self, now: float, count: float = 1.0) -> float:
        """When `count` tokens will be there."""
        return now + max(0.0, count - self.refill(now)) / self.rate

    def reserve(self, now: float, count: float = 1.0) -> float:
        """Spend `count` tokens, into debt if need be; returns how long until this spending is covered (0 when it
        is now). Callers that each wait that long are served in the order they reserved, at `rate`."""
        self.tokens = self.refill(now) - count
        return max(0.0, -self.tokens) / self.rate
