"""The trial's recorder: what every probe, write and watcher saw, with times on the monotonic clock.

Threads record concurrently; the recorder keeps one lock. Times stay monotonic while the trial runs
and are made relative to the fault at the end (`judge.relative_to_fault`). The record itself is
`model.Trial`, unchanged; the recorder adds what only the running trial needs: the acknowledged
creates by time (for the consistency of each probe), the fault and heal moments, and the
recovery condition that ends the waiting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from labgen.lab.jenkins_client import JenkinsClient
from labgen.verify.judge import outcome
from labgen.verify.model import HAProxyMark, Sample, Trial, WriteOp

INFINITY = float("inf")


@dataclass(frozen=True)
class Recovery:
    """When a probe's answer ends the wait for recovery: a 200 that lists every job acknowledged
    before it was sent, sent after the fault (failover: from another master than `not_from`) or
    answered after the heal (a held fault: from any master)."""

    since: Literal["fault", "heal"]
    not_from: str | None = None

    def reached(self, recorder: Recorder, sample: Sample, answered: float) -> bool:
        if sample.status != 200 or not sample.consistent:
            return False
        if self.not_from is not None and sample.served_by == self.not_from:
            return False
        if self.since == "fault":
            return sample.t >= recorder.fault_at
        return answered >= recorder.heal_at


@dataclass
class Recorder:
    trial: Trial
    recovery: Recovery | None = None  # None: `recovered` is never set
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[tuple[float, str]] = field(default_factory=list)  # (acknowledged at, job) of every acked create
    fault_at: float = INFINITY  # planned, then the moment the fault was applied
    heal_at: float = INFINITY
    recovered: threading.Event = field(default_factory=threading.Event)
    phases: list[tuple[str, float]] = field(default_factory=list)  # (phase, started at) in the order run

    def write(self, client: JenkinsClient, job: str, kind: Literal["create", "build"] = "create") -> WriteOp:
        """One write, recorded Jepsen style (invoked, done, outcome)."""
        started = time.monotonic()
        reply = client.create_job(job) if kind == "create" else client.build_job(job)
        op = WriteOp(job, kind, started, time.monotonic(), outcome(reply, kind), reply.status, reply.served_by)
        with self.lock:
            self.trial.writes.append(op)
            if kind == "create" and op.outcome == "ok":
                self.acked.append((op.t_done, job))
        return op

    def acked_jobs(self) -> set[str]:
        with self.lock:
            return {job for _, job in self.acked}

    def probe(self, client: JenkinsClient, sent: float) -> Sample:
        """One probe sent at `sent`: consistent when it lists every job acknowledged before then."""
        reply, jobs = client.list_jobs()
        answered = time.monotonic()
        with self.lock:
            required = {job for at, job in self.acked if at < sent}
            consistent = jobs is not None and required <= jobs
            held = reply.held_ms / 1000 if reply.held_ms is not None else None
            sample = Sample(sent, reply.status, reply.served_by, consistent, reply.seconds, reply.error, held_s=held)
            self.trial.samples.append(sample)
        if self.recovery is not None and self.recovery.reached(self, sample, answered):
            self.recovered.set()
        return sample

    def mark(self, at: float, status: str, server: str) -> None:
        with self.lock:
            self.trial.haproxy.append(HAProxyMark(at, status, server))

    def first_server_other_than(self, victim: str) -> str | None:
        """The first master other than `victim` that answered a probe 200 so far."""
        with self.lock:
            return next(
                (s.served_by for s in self.trial.samples if s.status == 200 and s.served_by not in (None, victim)),
                None,
            )


@dataclass
class ChangeMarker:
    """A watcher's step: read every server's status, mark each one that changed since the last read."""

    recorder: Recorder
    read: Callable[[], dict[str, str]]
    seen: dict[str, str] = field(default_factory=dict)

    def __call__(self) -> None:
        statuses = self.read()
        now = time.monotonic()
        for server, status in statuses.items():
            if self.seen.get(server) != status:
                self.seen[server] = status
                self.recorder.mark(now, status, server)
