"""The lab's event log: one JSON line per event (faults, failovers, up/down) in the lab folder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from labgen.errors import EnvironmentProblem
from labgen.paths import lab_dir, read_regular_file

JOURNAL_FILE = "events.jsonl"
MAX_JOURNAL_BYTES = 64 << 20  # a soak of hours writes a few MB


def journal_path(name: str) -> Path:
    return lab_dir(name) / JOURNAL_FILE


def record(name: str, kind: str, message: str, **data: Any) -> dict[str, Any]:
    entry = {"ts": time.time(), "kind": kind, "message": message, **data}
    path = journal_path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, default=str) + "\n")
    return entry


def read(name: str) -> list[dict[str, Any]]:
    """The lab's events; a line that is not an event (an edit, a cut-off write) is skipped."""
    path = journal_path(name)
    if not path.exists() and not path.is_symlink():
        return []
    raw = read_regular_file(path, MAX_JOURNAL_BYTES, f"lab {name}'s event log", EnvironmentProblem)
    entries = []
    for line in raw.decode("utf-8", "replace").splitlines():
        try:
            entry = json.loads(line) if line.strip() else None
        except (ValueError, RecursionError):
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
