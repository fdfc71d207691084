"""The state file (which master is the active) and its lock, shared by the daemon and `promote`."""

from __future__ import annotations

import contextlib
import fcntl
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from labgen.wire.files import write_atomic
from labgen.wire.poll import wait_for


def read_active(path: Path) -> str | None:
    """The active recorded in the state file; None if there is none. Raises ValueError if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    active = data.get("active") if isinstance(data, dict) else None
    return active if isinstance(active, str) else None


def write_active(path: Path, active: str, previous: str | None, how: str) -> None:
    record = {"active": active, "previous": previous, "since": time.time(), "by": how}
    write_atomic(path, (json.dumps(record, indent=2) + "\n").encode())


@contextlib.contextmanager
def state_lock(path: Path, wait_s: float, stop: threading.Event | None = None) -> Iterator[bool]:
    """flock `<state file>.lock`; yields False if it could not be taken within `wait_s` (or `stop` is set)."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:

        def take() -> bool:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        if not wait_for(take, wait_s, 0.05, stop):
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
