"""The log: one line per event on stdout, shaped like Jenkins's."""

from __future__ import annotations

import threading
import time

_LOG_LOCK = threading.Lock()


def log(node: str, level: str, message: str) -> None:
    """One line on stdout, Jenkins-like: time, node, level, message."""
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
    line = f"{stamp}.{int(now * 1000) % 1000:03d}+0000 [{node}] {level:<7} {message}"
    with _LOG_LOCK:
        print(line, flush=True)
