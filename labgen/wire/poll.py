"""Waiting with a deadline: one loop instead of a hand-made one per caller."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """A point on the monotonic clock, `seconds` from now."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + max(0.0, seconds)

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def expired(self) -> bool:
        return time.monotonic() >= self.at


def wait_for(
    check: Callable[[], T | None],
    timeout: float,
    interval: float = 0.5,
    stop: threading.Event | None = None,
) -> T | None:
    """Call `check` until it returns something other than None or False, or the time is up.

    Returns that value, or None on timeout (or when `stop` is set). `check` runs at least once."""
    deadline = Deadline(timeout)
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if deadline.expired() or (stop is not None and stop.is_set()):
            return None
        pause = min(interval, deadline.remaining())
        if stop is not None:
            if stop.wait(pause):
                return None
        else:
            time.sleep(pause)
