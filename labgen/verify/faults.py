"""`labgen verify fault` and `labgen verify matrix`: every service's fault, measured.

The failover experiment (`experiment`) breaks a master and watches another one take over. Here
any service is broken (the NFS server, HAProxy, which is also the promoter, or a master) and the
fault is held for a while, then healed, while probes and writes go through HAProxy, on the same
trial engine (`trial`) in another order: seed, steady, inject (and hold), heal, recover, check.
A trial reports what clients saw while the fault lasted (ok / failed / unknown requests, how slow,
for how long), how long after the heal the lab served again and served consistently (every
acknowledged job listed), and which acknowledged writes were lost.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from docker.errors import APIError

from labgen import chaos
from labgen.chaos.faults import resolve_target
from labgen.errors import BadOptionValue, NoSuchTarget
from labgen.events import NULL_EMITTER, Emitter
from labgen.lab import journal
from labgen.lab.handle import LabHandle
from labgen.lab.runtime import artifact_origins, wait_healthy
from labgen.model.names import HAPROXY, NFS, PROMOTE_START_EVENT, PROMOTER_LOG_PREFIX
from labgen.verify.judge import check_writes, relative_to_fault, two_ready_reasons
from labgen.verify.lab_view import LabView
from labgen.verify.load import Load, Watcher
from labgen.verify.model import FaultResult, FaultTrial, Trial
from labgen.verify.recorder import ChangeMarker, Recorder, Recovery
from labgen.verify.trial import Phase, TrialRun, mark_fault, run_phases, start_steady, stop_load
from labgen.wire.files import format_seconds

FAULTS = chaos.VERIFIABLE  # held and healed (kill, stop, pause, partition; a pair's too), or instant (reload)
ACTIVE, STANDBY = "active", "standby"  # a master by its role when the trial starts
HUNG_S = 2.0  # an answer this slow was held or hung (the healthy lab answers in milliseconds)
ACTIVE_MARK = "active"  # HAProxyMark.server of the promoter's "active" changes
SEED_JOBS = 3
PROMOTE_START_LINE = PROMOTER_LOG_PREFIX + PROMOTE_START_EVENT  # a promotion's first line in HAProxy's log
WATCH_EVERY_S = 0.2


@dataclass(frozen=True)
class FaultPlan:
    """One (service, fault) trial: what to break, for how long, and how to watch."""

    service: str  # a service of the lab, or ACTIVE / STANDBY
    action: str
    hold: float = 10.0  # seconds between the fault and the heal
    rate: float = 10.0
    timeout: float = 60.0  # seconds after the heal to serve consistently again
    keep_jobs: bool = False
    pair_only: bool = False  # the matrix's pair faults: skipped on a lab with one HAProxy


def matrix_plans(hold: float, rate: float, timeout: float) -> list[FaultPlan]:
    """The matrix: every fault of every matrix service, and a pair's own faults of the VIP's holder."""
    plans = [
        FaultPlan(service, action, hold, rate, timeout) for service in matrix_services() for action in chaos.FAULTS
    ]
    plans += [FaultPlan(HAPROXY, action, hold, rate, timeout, pair_only=True) for action in chaos.PAIR_FAULTS]
    return plans


def matrix_services() -> list[str]:
    """The services of the matrix: NFS, HAProxy (the promoter), the active and the standby master."""
    return [NFS, HAPROXY, ACTIVE, STANDBY]


def run_faults(
    name: str,
    plans: list[FaultPlan],
    *,
    trials: int = 1,
    probe_timeout: float | None = None,
    emitter: Emitter = NULL_EMITTER,
) -> FaultResult:
    """Run every plan `trials` times on lab `name`, each from a healthy lab."""
    handle = LabHandle.open(name)
    plans = [plan for plan in plans if handle.topology.pair or not plan.pair_only]
    for plan in plans:
        check_plan(handle, plan)
    if not 1 <= trials <= 100:
        raise BadOptionValue("--trials must be 1-100")
    view = LabView.open(handle, probe_timeout)
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
            wait_healthy(handle, timeout=180, emitter=emitter, every_balancer=False)
            emitter.emit("verify.trial", f"trial {number}: {plan.action} {plan.service} for {plan.hold:.0f} s", "step")
            trial = run_fault_trial(view, plan, number, emitter)
            result.trials.append(trial)
            journal.record(name, "verify.trial", f"trial {number}: {trial.verdict}", **trial.summary())
            emitter.emit("verify.trial.done", describe(trial), "done" if trial.verdict == "pass" else "warn")
    return result


def check_plan(handle: LabHandle, plan: FaultPlan) -> None:
    services = [*chaos.targets(handle.topology), ACTIVE, STANDBY]
    if plan.service not in services:
        raise NoSuchTarget(f"unknown service {plan.service!r}; valid: {', '.join(services)}")
    if plan.action not in FAULTS:
        raise BadOptionValue(f"unknown --action {plan.action!r}; valid: {', '.join(FAULTS)}")
    if plan.service not in (ACTIVE, STANDBY):
        chaos.validate(handle.topology, plan.action, plan.service)
    if not 1 <= plan.hold <= 600 or not 1 <= plan.rate <= 100 or not 5 <= plan.timeout <= 600:
        raise BadOptionValue("--hold must be 1-600 s, --rate 1-100 requests per second, --timeout 5-600 s")


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


def _resolve(lab: LabView, service: str) -> tuple[str, str]:
    """The service to break and its role."""
    masters = lab.topology.masters
    if service in (ACTIVE, STANDBY):
        active = lab.active()
        target = active if service == ACTIVE else next(m for m in masters if m != active)
        return target, f"{service} master"
    if service in masters:
        return service, f"{ACTIVE if service == lab.active() else STANDBY} master"
    topology = lab.topology
    if topology.pair and service in [HAPROXY, *topology.load_balancer_names]:
        holders = lab.handle.vip_holders()
        target = resolve_target(lab.handle, service)
        return target, "HAProxy holding the VIP" if target in holders else "HAProxy not holding the VIP"
    roles = {NFS: "NFS server", HAPROXY: "HAProxy and the promoter"}
    return service, roles.get(service, service)


@dataclass
class FaultRun(TrialRun):
    plan: FaultPlan = field(kw_only=True)
    result: FaultTrial = field(kw_only=True)
    applied_at: float | None = field(default=None, kw_only=True)  # when the fault's command returned
    fault_wall: float | None = field(default=None, kw_only=True)  # the fault's time.time()


def run_fault_trial(lab: LabView, plan: FaultPlan, number: int, emitter: Emitter = NULL_EMITTER) -> FaultTrial:
    """One held fault, phase by phase: seed, steady, inject (and hold), heal, recover, check."""
    target, role = _resolve(lab, plan.service)
    prefix = f"fault-{uuid.uuid4().hex[:8]}-{number}"
    trial = Trial(number=number, action=plan.action, target=target, prefix=prefix, experiment="fault")
    result = FaultTrial(number, target, plan.action, role, active_before=lab.active())
    run = FaultRun(lab, Recorder(trial, recovery=Recovery("heal")), emitter, plan=plan, result=result)
    run_phases(run, FAULT_PHASES)
    return result


def seed(run: FaultRun) -> None:
    for i in range(SEED_JOBS):
        if run.recorder.write(run.lab.client, f"{run.trial.prefix}-pre-{i}").outcome != "ok":
            run.result.reasons.append("the lab did not acknowledge every write before the fault")


def steady(run: FaultRun) -> None:
    client, recorder = run.lab.client, run.recorder
    load = Load(
        run.plan.rate,
        probe=lambda sent: recorder.probe(client, sent),
        write=lambda i: recorder.write(client, f"{run.trial.prefix}-during-{i}"),
        probe_timeout=client.timeout,
        watchers=[Watcher(WATCH_EVERY_S, ChangeMarker(recorder, lambda: _statuses(run.lab)))],
        join_timeout=15,
    )
    start_steady(run, load)


def _statuses(lab: LabView) -> dict[str, str]:
    """Every master's status ({} while HAProxy does not answer) and the promoter's active one."""
    statuses = lab.master_statuses()
    state = lab.handle.promoter_state() if lab.topology.promoter is not None else None
    if state and state.get("active"):
        statuses[ACTIVE_MARK] = str(state["active"])
    return statuses


def inject(run: FaultRun) -> None:
    """Apply the fault and hold it for the plan's hold once it is in place: a `docker stop` returns
    only when the container has stopped (HAProxy finishing its sessions: about 4 s), and a hold
    counted from the command's start would leave nothing of "during" to measure."""
    plan, target = run.plan, run.trial.target
    mark_fault(run)
    run.fault_wall = time.time()
    chaos.apply(run.lab.handle, plan.action, target)
    run.applied_at = time.monotonic()
    run.emitter.emit("verify.fault", f"{plan.action} {target} applied; healing in {plan.hold:.0f} s", target=target)
    time.sleep(max(0.0, run.applied_at + plan.hold - time.monotonic()))


