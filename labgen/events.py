"""Progress events: the core emits them, only the CLI draws them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["info", "warn", "step", "done"]


@dataclass(frozen=True)
class Event:
    kind: str  # e.g. "build.start", "build.done", "up.wait", "chaos.kill"
    message: str
    level: Level = "info"
    data: dict[str, object] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


Listener = Callable[[Event], None]


class Emitter:
    """Fans events out to listeners; with none attached, events are dropped."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, kind: str, message: str, level: Level = "info", **data: object) -> Event:
        event = Event(kind=kind, message=message, level=level, data=dict(data))
        for listener in self._listeners:
            listener(event)
        return event


NULL_EMITTER = Emitter()
