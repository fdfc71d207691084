"""`labgen verify fault` and `labgen verify matrix`: every service's fault, measured.

The failover experiment (`experiment`) breaks a master and watches another one take over. Here
any service is broken (the NFS server, HAProxy, which is also the promoter, or a master) and the
fault is held for a while, then healed, while probes and writes go through HAProxy as in the
failover experiment. A trial reports what clients saw while the fault lasted (ok / failed /
unknown requests, how slow, for how long), how long after the heal the lab served again and
served consistently (every acknowledged job listed), and which acknowledged writes were lost.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from labgen import chaos
from labgen.errors import EXIT_USAGE, LabgenError
from labgen.events import NULL_EMITTER, Emitter
from labgen.lab import journal
from labgen.lab.handle import LabHandle
from labgen.lab.runtime import artifact_origins, wait_healthy
from labgen.model.names import HAPROXY, NFS
from labgen.verify.experiment import FAULTS, HEAL, _active, _Context, _delete_jobs, _jobs_on_nfs, _master_statuses
from labgen.verify.judge import check_writes, outcome, relative_to_fault
from labgen.verify.model import FaultResult, FaultTrial, HAProxyMark, Sample, Trial, WriteOp
from labgen.wire.files import format_seconds
from labgen.wire.poll import wait_for

ACTIVE, STANDBY = "active", "standby"  # a master by its role when the trial starts
HUNG_S = 2.0  # an answer this slow was held or hung (the healthy lab answers in milliseconds)
ACTIVE_MARK = "active"  # HAProxyMark.server of the promoter's "active" changes


@dataclass(frozen=True)
class FaultPlan:
    """One (service, fault) trial: what to break, for how long, and how to watch."""

    service: str  # a service of the lab, or ACTIVE / STANDBY
    action: str
    hold: float = 10.0  # seconds between the fault and the heal
    rate: float = 10.0
    timeout: float = 60.0  # seconds after the heal to serve consistently again
    keep_jobs: bool = False


def matrix_services() -> list[str]:
    """The services of the matrix: NFS, HAProxy (the promoter), the active and the standby master."""
    return [NFS, HAPROXY, ACTIVE, STANDBY]


def run_faults(
    name: str,
    plans: list[FaultPlan],
    *,
    trials: int = 1,
    probe_timeout: float = 10.0,
    emitter: Emitter = NULL_EMITTER,
) -> FaultResult:
    """Run every plan `trials` times on lab `name`, each from a healthy lab."""
    handle = LabHandle.open(name)
    for plan in plans:
        check_plan(handle, plan)
    if not 1 <= trials <= 100:
        raise LabgenError("--trials must be 1-100", exit_code=EXIT_USAGE)
    context = _Context(handle, handle.jenkins(timeout=probe_timeout))
    lab = handle.topology.lab
    rate = plans[0].rate if plans else 0.0
    result = FaultResult(lab.name, lab.profile, handle.jenkins_flavour(), lab.haproxy.version, rate, time.time(), [])
    result.artifacts = artifact_origins(handle)
    what = ", ".join(f"{p.action} {p.service}" for p in plans)
    journal.record(name, "verify.start", f"verify fault: {trials} x ({what})", trials=trials)
    number = 0
    for plan in plans:
        for _ in range(trials):
            number += 1
            wait_healthy(handle, timeout=180, emitter=emitter)
            emitter.emit("verify.trial", f"trial {number}: {plan.action} {plan.service} for {plan.hold:.0f} s", "step")
            trial = run_fault_trial(context, plan, number, emitter)
            result.trials.append(trial)
            journal.record(name, "verify.trial", f"trial {number}: {trial.verdict}", **trial.summary())
            emitter.emit("verify.trial.done", describe(trial), "done" if trial.verdict == "pass" else "warn")
    return result


def check_plan(handle: LabHandle, plan: FaultPlan) -> None:
    services = [*handle.topology.services, ACTIVE, STANDBY]
    if plan.service not in services:
        raise LabgenError(f"unknown service {plan.service!r}; valid: {', '.join(services)}", exit_code=EXIT_USAGE)
    if plan.action not in FAULTS:
        raise LabgenError(f"unknown --action {plan.action!r}; valid: {', '.join(FAULTS)}", exit_code=EXIT_USAGE)
    if not 1 <= plan.hold <= 600 or not 1 <= plan.rate <= 100 or not 5 <= plan.timeout <= 600:
        raise LabgenError(
            "--hold must be 1-600 s, --rate 1-100 requests per second, --timeout 5-600 s", exit_code=EXIT_USAGE
        )


def describe(trial: FaultTrial) -> str:
    lost = len(trial.trial.lost) if trial.trial else 0
    acked = trial.trial.acknowledged if trial.trial else 0
    return (
        f"trial {trial.number}: {trial.verdict}; {trial.action} {trial.service} ({trial.role}) for "
        f"{format_seconds(trial.held_s)}: during it {trial.ok_during} ok, {trial.failed_during} failed, "
        f"{trial.unknown_during} unknown, {trial.slow_during} slow (max {format_seconds(trial.latency_max_during_s)}); "
        f"after the heal served in {format_seconds(trial.served_s)}, consistent in "
        f"{format_seconds(trial.consistent_s)}; lost writes {lost}/{acked}"
    )


def _resolve(context: _Context, service: str) -> tuple[str, str]:
    """The service to break and its role."""
    masters = context.topology.masters
    if service in (ACTIVE, STANDBY):
        active = _active(context)
        target = active if service == ACTIVE else next(m for m in masters if m != active)
        return target, f"{service} master"
    if service in masters:
        return service, f"{ACTIVE if service == _active(context) else STANDBY} master"
    roles = {NFS: "NFS server", HAPROXY: "HAProxy and the promoter"}
    return service, roles.get(service, service)


@dataclass
class _Recorder:
    """What the probe, write and watch threads of one trial record, on the monotonic clock."""

    trial: Trial
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[tuple[float, str]] = field(default_factory=list)
    heal_at: float = float("inf")
    recovered: threading.Event = field(default_factory=threading.Event)

    def create(self, context: _Context, job: str) -> WriteOp:
        started = time.monotonic()
        reply = context.client.create_job(job)
        op = WriteOp(job, "create", started, time.monotonic(), outcome(reply, "create"), reply.status, reply.served_by)
        with self.lock:
            self.trial.writes.append(op)
            if op.outcome == "ok":
                self.acked.append((op.t_done, job))
        return op

    def probe(self, context: _Context, sent: float) -> None:
        reply, jobs = context.client.list_jobs()
        answered = time.monotonic()
        with self.lock:
            needed = {job for at, job in self.acked if at < sent}
            consistent = jobs is not None and needed <= jobs
            self.trial.samples.append(
                Sample(sent, reply.status, reply.served_by, consistent, reply.seconds, reply.error)
            )
        if answered >= self.heal_at and reply.status == 200 and consistent:
            self.recovered.set()

    def mark(self, at: float, status: str, server: str) -> None:
        with self.lock:
            self.trial.haproxy.append(HAProxyMark(at, status, server))


def run_fault_trial(context: _Context, plan: FaultPlan, number: int, emitter: Emitter = NULL_EMITTER) -> FaultTrial:
    target, role = _resolve(context, plan.service)
    prefix = f"fault-{uuid.uuid4().hex[:8]}-{number}"
    trial = Trial(number=number, action=plan.action, target=target, prefix=prefix, experiment="fault")
    result = FaultTrial(number, target, plan.action, role, active_before=_active(context))
    rec = _Recorder(trial)
    for i in range(3):
        if rec.create(context, f"{prefix}-pre-{i}").outcome != "ok":
            result.reasons.append("the lab did not acknowledge every write before the fault")
    stop = threading.Event()

    def probes() -> None:
        # Enough workers that hanging requests do not slow the rate down.
        with ThreadPoolExecutor(max_workers=int(plan.rate * min(context.client.timeout, 10.0)) + 4) as pool:
            due = time.monotonic()
            while not stop.is_set():
                pool.submit(rec.probe, context, time.monotonic())
                due += 1 / plan.rate
                stop.wait(max(0.0, due - time.monotonic()))

    def writes() -> None:
        count = 0
        while not stop.wait(0.25):
            rec.create(context, f"{prefix}-during-{count}")
            count += 1

    def watch() -> None:
        seen: dict[str, str] = {}
        while not stop.wait(0.2):
            statuses = _master_statuses(context)  # {} while HAProxy does not answer
            state = context.handle.promoter_state() if context.topology.promoter is not None else None
            if state and state.get("active"):
                statuses[ACTIVE_MARK] = str(state["active"])
            now = time.monotonic()
            for server, status in statuses.items():
                if seen.get(server) != status:
                    seen[server] = status
                    rec.mark(now, status, server)

    threads = [threading.Thread(target=fn, daemon=True) for fn in (probes, writes, watch)]
    for thread in threads:
        thread.start()
    time.sleep(2.0)  # steady state before the fault
    fault_at = time.monotonic()
    chaos.apply(context.handle, plan.action, target)
    emitter.emit("verify.fault", f"{plan.action} {target} applied; healing in {plan.hold:.0f} s", target=target)
    time.sleep(max(0.0, fault_at + plan.hold - time.monotonic()))
    rec.heal_at = time.monotonic()
    chaos.apply(context.handle, HEAL[plan.action], target)
    emitter.emit("verify.heal", f"{HEAL[plan.action]} {target}", target=target)
    if not rec.recovered.wait(plan.timeout):
        result.reasons.append(f"the lab did not serve consistently within {plan.timeout:.0f} s of the heal")
    time.sleep(1.0)  # keep probing and writing a little after recovery
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    result.held_s = round(rec.heal_at - fault_at, 3)
    with rec.lock:
        measure(result, trial, fault_at, rec.heal_at)
    final = wait_for(lambda: context.client.list_jobs()[1], timeout=15)
    check_writes(trial, final, _jobs_on_nfs(context.handle))
    result.active_after = _active(context)
    if not plan.keep_jobs:
        _delete_jobs(context, trial)
    result.trial = trial
    judge_fault(result, context.topology.promoter is not None)
    return result


def measure(result: FaultTrial, trial: Trial, fault_at: float, heal_at: float) -> None:
    """Times relative to the fault (recovery: to the heal), and what clients saw meanwhile."""
    held = heal_at - fault_at
    relative_to_fault(trial, fault_at)
    during = [s for s in trial.samples if 0 <= s.t < held]
    result.ok_during = sum(s.outcome == "ok" for s in during)
    result.failed_during = sum(s.outcome == "failed" for s in during)
    result.unknown_during = sum(s.outcome == "unknown" for s in during)
    result.slow_during = sum(s.outcome != "unknown" and s.seconds >= HUNG_S for s in during)
    result.latency_max_during_s = round(max(s.seconds for s in during), 3) if during else None
    # What clients saw as an outage: from the first request sent that failed, hung or was slow, to
    # the last such answer (or give-up).
    bad = [s for s in trial.samples if s.answered >= 0 and (s.outcome != "ok" or s.seconds >= HUNG_S)]
    result.outage_s = round(max(s.answered for s in bad) - max(0.0, min(s.t for s in bad)), 3) if bad else None
    after = sorted((s for s in trial.samples if s.answered >= held and s.status == 200), key=lambda s: s.answered)
    served = after[0] if after else None
    consistent = next((s for s in after if s.consistent), None)
    result.served_s = round(served.answered - held, 3) if served else None
    result.consistent_s = round(consistent.answered - held, 3) if consistent else None
    changes = [m.status for m in trial.haproxy if m.server == ACTIVE_MARK]
    result.active_changes = max(0, len(changes) - 1)
    result.masters_marked_s = _no_master_up(trial)
    writes = [op for op in trial.writes if 0 <= op.t_invoke < held]
    result.writes_failed = sum(op.outcome == "fail" for op in writes)
    result.writes_unknown = sum(op.outcome == "info" for op in writes)


def _no_master_up(trial: Trial) -> float | None:
    """When HAProxy first showed no master UP after the fault (from the watcher's marks)."""
    status: dict[str, str] = {}
    for mark in trial.haproxy:
        if mark.server == ACTIVE_MARK:
            continue
        status[mark.server] = mark.status
        if mark.t >= 0 and status and not any(s.startswith("UP") for s in status.values()):
            return round(mark.t, 3)
    return None


def judge_fault(result: FaultTrial, has_promoter: bool) -> None:
    trial = result.trial
    if result.consistent_s is None and not any("consistently" in r for r in result.reasons):
        result.reasons.append("no answer after the heal listed every acknowledged job")
    if trial is not None:
        checks = (
            (trial.lost, "acknowledged writes lost"),
            (trial.unexpected, "jobs that were never written appeared"),
            (trial.missing_on_nfs, "acknowledged jobs missing on the NFS export"),
        )
        result.reasons += [f"{len(found)} {what}" for found, what in checks if found]
    if result.service == NFS and has_promoter:
        # Every master shares the NFS server: switching masters cannot help, only hurt.
        if result.active_changes:
            result.reasons.append(f"the promoter changed the active master {result.active_changes} times")
        if result.masters_marked_s is None and result.held_s >= 5:
            result.reasons.append("HAProxy never marked the active master down (its home check)")
    result.verdict = "fail" if result.reasons else "pass"
