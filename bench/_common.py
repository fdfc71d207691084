"""Shared helpers for the benchmarks: labs under their own names and ports, JSON results."""

from __future__ import annotations

import json
import platform
import signal
import statistics
import time
from pathlib import Path
from types import FrameType
from typing import Any

from labgen.events import Emitter, Event
from labgen.lab import runtime
from labgen.model.spec import load_lab
from labgen.wire.net import free_port

RESULTS = Path(__file__).resolve().parent / "results"


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# A bench stopped by SIGTERM (kill, a CI step's timeout) unwinds as after Ctrl-C: its finally blocks
# remove the labs and host servers it started, and what was measured is still written.
signal.signal(signal.SIGTERM, _interrupted)


def printer(record: list[Event] | None = None) -> Emitter:
    """Prints events (not the build output) with the seconds since it was made; keeps them in `record`."""
    emitter = Emitter()
    started = time.monotonic()

    def show(event: Event) -> None:
        if record is not None:
            record.append(event)
        if not event.kind.endswith(".progress"):
            print(f"  {time.monotonic() - started:6.1f} s  {event.message}", flush=True)

    emitter.subscribe(show)
    return emitter


def start(name: str, record: list[Event] | None = None, **overrides: Any) -> runtime.UpResult:
    runtime.down(name, volumes=True)
    ports = {"ports.http": free_port(), "ports.stats": free_port(), "ports.agent": free_port()}
    lab = load_lab(None, {"name": name, **ports, **overrides})
    return runtime.up(lab, emitter=printer(record))


def stats(values: list[float | None]) -> dict[str, float | None]:
    present = [v for v in values if v is not None]
    return {
        "median": round(statistics.median(present), 3) if present else None,
        "worst": round(max(present), 3) if present else None,
        "n": len(present),
        "missing": len(values) - len(present),
    }


def save(kind: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{kind}-{stamp}.json"
    meta = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "machine": platform.node(), "cpus": _cpus()}
    path.write_text(json.dumps({"meta": meta, **data}, indent=2, default=str))
    return path


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "-|-".join("-" * w for w in widths))
    return "\n".join(lines)
