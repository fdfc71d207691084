"""What does not depend on each other runs at once: each job in a thread, a job waiting for another's
result says so (``build.wait``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from labgen.events import Emitter, Event, Level

T = TypeVar("T")
QUIET_WAIT_S = 1.0  # a wait shorter than this (a cache lookup) is not worth an event


class SerialEmitter(Emitter):
    """Passes events on to another emitter one at a time: the jobs' threads emit concurrently."""

    def __init__(self, inner: Emitter) -> None:
        super().__init__()
        self._inner = inner
        self._lock = threading.Lock()

    def emit(self, kind: str, message: str, level: Level = "info", **data: object) -> Event:
        with self._lock:
            return self._inner.emit(kind, message, level, **data)


@dataclass
class Job(Generic[T]):
    what: str  # what it makes, as a wait event names it: "the base image", "HAProxy", ...
    future: Future[T]

    def result(self) -> T:
        return self.future.result()


class Jobs:
    """Each job in a thread of its own, started at once; a job that needs another one's result
    waits for it with `wait`, which says so (``build.wait``) when it is not there yet. The
    threads are daemons: an interrupted build does not wait for the others to finish."""

    def __init__(self, emitter: Emitter) -> None:
        self.emitter = emitter

    def spawn(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Job[T]:
        future: Future[T] = Future()

        def run() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to whoever waits for it
                future.set_exception(exc)

        threading.Thread(target=run, name=f"labgen-build {what}", daemon=True).start()
        return Job(what, future)

    def wait(self, waiter: str, *jobs: Job[Any]) -> list[Any]:
        futures.wait([job.future for job in jobs], timeout=QUIET_WAIT_S)  # found in the cache: no event
        pending = [job.what for job in jobs if not job.future.done()]
        if pending:
            started = time.monotonic()
            self.emitter.emit(
                "build.wait", f"{waiter}: waits for {' and '.join(pending)}", image=waiter, waits_for=pending
            )
            results = [job.result() for job in jobs]
            self.emitter.emit(
                "build.progress",
                f"{waiter}: waited {time.monotonic() - started:.0f} s for {' and '.join(pending)}",
                image=waiter,
                line="",
                step=True,
            )
            return results
        return [job.result() for job in jobs]
