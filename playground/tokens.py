"""A token bucket: `rate` tokens a second, at most `burst` saved up. Time is passed in, so tests control it.

Used for the speed control (epochs a session may train now) and for the per-client limit on control events."""

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
