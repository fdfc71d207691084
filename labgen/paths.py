"""Where labgen keeps lab state (generated files, secrets, event log) and its download cache."""

from __future__ import annotations

import os
from pathlib import Path


def state_root() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "labgen" / "labs"


def lab_dir(name: str) -> Path:
    """The lab's state folder: compose.yaml, configs, secrets.env, events.jsonl, reports."""
    return state_root() / name


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/labgen`` (``~/.cache/labgen`` when unset or not absolute)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base.strip() and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "labgen"