def heal(run: FaultRun) -> None:
    action, target = chaos.HEAL.get(run.plan.action), run.trial.target
    run.recorder.heal_at = time.monotonic()
    if action is None:  # an instant fault (a reload): nothing stays broken
        return
    chaos.apply(run.lab.handle, action, target)
    run.emitter.emit("verify.heal", f"{action} {target}", target=target)


def recover(run: FaultRun) -> None:
    """Until an answer after the heal lists every acknowledged job, the tail of the load; measured."""
    recorder, result = run.recorder, run.result
    if not recorder.recovered.wait(run.plan.timeout):
        result.reasons.append(f"the lab did not serve consistently within {run.plan.timeout:.0f} s of the heal")
    stop_load(run)
    result.held_s = round(recorder.heal_at - recorder.fault_at, 3)
    with recorder.lock:
        measure(result, run.trial, recorder.fault_at, recorder.heal_at, run.applied_at)


def check(run: FaultRun) -> None:
    trial, result = run.trial, run.result
    check_writes(trial, run.lab.final_jobs(timeout=15), run.lab.jobs_on_nfs())
    result.active_after = run.lab.active()
    if run.lab.topology.promoter is not None and run.fault_wall is not None:
        result.promotions_during = promotions_since(run.lab.handle, run.fault_wall)
    if not run.plan.keep_jobs:
        run.lab.delete_jobs(trial.prefix)
    result.trial = trial
    judge_fault(result, run.lab.topology.promoter is not None)


