"""The lab's event log: one JSON line per event (faults, failovers, up/down) in the lab folder."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from labgen.paths import lab_dir

JOURNAL_FILE = "events.jsonl"


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
    path = journal_path(name)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
