"""The build queue as hudson.model.Queue keeps it: waiting, blocked, buildable, then left (started or cancelled).

Pure state, no threads: the executors (`executors.py`) move items along under the app's lock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from labgen_lite.params import Values

WAITING, BLOCKED, BUILDABLE, LEFT = "waiting", "blocked", "buildable", "left"
ITEM_CLASSES = {
    WAITING: "hudson.model.Queue$WaitingItem",
    BLOCKED: "hudson.model.Queue$BlockedItem",
    BUILDABLE: "hudson.model.Queue$BuildableItem",
    LEFT: "hudson.model.Queue$LeftItem",
}
LEFT_ITEM_SECONDS = 300  # Queue.leftItems forgets an item 5 minutes after it left
SHUTDOWN_WHY = "Jenkins is about to shut down"
EXECUTOR_WHY = "Waiting for next available executor"


def now_ms() -> int:
    return int(time.time() * 1000)


def time_span(ms: int) -> str:
    """hudson.Util.getTimeSpanString, for spans under a day."""
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    if hours:
        return f"{hours} hr {minutes} min" if hours < 10 else f"{hours} hr"
    if minutes:
        return f"{minutes} min {seconds} sec" if minutes < 10 else f"{minutes} min"
    if seconds >= 10:
        return f"{seconds} sec"
    if seconds >= 1:
        return f"{seconds + (millis // 100) / 10} sec"
    return f"{(millis // 10) / 100} sec" if millis >= 100 else f"{millis} ms"


@dataclass
class QueueItem:
    id: int
    job: str
    user: str
    params: Values
    since: int  # inQueueSince, ms
    due: int  # WaitingItem.timestamp: when the quiet period ends, ms
    state: str = WAITING
    buildable_since: int = 0  # NotWaitingItem.buildableStartMilliseconds
    why_blocked: str = ""
    number: int | None = None  # the build it became (LEFT, started)
    cancelled: bool = False
    left_at: float = 0.0  # monotonic


@dataclass
class Queue:
    counter: int = 0  # WaitingItem.COUNTER: the last id given
    items: dict[int, QueueItem] = field(default_factory=dict)  # in the queue, by id (insertion order)
    left: dict[int, QueueItem] = field(default_factory=dict)  # left items, kept for LEFT_ITEM_SECONDS

    def schedule(self, job: str, user: str, params: Values, quiet_seconds: int) -> tuple[QueueItem, bool]:
        """A new waiting item, or the one already queued for this job with these parameters (and False)."""
        for item in self.items.values():
            if item.job == job and item.params == params:
                return item, False
        self.counter += 1
        stamp = now_ms()
        item = QueueItem(self.counter, job, user, params, stamp, stamp + quiet_seconds * 1000)
        self.items[item.id] = item
        return item, True

    def leave(self, item: QueueItem, number: int | None, cancelled: bool = False) -> None:
        self.items.pop(item.id, None)
        item.state, item.number, item.cancelled, item.left_at = LEFT, number, cancelled, time.monotonic()
        self.left[item.id] = item

    def find(self, item_id: int) -> QueueItem | None:
        self.forget_old()
        return self.items.get(item_id) or self.left.get(item_id)

    def forget_old(self) -> None:
        horizon = time.monotonic() - LEFT_ITEM_SECONDS
        for item_id in [k for k, v in self.left.items() if v.left_at < horizon]:
            del self.left[item_id]

    def ordered(self) -> list[QueueItem]:
        """Queue.getItems: waiting, blocked, then buildable items newest first."""
        by_state = {state: [i for i in self.items.values() if i.state == state] for state in (WAITING, BLOCKED)}
        buildable = sorted((i for i in self.items.values() if i.state == BUILDABLE), key=lambda i: -i.buildable_since)
        return by_state[WAITING] + by_state[BLOCKED] + buildable

    def of_job(self, job: str) -> Iterator[QueueItem]:
        return (item for item in self.items.values() if item.job == job)

    def rename_job(self, old: str, new: str) -> None:
        for item in [*self.items.values(), *self.left.values()]:
            if item.job == old:
                item.job = new

    def replace(self, counter: int, items: list[QueueItem]) -> None:
        """Queue.load: these items, and the counter the file had."""
        self.counter = max(counter, max((i.id for i in items), default=0))
        self.items = {item.id: item for item in items}

    def why(self, item: QueueItem, quieting_down: bool) -> str | None:
        if item.state == WAITING:
            left = item.due - now_ms()
            return f"In the quiet period. Expires in {time_span(left)}" if left >= 0 else "Finished waiting"
        if item.state == BLOCKED:
            return item.why_blocked
        if item.state == BUILDABLE:
            return SHUTDOWN_WHY if quieting_down else EXECUTOR_WHY
        return None
