"""`labgen verify failover`: a scripted failover experiment with numbers.

Per trial: write jobs and builds through HAProxy, apply a fault to the active master while
probing at a fixed rate and writing on, heal, then check every acknowledged write (a Jepsen-style
set check: lost / unexpected / recovered). Times are measured from the moment the fault is applied.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from labgen import chaos, docker_api, haproxy_stats, journal, runtime
from labgen.errors import EXIT_USAGE, LabgenError
from labgen.events import NULL_EMITTER, Emitter
from labgen.jenkins_client import JenkinsClient, Reply
from labgen.paths import lab_dir
from labgen.render import read_secrets
from labgen.spec import Lab

FAULTS = ("kill", "stop", "pause", "partition")
HEAL = {"kill": "start", "stop": "start", "pause": "unpause", "partition": "heal"}
Outcome = Literal["ok", "fail", "info"]


@dataclass
class Sample:
    """One probe through HAProxy: GET /api/json?tree=jobs[name]."""

    t: float  # when the request was sent, in seconds since the fault (negative before it)
    status: int
    served_by: str | None
    consistent: bool  # the answer lists every job acknowledged before the fault
    seconds: float
    error: str | None = None


@dataclass
class WriteOp:
    """One write, Jepsen style: invoked, then ok (acknowledged), fail (certainly not done) or info (unknown)."""

    job: str
    kind: Literal["create", "build"]
    t_invoke: float
    t_done: float
    outcome: Outcome
    status: int
    served_by: str | None


@dataclass
class HAProxyMark:
    t: float
    status: str


@dataclass
class Trial:
    number: int
    action: str
    target: str
    prefix: str = ""  # every job this trial writes is named <prefix>-...
    survivor: str | None = None
    detection_s: float | None = None  # HAProxy marked the target DOWN (or MAINT)
    first_success_s: float | None = None  # first 200 from another master
    consistent_s: float | None = None  # first 200 from another master listing every acknowledged job
    manual_reload_s: float | None = None  # the article's manual step, when labgen had to do it
    requests: int = 0
    failed_requests: int = 0
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    missing_on_nfs: list[str] = field(default_factory=list)
    agent_answered: bool = False
    agent_s: float | None = None  # first answer of the agent port through HAProxy after the fault
    flapped_back: bool = False
    verdict: Literal["pass", "fail"] = "fail"
    reasons: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    writes: list[WriteOp] = field(default_factory=list)
    haproxy: list[HAProxyMark] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        for bulky in ("samples", "writes", "haproxy"):
            data.pop(bulky)
        return data


@dataclass
class VerifyResult:
    lab: str
    profile: str
    flavour: str | None
    haproxy_version: str
    action: str
    rate: float
    started: float
    trials: list[Trial]

    @property
    def passed(self) -> bool:
        return bool(self.trials) and all(t.verdict == "pass" for t in self.trials)


class _Context:
    """What one trial needs to reach the lab from the host."""

    def __init__(self, lab: Lab):
        self.lab = lab
        secrets = read_secrets(lab_dir(lab.name))
        self.host = runtime.published_host(lab)
        self.client = JenkinsClient(
            self.host, lab.ports.http, secrets["JENKINS_ADMIN_USER"], secrets["JENKINS_ADMIN_TOKEN"]
        )
        self.stats_auth = (secrets["LABGEN_STATS_USER"], secrets["LABGEN_STATS_PASSWORD"])

    def haproxy_server(self, master: str) -> str:
        """The article names its backend servers jenkins1/jenkins2; the ha profile uses the service names."""
        return f"jenkins{self.lab.masters.index(master) + 1}" if self.lab.profile == "article" else master

    def server_status(self, master: str) -> str | None:
        states = haproxy_stats.try_fetch(self.host, self.lab.ports.stats, *self.stats_auth)
        if states is None:
            return None
        wanted = self.haproxy_server(master)
        for state in states:
            if state.proxy in ("jenkins", "jenkins_proxy") and state.server == wanted:
                return state.status
        return None


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
    emitter: Emitter = NULL_EMITTER,
) -> VerifyResult:
    lab = runtime.load_saved_lab(name)
    if action not in FAULTS:
        raise LabgenError(f"unknown --action {action!r}; valid: {', '.join(FAULTS)}", exit_code=EXIT_USAGE)
    if target is not None and target not in lab.masters:
        raise LabgenError(f"--target {target!r} is not a master; valid: {', '.join(lab.masters)}", exit_code=EXIT_USAGE)
    if not 1 <= trials <= 100 or not 1 <= rate <= 100:
        raise LabgenError("--trials must be 1-100 and --rate 1-100 requests per second", exit_code=EXIT_USAGE)
    context = _Context(lab)
    flavour = _flavour(lab)
    result = VerifyResult(lab.name, lab.profile, flavour, lab.haproxy.version, action, rate, time.time(), [])
    journal.record(lab.name, "verify.start", f"verify failover: {trials} x {action}", action=action, trials=trials)
    for number in range(1, trials + 1):
        runtime.wait_healthy(lab, lab_dir(lab.name), timeout=180, emitter=emitter)
        victim = target or _active(context)
        emitter.emit("verify.trial", f"trial {number}/{trials}: {action} {victim}", "step")
        trial = _run_trial(context, number, action, victim, rate, timeout, manual_reload_after, keep_jobs, emitter)
        result.trials.append(trial)
        journal.record(lab.name, "verify.trial", f"trial {number}: {trial.verdict}", **trial.summary())
        emitter.emit(
            "verify.trial.done",
            f"trial {number}: {trial.verdict}; detection {_fmt(trial.detection_s)}, first success "
            f"{_fmt(trial.first_success_s)}, consistent {_fmt(trial.consistent_s)}, failed requests "
            f"{trial.failed_requests}/{trial.requests}, lost writes {len(trial.lost)}",
            "done" if trial.verdict == "pass" else "warn",
        )
    return result


def _fmt(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.2f} s"


def _flavour(lab: Lab) -> str | None:
    containers = docker_api.lab_containers(lab.name, lab.masters[0])
    return containers[0].image.labels.get("org.labgen.jenkins.flavour") if containers else None


def _active(context: _Context) -> str:
    for _ in range(20):
        reply, _jobs = context.client.list_jobs()
        if reply.status == 200 and reply.served_by in context.lab.masters:
            return reply.served_by
        time.sleep(0.5)
    raise LabgenError("cannot tell which master is active: HAProxy does not answer with a master", hint="labgen status")


def _run_trial(
    context: _Context,
    number: int,
    action: str,
    victim: str,
    rate: float,
    timeout: float,
    manual_reload_after: float,
    keep_jobs: bool,
    emitter: Emitter,
) -> Trial:
    prefix = f"verify-{uuid.uuid4().hex[:8]}-{number}"
    trial = Trial(number=number, action=action, target=victim, prefix=prefix)
    lock = threading.Lock()
    # Times are taken on the monotonic clock and made relative to the fault at the end.
    acked: list[tuple[float, str]] = []  # (acknowledged at, job) for every acknowledged create
    clock = {"fault": float("inf")}  # planned just before the probes start

    def write(job: str, kind: Literal["create", "build"]) -> WriteOp:
        t_invoke = time.monotonic()
        reply = context.client.create_job(job) if kind == "create" else context.client.build_job(job)
        op = WriteOp(job, kind, t_invoke, time.monotonic(), _outcome(reply, kind), reply.status, reply.served_by)
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
    on_nfs = _jobs_on_nfs(context.lab)
    if on_nfs is not None and not acked_before <= on_nfs:
        trial.reasons.append("jobs written before the fault are not on the NFS export")

    stop = threading.Event()
    done = threading.Event()

    def probe(sent: float) -> None:
        reply, jobs = context.client.list_jobs()
        with lock:
            required = {job for at, job in acked if at < sent}
        # Consistent: the answer shows every job whose creation was acknowledged before it was asked.
        consistent = jobs is not None and required <= jobs
        with lock:
            trial.samples.append(Sample(sent, reply.status, reply.served_by, consistent, reply.seconds, reply.error))
        if sent >= clock["fault"] and reply.status == 200 and reply.served_by != victim and consistent:
            done.set()

    def prober() -> None:
        # Enough workers that requests hanging on a dead master do not slow the rate down; each
        # sample is stamped with the moment it was sent.
        with ThreadPoolExecutor(max_workers=int(rate * 5) + 4) as pool:
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
        while not stop.wait(0.1):
            status = context.server_status(victim)
            if status is None:
                continue
            now = time.monotonic()
            with lock:
                if not trial.haproxy or trial.haproxy[-1].status != status:
                    trial.haproxy.append(HAProxyMark(now, status))

    def agent_watcher() -> None:
        while not stop.wait(0.25):
            if time.monotonic() >= clock["fault"] + 0.25 and _agent_banner(context):
                trial.agent_s = time.monotonic() - clock["fault"]
                return

    threads = [threading.Thread(target=fn, daemon=True) for fn in (prober, writer, watcher, agent_watcher)]
    clock["fault"] = time.monotonic() + 2.0  # two seconds of steady state before the fault
    for thread in threads:
        thread.start()
    time.sleep(max(0.0, clock["fault"] - time.monotonic()))
    clock["fault"] = time.monotonic()
    chaos.apply(context.lab.name, action, victim)
    emitter.emit("verify.fault", f"{action} {victim} applied", target=victim)

    article = context.lab.profile == "article"
    if not done.wait(manual_reload_after if article else timeout) and article:
        survivor = _survivor_so_far(trial, victim, lock)
        if survivor:
            emitter.emit(
                "verify.manual",
                f"not consistent after {manual_reload_after:.0f} s: doing the article's manual step, "
                f"POST /reload on {survivor}",
                "warn",
            )
            trial.manual_reload_s = time.monotonic() - clock["fault"]
            chaos.apply(context.lab.name, "reload", survivor)
            done.wait(max(1.0, timeout - manual_reload_after))
    time.sleep(1.0)  # keep probing and writing a little after recovery
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    _relative_to_fault(trial, clock["fault"])

    trial.survivor = _survivor(trial, victim)
    trial.agent_answered = trial.agent_s is not None
    # After: heal, let the victim rejoin, read everything back.
    chaos.apply(context.lab.name, HEAL[action], victim)
    _wait_rejoined(context, victim, emitter)
    trial.flapped_back = _served_by_victim(context, victim)
    _check_writes(context, trial)
    if not keep_jobs:
        _delete_jobs(context, trial)
    _judge(context.lab, trial)
    return trial


def _outcome(reply: Reply, kind: str) -> Outcome:
    if reply.status in (200, 201, 302):
        return "ok"
    if reply.status == 503 and not reply.served_by:
        return "fail"  # HAProxy answered itself: no master saw the request
    if reply.status == 400 and kind == "create":
        return "fail"
    return "info"  # no answer, 502/504/500: the master may or may not have done it


def _relative_to_fault(trial: Trial, fault: float) -> None:
    """Make every time relative to the fault, and derive the recovery times from the samples."""
    for sample in trial.samples:
        sample.t -= fault
    for op in trial.writes:
        op.t_invoke -= fault
        op.t_done -= fault
    for mark in trial.haproxy:
        mark.t -= fault
    trial.samples.sort(key=lambda sample: sample.t)
    trial.writes.sort(key=lambda op: op.t_invoke)
    after = [s for s in trial.samples if s.t >= 0 and s.status == 200 and s.served_by != trial.target]
    trial.first_success_s = after[0].t if after else None
    trial.consistent_s = next((s.t for s in after if s.consistent), None)
    trial.detection_s = next((m.t for m in trial.haproxy if m.t >= 0 and m.status.startswith(("DOWN", "MAINT"))), None)


def _survivor_so_far(trial: Trial, victim: str, lock: threading.Lock) -> str | None:
    with lock:
        return next((s.served_by for s in trial.samples if s.status == 200 and s.served_by not in (None, victim)), None)


def _survivor(trial: Trial, victim: str) -> str | None:
    for sample in trial.samples:
        if sample.t >= 0 and sample.status == 200 and sample.served_by and sample.served_by != victim:
            return sample.served_by
    return None


def _jobs_on_nfs(lab: Lab) -> set[str] | None:
    """Job folders in the NFS server's export, read inside the NFS container."""
    containers = docker_api.lab_containers(lab.name, "nfs", all_states=False)
    if not containers:
        return None
    result = containers[0].exec_run(["ls", "-1", "/export/jenkins/jobs"])
    if result.exit_code != 0:
        return None
    return set(result.output.decode().split())


