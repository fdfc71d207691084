"""Logging: one line per event on the stderr we were started with.

The descriptor is kept after libfuse daemonizes and points fd 2 at /dev/null."""

from __future__ import annotations

import contextlib
import os
import time

from labgen_nfsmount import PROG

_log_fd = 2
_debug = False


def setup(debug: bool) -> None:
    """Log debug lines too when `debug`; keep a copy of the current stderr to log to."""
    global _log_fd, _debug
    _debug = debug
    # keep our stderr for logging after libfuse redirects fd 2 to /dev/null
    _log_fd = os.dup(2)


def log(msg: str) -> None:
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {PROG}[{os.getpid()}]: {msg}\n"
    with contextlib.suppress(OSError):
        os.write(_log_fd, line.encode("utf-8", "replace"))


def dlog(msg: str) -> None:
    if _debug:
        log("debug: " + msg)
