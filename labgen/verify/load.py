"""The load a trial keeps on the lab while it runs: probes at a fixed rate, a write every
WRITE_EVERY_S, and watchers that look at HAProxy on their own period, each in a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

WRITE_EVERY_S = 0.25
WRITER_THREAD = "verify-writes"
PROBE_POOL_CAP_S = 10.0  # probes hanging longer than this may slow the rate down


def pool_size(rate: float, probe_timeout: float) -> int:
    """Enough workers that probes hanging on a dead master (up to the probe timeout) do not slow
    the rate down."""
    return int(rate * min(probe_timeout, PROBE_POOL_CAP_S)) + 4


@dataclass(frozen=True)
class Watcher:
    """`step` every `every` seconds while the load runs (the first one `every` after the start)."""

    every: float
    step: Callable[[], None]


@dataclass
class Load:
    """Probes (`probe(sent)`, `rate` per second, each stamped with the moment it was sent), writes
    (`write(i)`, i = 0, 1, ...), watchers, and threads of their own (`also`, which end by themselves)."""

    rate: float
    probe: Callable[[float], object]
    write: Callable[[int], object] | None
    probe_timeout: float
    watchers: list[Watcher] = field(default_factory=list)
    also: list[Callable[[], None]] = field(default_factory=list)
    join_timeout: float = 10.0
    stopped: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self.stopped.is_set()

    def start(self) -> None:
        work: list[Callable[[], None]] = [self._probes]
        if self.write is not None:
            work.append(self._writes)
        work += [self._watch(watcher) for watcher in self.watchers]
        work += self.also
        self._threads = [
            threading.Thread(target=fn, daemon=True, name=WRITER_THREAD if fn == self._writes else None) for fn in work
        ]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop and wait for the threads (at most `join_timeout` each: a probe may still hang). The writer
        is waited for as long as its last write may take: the set check needs every write's outcome, and
        a create that ends after the final read would look like a job that was never written."""
        self.stopped.set()
        for thread in self._threads:
            writer = thread.name == WRITER_THREAD
            thread.join(timeout=max(self.join_timeout, self.probe_timeout + 1) if writer else self.join_timeout)

    def _probes(self) -> None:
        with ThreadPoolExecutor(max_workers=pool_size(self.rate, self.probe_timeout)) as pool:
            due = time.monotonic()
            while not self.stopped.is_set():
                pool.submit(self.probe, time.monotonic())
                due += 1 / self.rate
                self.stopped.wait(max(0.0, due - time.monotonic()))

    def _writes(self) -> None:
        assert self.write is not None
        count = 0
        while not self.stopped.wait(WRITE_EVERY_S):
            self.write(count)
            count += 1

    def _watch(self, watcher: Watcher) -> Callable[[], None]:
        def loop() -> None:
            while not self.stopped.wait(watcher.every):
                watcher.step()

        return loop
