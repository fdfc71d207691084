"""The controller's output: one JSON event per line on stdout (see the package docstring)."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

ERROR_REPEAT_S = 10.0

_OUT_LOCK = threading.Lock()


def emit(event: str, **fields: Any) -> dict[str, Any]:
    """Write one JSON event line on stdout."""
    record = {"ts": round(time.time(), 6), "event": event, **fields}
    line = json.dumps(record, default=str, separators=(",", ":"))
    with _OUT_LOCK:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    return record


class ErrorLog:
    """`error` events, each distinct (what, detail) at most once per ERROR_REPEAT_S."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def __call__(self, what: str, detail: object, **fields: Any) -> None:
        key = (what, str(detail))
        now = time.monotonic()
        last, suppressed = self._last.get(key, (-ERROR_REPEAT_S, 0))
        if now - last < ERROR_REPEAT_S:
            self._last[key] = (last, suppressed + 1)
            return
        extra = {"repeated": suppressed} if suppressed else {}
        emit("error", what=what, detail=str(detail), **fields, **extra)
        self._last[key] = (now, 0)