def _agent_banner(context: _Context) -> bool:
    """The agent port, through HAProxy, answers like Jenkins' TCP agent listener."""
    try:
        with socket.create_connection((context.host, context.lab.ports.agent), timeout=2) as conn:
            conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
            conn.settimeout(2)
            data = b""
            while b"Jenkins-Agent-Protocols" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            return b"Jenkins-Agent-Protocols" in data
    except OSError:
        return False


def _wait_rejoined(context: _Context, victim: str, emitter: Emitter) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = context.server_status(victim) or ""
        healthy = runtime.container_health(context.lab.name, victim) == "healthy"
        if healthy and (status.startswith("UP") or status.startswith("MAINT")):
            emitter.emit("verify.rejoined", f"{victim} is back ({status})")
            return
        time.sleep(0.5)
    emitter.emit("verify.rejoin.timeout", f"{victim} did not come back within 120 s", "warn")


def _served_by_victim(context: _Context, victim: str) -> bool:
    if context.lab.profile == "article":
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


def _check_writes(context: _Context, trial: Trial) -> None:
    final: frozenset[str] | None = None
    for _ in range(20):
        _reply, final = context.client.list_jobs()
        if final is not None:
            break
        time.sleep(0.5)
    created = {op.job: op for op in trial.writes if op.kind == "create"}
    ok = {job for job, op in created.items() if op.outcome == "ok"}
    unknown = {job for job, op in created.items() if op.outcome == "info"}
    trial.acknowledged = len(ok)
    seen = set(final or ())
    ours = {job for job in seen if job.startswith(trial.prefix + "-")}
    trial.lost = sorted(ok - seen)
    trial.recovered = sorted(unknown & seen)
    trial.unexpected = sorted(ours - set(created))
    on_nfs = _jobs_on_nfs(context.lab)
    trial.missing_on_nfs = sorted(ok - on_nfs) if on_nfs is not None else []
    after_fault = [s for s in trial.samples if s.t >= 0]
    trial.requests = len(after_fault)
    trial.failed_requests = sum(1 for s in after_fault if s.status != 200)
    if final is None:
        trial.reasons.append("the lab did not answer the final read")


def _judge(lab: Lab, trial: Trial) -> None:
    if trial.detection_s is None:
        trial.reasons.append("HAProxy never marked the target DOWN")
    if trial.first_success_s is None:
        trial.reasons.append("no master answered after the fault")
    if trial.consistent_s is None:
        trial.reasons.append("no answer after the fault listed every acknowledged job")
    if trial.manual_reload_s is not None:
        trial.reasons.append(
            f"data-consistent only after a manual reload (done by labgen at {trial.manual_reload_s:.1f} s), "
            "as the article admits"
        )
    if trial.lost:
        trial.reasons.append(f"{len(trial.lost)} acknowledged writes lost")
    if trial.missing_on_nfs:
        trial.reasons.append(f"{len(trial.missing_on_nfs)} acknowledged jobs missing on the NFS export")
    if trial.unexpected:
        trial.reasons.append(f"{len(trial.unexpected)} jobs that were never written appeared")
    if not trial.agent_answered:
        trial.reasons.append("the agent port did not answer after the failover")
    if trial.flapped_back:
        trial.reasons.append(f"traffic flapped back to {trial.target} when it returned")
    trial.verdict = "fail" if trial.reasons else "pass"