FAULT_PHASES: tuple[Phase[FaultRun], ...] = (
    Phase("seed", seed),
    Phase("steady", steady),
    Phase("inject", inject),
    Phase("heal", heal),
    Phase("recover", recover),
    Phase("check", check),
)


def measure(result: FaultTrial, trial: Trial, fault_at: float, heal_at: float, applied_at: float | None = None) -> None:
    """Times relative to the fault (recovery: to the heal), and what clients saw meanwhile: "during"
    is from the moment the fault's command returned (a request sent while `docker kill` was still on
    its way may be answered by the service it was about to kill) to the heal."""
    held = heal_at - fault_at
    relative_to_fault(trial, fault_at)
    start = max(0.0, applied_at - fault_at) if applied_at is not None else 0.0
    during = [s for s in trial.samples if start <= s.t < held]
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


def promotions_since(handle: LabHandle, since: float) -> int | None:
    """How many promotions (each one a Jenkins reload) the promoter started since `since`, from
    HAProxy's log (every load balancer's); None when it cannot be read."""
    count = 0
    try:
        for balancer in handle.topology.load_balancers:
            for container in handle.containers(balancer.name):
                text = container.logs(since=int(since) - 1, stdout=True, stderr=True).decode(errors="replace")
                count += sum(line.startswith(PROMOTE_START_LINE) for line in text.splitlines())
    except (APIError, OSError):
        return None
    return count


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
        result.reasons += two_ready_reasons(trial)
    if result.service == NFS and has_promoter:
        # Every master shares the NFS server: switching masters cannot help, only hurt.
        if result.active_changes:
            result.reasons.append(f"the promoter changed the active master {result.active_changes} times")
        if result.masters_marked_s is None and result.held_s >= 5:
            result.reasons.append("HAProxy never marked the active master down (its home check)")
    if result.service.startswith(HAPROXY) and result.action == "reload" and has_promoter:
        # A soft reload of HAProxy must keep the active master as it is (issue 20).
        if result.promotions_during:
            result.reasons.append(f"a master was reloaded: the promoter started {result.promotions_during} promotions")
        if result.active_changes:
            result.reasons.append(f"the promoter changed the active master {result.active_changes} times")
    result.verdict = "fail" if result.reasons else "pass"
