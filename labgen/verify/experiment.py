"""`labgen verify failover` and `labgen verify switchover`: scripted experiments with numbers.

Per trial, the engine's phases (`trial`): seed jobs and builds through HAProxy, a steady load,
inject a fault on the active master (or ask the promoter for a planned switchover) while probing at
a fixed rate and writing on, recover, heal, then check every acknowledged write (a Jepsen-style
set check: lost / unexpected / recovered). Times are measured from the moment the fault is
applied; recovery moments by when the answer came back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from labgen import chaos
from labgen.errors import ActionRefused, BadOptionValue, NoSuchTarget
from labgen.events import NULL_EMITTER, Emitter
from labgen.lab import journal
from labgen.lab.handle import LabHandle
from labgen.lab.runtime import artifact_origins, wait_healthy
from labgen.verify import sessions
from labgen.verify.builds import BuildPhase
from labgen.verify.judge import check_writes, judge, relative_to_fault, survivor
from labgen.verify.lab_view import LabView
from labgen.verify.load import Load, Watcher
from labgen.verify.model import Trial, VerifyResult
from labgen.verify.recorder import ChangeMarker, Recorder, Recovery
from labgen.verify.trial import Phase, TrialRun, mark_fault, run_phases, start_steady, stop_load
from labgen.wire.files import format_seconds

FAULTS = chaos.FAULTS
AGENT_WAIT_S = 10.0  # how long after the fault the agent port may take to answer again, at least
SWITCHOVER = "switchover"
DEFAULT_PROBE_TIMEOUT: float | None = None  # as long as HAProxy may hold a request: lab_view.probe_timeout_for
SEED_JOBS = 5
WATCH_EVERY_S = 0.1


def run_failover(
    name: str,
    *,
    target: str | None = None,
    action: str = "kill",
    trials: int = 1,
    rate: float = 20.0,
    timeout: float = 60.0,
    manual_reload_after: float = 15.0,
    keep_jobs: bool = False,
    probe_timeout: float | None = DEFAULT_PROBE_TIMEOUT,
    emitter: Emitter = NULL_EMITTER,
) -> VerifyResult:
    handle = LabHandle.open(name)
    if action not in FAULTS:
        raise BadOptionValue(f"unknown --action {action!r}; valid: {', '.join(FAULTS)}")
    _check_common(handle, target, trials, rate, probe_timeout)
    lab = LabView.open(handle, probe_timeout)
    journal.record(handle.name, "verify.start", f"verify failover: {trials} x {action}", action=action, trials=trials)

    def one(number: int) -> Trial:
        victim = target or lab.active()
        emitter.emit("verify.trial", f"trial {number}/{trials}: {action} {victim}", "step")
        plan = TrialPlan(number, action, victim, rate, timeout, manual_reload_after, keep_jobs)
        return run_trial(lab, plan, emitter)

    return _run_trials(lab, action, trials, rate, one, emitter)


def run_switchover(
    name: str,
    *,
    to: str | None = None,
    trials: int = 1,
    rate: float = 20.0,
    timeout: float = 60.0,
    keep_jobs: bool = False,
    probe_timeout: float | None = DEFAULT_PROBE_TIMEOUT,
    emitter: Emitter = NULL_EMITTER,
) -> VerifyResult:
    """Planned switchovers (each to `to`, else to the next master) measured like a fault."""
    handle = LabHandle.open(name)
    if handle.topology.promoter is None:
        raise ActionRefused(
            f"lab {name} runs the {handle.topology.lab.profile} profile: it has no promoter to switch over with",
            hint="the ha profile's HAProxy promotes standbys",
        )
    _check_common(handle, to, trials, rate, probe_timeout)
    lab = LabView.open(handle, probe_timeout)
    masters = handle.topology.masters
    journal.record(handle.name, "verify.start", f"verify switchover: {trials} trials", action=SWITCHOVER, trials=trials)

    def one(number: int) -> Trial:
        leaving = lab.active()
        new = to if to is not None and to != leaving else masters[(masters.index(leaving) + 1) % len(masters)]
        emitter.emit("verify.trial", f"trial {number}/{trials}: switchover {leaving} -> {new}", "step")
        plan = TrialPlan(number, SWITCHOVER, leaving, rate, timeout, 0.0, keep_jobs, switch_to=new)
        return run_trial(lab, plan, emitter)

    return _run_trials(lab, SWITCHOVER, trials, rate, one, emitter)


def _check_common(handle: LabHandle, master: str | None, trials: int, rate: float, probe_timeout: float | None) -> None:
    masters = handle.topology.masters
    if master is not None and master not in masters:
        raise NoSuchTarget(f"{master!r} is not a master; valid: {', '.join(masters)}")
    if not 1 <= trials <= 100 or not 1 <= rate <= 100:
        raise BadOptionValue("--trials must be 1-100 and --rate 1-100 requests per second")
    if probe_timeout is not None and not 0.5 <= probe_timeout <= 120:
        raise BadOptionValue("--probe-timeout must be 0.5-120 seconds")


def _run_trials(
    lab: LabView, action: str, trials: int, rate: float, one: Callable[[int], Trial], emitter: Emitter
) -> VerifyResult:
    handle = lab.handle
    spec = handle.topology.lab
    flavour = handle.jenkins_flavour()
    result = VerifyResult(spec.name, spec.profile, flavour, spec.haproxy.version, action, rate, time.time(), [])
    result.artifacts = artifact_origins(handle)
    for number in range(1, trials + 1):
        wait_healthy(handle, timeout=180, emitter=emitter, every_balancer=False)
        trial = one(number)
        result.trials.append(trial)
        journal.record(spec.name, "verify.trial", f"trial {number}: {trial.verdict}", **trial.summary())
        emitter.emit(
            "verify.trial.done",
            f"trial {number}: {trial.verdict}; detection {format_seconds(trial.detection_s)}, "
            f"first success {format_seconds(trial.first_success_s)}, "
            f"consistent {format_seconds(trial.consistent_s)} (by answer time), "
            f"failed requests {trial.failed_requests}/{trial.requests}, unknown {trial.unknown_requests}, "
            f"latency p50 {format_seconds(trial.latency_p50_s)} p99 {format_seconds(trial.latency_p99_s)} "
            f"max {format_seconds(trial.latency_max_s)}, held in HAProxy p99 {format_seconds(trial.held_p99_s)} "
            f"max {format_seconds(trial.held_max_s)}, lost writes {len(trial.lost)}",
            "done" if trial.verdict == "pass" else "warn",
        )
    return result


@dataclass(frozen=True)
class TrialPlan:
    """One failover or switchover trial: what to do to whom, and how to watch it."""

    number: int
    action: str  # a fault, or "switchover"
    victim: str  # the master broken (or left by the switchover)
    rate: float
    timeout: float
    manual_reload_after: float
    keep_jobs: bool
    switch_to: str | None = None


@dataclass
class FailoverRun(TrialRun):
    plan: TrialPlan = field(kw_only=True)
    builds: BuildPhase | None = field(default=None, kw_only=True)
    crumb_holders: list[sessions.CrumbClient] = field(default_factory=list, kw_only=True)


def run_trial(lab: LabView, plan: TrialPlan, emitter: Emitter = NULL_EMITTER) -> Trial:
    """One failover (or switchover) trial, phase by phase."""
    prefix = f"verify-{uuid.uuid4().hex[:8]}-{plan.number}"
    kind = SWITCHOVER if plan.switch_to else "failover"
    trial = Trial(number=plan.number, action=plan.action, target=plan.victim, prefix=prefix, experiment=kind)
    recorder = Recorder(trial, recovery=Recovery("fault", not_from=plan.victim))
    run = FailoverRun(lab, recorder, emitter, plan=plan)
    run_phases(run, SWITCHOVER_PHASES if plan.switch_to else FAILOVER_PHASES)
    return trial


def seed(run: FailoverRun) -> None:
    """Jobs and builds through HAProxy, on the NFS export; then a build running, one queued (issue 11)."""
    client, recorder, trial = run.lab.client, run.recorder, run.trial
    for i in range(SEED_JOBS):
        job = f"{trial.prefix}-pre-{i}"
        if recorder.write(client, job, "create").outcome == "ok":
            recorder.write(client, job, "build")
    acked_before = recorder.acked_jobs()
    if len(acked_before) < SEED_JOBS:
        trial.reasons.append("the lab did not acknowledge every write before the fault")
    on_nfs = run.lab.jobs_on_nfs()
    if on_nfs is not None and not acked_before <= on_nfs:
        trial.reasons.append("jobs written before the fault are not on the NFS export")
    run.builds = BuildPhase.start(run.lab.handle, trial, run.plan.victim)


def steady(run: FailoverRun) -> None:
    client, recorder = run.lab.client, run.recorder
    run.crumb_holders = sessions.log_in(run.lab.handle)  # password clients on the active, before the fault
    load = Load(
        run.plan.rate,
        probe=lambda sent: recorder.probe(client, sent),
        write=lambda i: recorder.write(client, f"{run.trial.prefix}-during-{i}"),
        probe_timeout=client.timeout,
        watchers=[Watcher(WATCH_EVERY_S, ChangeMarker(recorder, run.lab.master_statuses))],
        also=[lambda: watch_agent(run)],
    )
    start_steady(run, load)


def watch_agent(run: TrialRun) -> None:
    """Until the agent port answers through HAProxy, not only while requests are probed: the agent port
    may come back a moment after the HTTP side. At most as long as a request may be held (a promotion of
    a big home lasts that long), and at least AGENT_WAIT_S after the fault."""
    recorder = run.recorder
    wait = max(AGENT_WAIT_S, run.lab.client.timeout)
    while time.monotonic() < recorder.fault_at + wait:
        time.sleep(0.25)
        if time.monotonic() >= recorder.fault_at + 0.25 and run.lab.handle.agent_port_answers():
            run.trial.agent_s = time.monotonic() - recorder.fault_at
            return


def inject_fault(run: FailoverRun) -> None:
    plan = run.plan
    mark_fault(run)
    chaos.apply(run.lab.handle, plan.action, plan.victim)
    run.emitter.emit("verify.fault", f"{plan.action} {plan.victim} applied", target=plan.victim)


def inject_switchover(run: FailoverRun) -> None:
    plan, trial = run.plan, run.trial
    assert plan.switch_to is not None
    fault_at = mark_fault(run)
    code, answer = run.lab.handle.switchover(plan.switch_to)
    trial.switch_s = round(time.monotonic() - fault_at, 3)
    trial.note = f"HTTP {code}: {answer.get('message')}"
    run.emitter.emit(
        "verify.switchover", f"switchover {plan.victim} -> {plan.switch_to}: {trial.note}", target=plan.victim
    )
    if code != 200:
        trial.reasons.append(f"the promoter did not switch over: {trial.note}")


def recover(run: FailoverRun) -> None:
    """Until another master serves consistently (the article: its manual reload if it must), then
    the tail of the load; times made relative to the fault."""
    plan, recorder, trial = run.plan, run.recorder, run.trial
    article = run.lab.topology.lab.profile == "article"
    if not recorder.recovered.wait(plan.manual_reload_after if article else plan.timeout) and article:
        standby = recorder.first_server_other_than(plan.victim)
        if standby:
            run.emitter.emit(
                "verify.manual",
                f"not consistent after {plan.manual_reload_after:.0f} s: doing the article's manual step, "
                f"POST /reload on {standby}",
                "warn",
            )
            trial.manual_reload_s = time.monotonic() - recorder.fault_at
            chaos.apply(run.lab.handle, "reload", standby)
            recorder.recovered.wait(max(1.0, plan.timeout - plan.manual_reload_after))
    stop_load(run)
    relative_to_fault(trial, recorder.fault_at)
    trial.survivor = survivor(trial, plan.victim)
    crumbs = sessions.check_after(run.lab.handle, run.crumb_holders)
    trial.crumb_clients, trial.crumbs_lost = crumbs.clients, crumbs.lost
    run.emitter.emit("verify.sessions", crumbs.line, target=plan.victim)
    trial.agent_answered = trial.agent_s is not None


def heal(run: FailoverRun) -> None:
    """Undo the fault (a switchover has nothing to undo), let the victim rejoin, see whether
    traffic flaps back to it."""
    victim = run.plan.victim
    if run.plan.action in chaos.HEAL:
        chaos.apply(run.lab.handle, chaos.HEAL[run.plan.action], victim)
    run.lab.wait_rejoined(victim, run.emitter)
    run.trial.flapped_back = run.lab.served_by(victim)


def check(run: FailoverRun) -> None:
    """Read everything back, the set check, the builds' fates; clean up; the verdict."""
    trial = run.trial
    check_writes(trial, run.lab.final_jobs(timeout=10), run.lab.jobs_on_nfs())
    assert run.builds is not None
    trial.builds = run.builds.finish(trial)
    if not run.plan.keep_jobs:
        run.lab.delete_jobs(trial.prefix)
    judge(trial)


FAILOVER_PHASES: tuple[Phase[FailoverRun], ...] = (
    Phase("seed", seed),
    Phase("steady", steady),
    Phase("inject", inject_fault),
    Phase("recover", recover),
    Phase("heal", heal),
    Phase("check", check),
)
SWITCHOVER_PHASES: tuple[Phase[FailoverRun], ...] = (
    Phase("seed", seed),
    Phase("steady", steady),
    Phase("inject", inject_switchover),
    Phase("recover", recover),
    Phase("heal", heal),
    Phase("check", check),
)
