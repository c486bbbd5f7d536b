"""The one way a test waits: poll a condition until it holds, or fail at a deadline naming what it waited for.

Tests never sleep for a fixed time and then assert, and never assert how long something took: they wait for the
condition itself. The deadline only bounds a wait that would otherwise hang; reaching it is the failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float = 10.0,
    message: str = "the condition",
    pause: Callable[[float], object] = time.sleep,
    interval: float = 0.05,
) -> T:
    """Return the first truthy value of `condition()`; raise AssertionError after `timeout` seconds without one.

    `pause` is how to let time pass between polls: `time.sleep` for real servers in other processes,
    `socketio.sleep` for the Flask-SocketIO test client (the app's green threads only run while the test yields),
    and Playwright's `page.wait_for_timeout` in the browser (the page's events arrive while it waits).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")
        pause(interval)
