"""The "never two ready" check (issue 20): every HAProxy's view of the masters, read through a trial.

A master is *ready* on a load balancer when that HAProxy would send it traffic: its HTTP server is
UP (not MAINT, DRAIN or DOWN). The rule, across every load balancer of the lab: at no time are two
different masters ready. A watch reads each load balancer's server states (the stats CSV, or any
reader given: the host tests read the runtime socket) every `interval` seconds in a thread of its
own; `judge` finds the moments where the newest readings of the load balancers, each at most
`window` seconds old, name more than one ready master. A load balancer that does not answer (killed,
frozen, cut off) gives no reading: it is judged again from its next answer on.

Trials call it as a component: `with SplitBrainWatch(readers) as watch: ...`, then
`watch.result()`; `readers_for(handle)` reads the lab's load balancers (`Topology.load_balancers`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from labgen.generate import secrets as secret_keys
from labgen.lab.handle import LabHandle
from labgen.model.names import HAPROXY_STATS_PORT, STATS_PATH
from labgen.wire import http
from labgen.wire.haproxy import ServerState, server_states

Reader = Callable[[], "list[ServerState] | None"]


@dataclass(frozen=True)
class Reading:
    at: float  # time.monotonic() when the answer came back
    balancer: str
    ready: tuple[str, ...]  # the masters this load balancer would send traffic to


@dataclass(frozen=True)
class Violation:
    at: float
    ready: dict[str, tuple[str, ...]]  # balancer -> its ready masters, the readings that disagree

    def describe(self, since: float = 0.0) -> str:
        views = "; ".join(f"{lb}: {', '.join(masters)}" for lb, masters in sorted(self.ready.items()))
        return f"at {self.at - since:.2f} s two masters ready ({views})"


@dataclass
class SplitBrainResult:
    readings: list[Reading] = field(default_factory=list)
    unanswered: dict[str, int] = field(default_factory=dict)  # balancer -> readings it did not answer
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> dict[str, object]:
        return {
            "readings": len(self.readings),
            "unanswered": dict(self.unanswered),
            "violations": [{"at": v.at, "ready": {k: list(m) for k, m in v.ready.items()}} for v in self.violations],
        }


def ready_masters(servers: Iterable[ServerState], backend: str, masters: Mapping[str, str]) -> tuple[str, ...]:
    """The masters whose server in `backend` is UP (`masters`: server name -> master)."""
    return tuple(sorted({masters[s.server] for s in servers if s.proxy == backend and s.server in masters and s.up}))


def judge(readings: list[Reading], window: float) -> list[Violation]:
    """Every moment (a reading) at which the newest readings of the load balancers, each at most
    `window` seconds older, name two or more masters ready between them (pure)."""
    newest: dict[str, Reading] = {}
    found: list[Violation] = []
    for reading in sorted(readings, key=lambda r: r.at):
        newest[reading.balancer] = reading
        views = {lb: r.ready for lb, r in newest.items() if reading.at - r.at <= window and r.ready}
        if len({master for ready in views.values() for master in ready}) > 1:
            found.append(Violation(reading.at, views))
    return found


class SplitBrainWatch:
    """Reads every load balancer every `interval` seconds until stopped (a context manager)."""

    def __init__(
        self,
        readers: Mapping[str, Reader],
        backend: str,
        masters: Mapping[str, str],
        *,
        interval: float = 0.05,
        window: float = 0.25,
    ) -> None:
        self.readers = dict(readers)
        self.backend = backend
        self.masters = dict(masters)
        self.interval = interval
        self.window = window
        self._result = SplitBrainResult(unanswered={name: 0 for name in self.readers})
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._watch, args=(name, reader), name=f"split-brain-{name}", daemon=True)
            for name, reader in self.readers.items()
        ]

    def _watch(self, name: str, reader: Reader) -> None:
        while not self._stop.is_set():
            try:
                servers = reader()
            except OSError:
                servers = None
            with self._lock:
                if servers is None:
                    self._result.unanswered[name] += 1
                else:
                    ready = ready_masters(servers, self.backend, self.masters)
                    self._result.readings.append(Reading(time.monotonic(), name, ready))
            self._stop.wait(self.interval)

    def __enter__(self) -> SplitBrainWatch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)

    def result(self) -> SplitBrainResult:
        with self._lock:
            readings = list(self._result.readings)
            unanswered = dict(self._result.unanswered)
        return SplitBrainResult(readings, unanswered, judge(readings, self.window))


def readers_for(handle: LabHandle, timeout: float = 1.0) -> dict[str, Reader]:
    """A reader of each of the lab's load balancers (one HAProxy or a pair): its stats CSV at its own
    fixed address on the lab network."""
    return {lb.name: _stats_reader(handle, lb.address, timeout) for lb in handle.topology.load_balancers}


def _stats_reader(handle: LabHandle, address: str, timeout: float) -> Reader:
    def read() -> list[ServerState] | None:
        auth = (handle.secrets.get(secret_keys.STATS_USER, ""), handle.secrets.get(secret_keys.STATS_PASSWORD, ""))
        path = f"{STATS_PATH};csv;norefresh"
        reply = http.request(address, HAPROXY_STATS_PORT, "GET", path, auth=auth, timeout=timeout)
        if reply.status != 200:
            return None
        return server_states(reply.body.decode("utf-8", "replace"))

    return read


def watch_lab(handle: LabHandle, **options: float) -> SplitBrainWatch:
    """The watch of a running lab's load balancers."""
    topology = handle.topology
    return SplitBrainWatch(readers_for(handle), topology.http_backend, topology.http_servers, **options)
