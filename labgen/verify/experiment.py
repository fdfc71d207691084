"""`labgen verify failover` and `labgen verify switchover`: scripted experiments with numbers.

Per trial: write jobs and builds through HAProxy, apply a fault to the active master (or ask the
promoter for a planned switchover) while probing at a fixed rate and writing on, heal, then check
every acknowledged write (a Jepsen-style set check: lost / unexpected / recovered). Times are
measured from the moment the fault is applied; recovery moments by when the answer came back.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from labgen import chaos
from labgen.errors import EXIT_USAGE, LabgenError
from labgen.events import NULL_EMITTER, Emitter
from labgen.lab import journal
from labgen.lab.handle import LabHandle
from labgen.lab.jenkins_client import JenkinsClient
from labgen.lab.runtime import artifact_origins, wait_healthy
from labgen.model.names import JENKINS_HOME_DIR, NFS, NFS_EXPORT_DIR
from labgen.model.topology import Topology
from labgen.verify import sessions
from labgen.verify.builds import BuildPhase
from labgen.verify.judge import check_writes, judge, outcome, relative_to_fault, survivor
from labgen.verify.model import HAProxyMark, Sample, Trial, VerifyResult, WriteOp
from labgen.wire.files import format_seconds
from labgen.wire.poll import wait_for

FAULTS = ("kill", "stop", "pause", "partition")
AGENT_WAIT_S = 10.0  # how long after the fault the agent port may take to answer again
HEAL = {"kill": "start", "stop": "start", "pause": "unpause", "partition": "heal"}
SWITCHOVER = "switchover"
DEFAULT_PROBE_TIMEOUT = 10.0  # long enough to measure a request held in HAProxy, not cut it off
RELOADING = "MAINT (reloading)"


@dataclass
class _Context:
    """What one trial needs to reach the lab from the host."""

    handle: LabHandle
    client: JenkinsClient

    @property
    def topology(self) -> Topology:
        return self.handle.topology


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
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
    emitter: Emitter = NULL_EMITTER,
) -> VerifyResult:
    handle = LabHandle.open(name)
    if action not in FAULTS:
        raise LabgenError(f"unknown --action {action!r}; valid: {', '.join(FAULTS)}", exit_code=EXIT_USAGE)
    _check_common(handle, target, trials, rate, probe_timeout)
    context = _Context(handle, handle.jenkins(timeout=probe_timeout))
    journal.record(handle.name, "verify.start", f"verify failover: {trials} x {action}", action=action, trials=trials)

    def one(number: int) -> Trial:
        victim = target or _active(context)
        emitter.emit("verify.trial", f"trial {number}/{trials}: {action} {victim}", "step")
        return _run_trial(
            context, _Plan(number, action, victim, rate, timeout, manual_reload_after, keep_jobs), emitter
        )

    return _run_trials(context, action, trials, rate, one, emitter)


def run_switchover(
    name: str,
    *,
    to: str | None = None,
    trials: int = 1,
    rate: float = 20.0,
    timeout: float = 60.0,
    keep_jobs: bool = False,
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
    emitter: Emitter = NULL_EMITTER,
) -> VerifyResult:
    """Planned switchovers (each to `to`, else to the next master) measured like a fault."""
    handle = LabHandle.open(name)
    if handle.topology.promoter is None:
        raise LabgenError(
            f"lab {name} runs the {handle.topology.lab.profile} profile: it has no promoter to switch over with",
            hint="the ha profile's HAProxy promotes standbys",
            exit_code=EXIT_USAGE,
        )
    _check_common(handle, to, trials, rate, probe_timeout)
    context = _Context(handle, handle.jenkins(timeout=probe_timeout))
    masters = handle.topology.masters
    journal.record(handle.name, "verify.start", f"verify switchover: {trials} trials", action=SWITCHOVER, trials=trials)

    def one(number: int) -> Trial:
        leaving = _active(context)
        new = to if to is not None and to != leaving else masters[(masters.index(leaving) + 1) % len(masters)]
        emitter.emit("verify.trial", f"trial {number}/{trials}: switchover {leaving} -> {new}", "step")
        plan = _Plan(number, SWITCHOVER, leaving, rate, timeout, 0.0, keep_jobs, switch_to=new)
        return _run_trial(context, plan, emitter)

    return _run_trials(context, SWITCHOVER, trials, rate, one, emitter)


def _check_common(handle: LabHandle, master: str | None, trials: int, rate: float, probe_timeout: float) -> None:
    masters = handle.topology.masters
    if master is not None and master not in masters:
        raise LabgenError(f"{master!r} is not a master; valid: {', '.join(masters)}", exit_code=EXIT_USAGE)
    if not 1 <= trials <= 100 or not 1 <= rate <= 100:
        raise LabgenError("--trials must be 1-100 and --rate 1-100 requests per second", exit_code=EXIT_USAGE)
    if not 0.5 <= probe_timeout <= 120:
        raise LabgenError("--probe-timeout must be 0.5-120 seconds", exit_code=EXIT_USAGE)


def _run_trials(
    context: _Context, action: str, trials: int, rate: float, one: Callable[[int], Trial], emitter: Emitter
) -> VerifyResult:
    handle = context.handle
    lab = handle.topology.lab
    flavour = handle.jenkins_flavour()
    result = VerifyResult(lab.name, lab.profile, flavour, lab.haproxy.version, action, rate, time.time(), [])
    result.artifacts = artifact_origins(handle)
    for number in range(1, trials + 1):
        wait_healthy(handle, timeout=180, emitter=emitter)
        trial = one(number)
        result.trials.append(trial)
        journal.record(lab.name, "verify.trial", f"trial {number}: {trial.verdict}", **trial.summary())
        emitter.emit(
            "verify.trial.done",
            f"trial {number}: {trial.verdict}; detection {format_seconds(trial.detection_s)}, "
            f"first success {format_seconds(trial.first_success_s)}, "
            f"consistent {format_seconds(trial.consistent_s)} (by answer time), "
            f"failed requests {trial.failed_requests}/{trial.requests}, unknown {trial.unknown_requests}, "
            f"latency p50 {format_seconds(trial.latency_p50_s)} p99 {format_seconds(trial.latency_p99_s)} "
            f"max {format_seconds(trial.latency_max_s)}, lost writes {len(trial.lost)}",
            "done" if trial.verdict == "pass" else "warn",
        )
    return result


@dataclass(frozen=True)
class _Plan:
    """One trial: what to do to whom, and how to watch it."""

    number: int
    action: str  # a fault, or "switchover"
    victim: str  # the master broken (or left by the switchover)
    rate: float
    timeout: float
    manual_reload_after: float
    keep_jobs: bool
    switch_to: str | None = None


def _active(context: _Context) -> str:
    for _ in range(20):
        reply, _jobs = context.client.list_jobs()
        if reply.status == 200 and reply.served_by in context.topology.masters:
            return reply.served_by
        time.sleep(0.5)
    raise LabgenError("cannot tell which master is active: HAProxy does not answer with a master", hint="labgen status")


def _run_trial(context: _Context, plan: _Plan, emitter: Emitter) -> Trial:
    number, action, victim, rate, timeout = plan.number, plan.action, plan.victim, plan.rate, plan.timeout
    prefix = f"verify-{uuid.uuid4().hex[:8]}-{number}"
    kind = SWITCHOVER if plan.switch_to else "failover"
    trial = Trial(number=number, action=action, target=victim, prefix=prefix, experiment=kind)
    lock = threading.Lock()
    # Times are taken on the monotonic clock and made relative to the fault at the end.
    acked: list[tuple[float, str]] = []  # (acknowledged at, job) for every acknowledged create
    clock = {"fault": float("inf")}  # planned just before the probes start

    def write(job: str, kind: Literal["create", "build"]) -> WriteOp:
        t_invoke = time.monotonic()
        reply = context.client.create_job(job) if kind == "create" else context.client.build_job(job)
        op = WriteOp(job, kind, t_invoke, time.monotonic(), outcome(reply, kind), reply.status, reply.served_by)
        with lock:
            trial.writes.append(op)
            if kind == "create" and op.outcome == "ok":
                acked.append((op.t_done, job))
        return op

    # Before: jobs and builds through HAProxy, on the NFS export.
    for i in range(5):
        job = f"{prefix}-pre-{i}"
        if write(job, "create").outcome == "ok":
            write(job, "build")
    acked_before = {job for _, job in acked}
    if len(acked_before) < 5:
        trial.reasons.append("the lab did not acknowledge every write before the fault")
    on_nfs = _jobs_on_nfs(context.handle)
    if on_nfs is not None and not acked_before <= on_nfs:
        trial.reasons.append("jobs written before the fault are not on the NFS export")

    build_phase = BuildPhase.start(context.handle, trial, victim)  # a build running, one queued (issue 11)
    stop = threading.Event()
    done = threading.Event()

    def probe(sent: float) -> None:
        reply, jobs = context.client.list_jobs()
        with lock:
            required = {job for at, job in acked if at < sent}
        # Consistent: the answer shows every job whose creation was acknowledged before it was asked.
        consistent = jobs is not None and required <= jobs
        sample = Sample(sent, reply.status, reply.served_by, consistent, reply.seconds, reply.error)
        with lock:
            trial.samples.append(sample)
        if sent >= clock["fault"] and reply.status == 200 and reply.served_by != victim and consistent:
            done.set()

    def prober() -> None:
        # Enough workers that requests hanging on a dead master do not slow the rate down; each
        # sample is stamped with the moment it was sent.
        with ThreadPoolExecutor(max_workers=int(rate * min(context.client.timeout, 10.0)) + 4) as pool:
            next_at = time.monotonic()
            while not stop.is_set():
                pool.submit(probe, time.monotonic())
                next_at += 1 / rate
                stop.wait(max(0.0, next_at - time.monotonic()))

    def writer() -> None:
        i = 0
        while not stop.wait(0.25):
            write(f"{prefix}-during-{i}", "create")
            i += 1

    def watcher() -> None:
        last: dict[str, str] = {}
        while not stop.wait(0.1):
            statuses = _master_statuses(context)
            now = time.monotonic()
            with lock:
                for master, status in statuses.items():
                    if last.get(master) != status:
                        trial.haproxy.append(HAProxyMark(now, status, master))
                        last[master] = status

    def agent_watcher() -> None:
        # Watched until it answers (at most AGENT_WAIT_S after the fault), not only while requests
        # are probed: the agent port may come back a moment after the HTTP side.
        while time.monotonic() < clock["fault"] + AGENT_WAIT_S:
            time.sleep(0.25)
            if time.monotonic() >= clock["fault"] + 0.25 and context.handle.agent_port_answers():
                trial.agent_s = time.monotonic() - clock["fault"]
                return

    crumb_holders = sessions.log_in(context.handle)
    threads = [threading.Thread(target=fn, daemon=True) for fn in (prober, writer, watcher, agent_watcher)]
    clock["fault"] = time.monotonic() + 2.0  # two seconds of steady state before the fault
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, clock["fault"] - time.monotonic()))
    clock["fault"] = time.monotonic()
    if plan.switch_to is not None:
        code, answer = context.handle.switchover(plan.switch_to)
        trial.switch_s = round(time.monotonic() - clock["fault"], 3)
        trial.note = f"HTTP {code}: {answer.get('message')}"
        emitter.emit("verify.switchover", f"switchover {victim} -> {plan.switch_to}: {trial.note}", target=victim)
        if code != 200:
            trial.reasons.append(f"the promoter did not switch over: {trial.note}")
    else:
        chaos.apply(context.handle, action, victim)
        emitter.emit("verify.fault", f"{action} {victim} applied", target=victim)

    article = context.topology.lab.profile == "article"
    if not done.wait(plan.manual_reload_after if article else timeout) and article:
        standby = _survivor_so_far(trial, victim, lock)
        if standby:
            emitter.emit(
                "verify.manual",
                f"not consistent after {plan.manual_reload_after:.0f} s: doing the article's manual step, "
                f"POST /reload on {standby}",
                "warn",
            )
            trial.manual_reload_s = time.monotonic() - clock["fault"]
            chaos.apply(context.handle, "reload", standby)
            done.wait(max(1.0, timeout - plan.manual_reload_after))
    time.sleep(1.0)  # keep probing and writing a little after recovery
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    relative_to_fault(trial, clock["fault"])

    trial.survivor = survivor(trial, victim)
    crumbs = sessions.check_after(context.handle, crumb_holders)
    trial.crumb_clients, trial.crumbs_lost = crumbs.clients, crumbs.lost
    emitter.emit("verify.sessions", crumbs.line, target=victim)
    trial.agent_answered = trial.agent_s is not None
    # After: heal, let the victim rejoin, read everything back.
    if action in HEAL:
        chaos.apply(context.handle, HEAL[action], victim)
    _wait_rejoined(context, victim, emitter)
    trial.flapped_back = _served_by_victim(context, victim)
    final = wait_for(lambda: context.client.list_jobs()[1], timeout=10)
    check_writes(trial, final, _jobs_on_nfs(context.handle))
    trial.builds = build_phase.finish(trial)
    if not plan.keep_jobs:
        _delete_jobs(context, trial)
    judge(trial)
    return trial


def _master_statuses(context: _Context) -> dict[str, str]:
    """HAProxy's status of every master's HTTP server; the promoter says which one it is reloading."""
    handle = context.handle
    if handle.topology.promoter is not None:
        state = handle.promoter_state()
        if state is None:
            return {}
        servers = state.get("servers") or {}
        statuses = {m: str(servers.get(handle.topology.http_server(m), "?")) for m in handle.topology.masters}
        if state.get("phase") == "reloading" and state.get("promoting") in statuses:
            statuses[state["promoting"]] = RELOADING
        return statuses
    servers = handle.http_servers(handle.haproxy_servers())
    found = {handle.topology.master_of_server(s.server): s.status for s in servers}
    return {m: status for m, status in found.items() if m is not None}


def _survivor_so_far(trial: Trial, victim: str, lock: threading.Lock) -> str | None:
    with lock:
        return next((s.served_by for s in trial.samples if s.status == 200 and s.served_by not in (None, victim)), None)


def _jobs_on_nfs(handle: LabHandle) -> set[str] | None:
    """Job folders in the NFS server's export, read inside the NFS container."""
    containers = handle.containers(NFS, all_states=False)
    if not containers:
        return None
    home = JENKINS_HOME_DIR.rsplit("/", 1)[-1]
    result = containers[0].exec_run(["ls", "-1", f"{NFS_EXPORT_DIR}/{home}/jobs"])
    if result.exit_code != 0:
        return None
    return set(result.output.decode().split())


def _wait_rejoined(context: _Context, victim: str, emitter: Emitter) -> None:
    def back() -> str | None:
        status = context.handle.server_status(victim) or ""
        healthy = context.handle.health(victim) == "healthy"
        return status if healthy and status.startswith(("UP", "MAINT")) else None

    status = wait_for(back, timeout=120)
    if status is None:
        emitter.emit("verify.rejoin.timeout", f"{victim} did not come back within 120 s", "warn")
    else:
        emitter.emit("verify.rejoined", f"{victim} is back ({status})")


def _served_by_victim(context: _Context, victim: str) -> bool:
    if context.topology.lab.profile == "article":
        return False  # round robin: both masters serve by design
    answers = [context.client.list_jobs()[0].served_by for _ in range(5)]
    return victim in answers


def _delete_jobs(context: _Context, trial: Trial) -> None:
    """Remove the trial's jobs once checked, so that every trial starts from the same JENKINS_HOME
    (a master's reload time grows with the number of jobs)."""
    _reply, jobs = context.client.list_jobs()
    for job in sorted(jobs or ()):
        if job.startswith(trial.prefix + "-"):
            context.client.delete_job(job)
