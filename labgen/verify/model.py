"""What a verify run records: samples, writes, HAProxy marks, trials and the result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["ok", "fail", "info"]
ProbeOutcome = Literal["ok", "failed", "unknown"]


def probe_outcome(status: int, error: str | None) -> ProbeOutcome:
    """ok: 200; unknown: no answer before the client gave up; failed: any other answer or error."""
    if status == 200:
        return "ok"
    if status == 0 and error and "timed out" in error.lower():
        return "unknown"
    return "failed"


@dataclass
class Sample:
    """One probe through HAProxy: GET /api/json?tree=jobs[name]."""

    t: float  # when the request was sent, in seconds since the fault (negative before it)
    status: int
    served_by: str | None
    consistent: bool  # the answer lists every job acknowledged before the fault
    seconds: float  # how long the answer took (the probe timeout when none came)
    error: str | None = None
    outcome: ProbeOutcome | None = None  # derived from status and error when not given
    held_s: float | None = None  # how long HAProxy held it before a master took it (its X-Labgen-Held-Ms)

    def __post_init__(self) -> None:
        if self.outcome is None:
            self.outcome = probe_outcome(self.status, self.error)

    @property
    def answered(self) -> float:
        """When the answer came back (or the client gave up), in seconds since the fault."""
        return self.t + self.seconds


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
    status: str  # HAProxy's status of the server; "MAINT (reloading)" while the promoter reloads it
    server: str = ""  # the master ("" in older results: the target)


@dataclass
class BuildFate:
    """What became of one build that was running or queued on the faulted master (issue 11)."""

    job: str
    kind: Literal["running", "queued"]
    master: str  # where it ran or waited at the fault
    number: int | None  # the running build's number
    # running: vanished, finished-elsewhere, requeued, still-running; queued: kept, lost, requeued
    fate: str
    detail: str = ""


@dataclass
class BuildsView:
    """Builds, queue, build-number collisions and the split-brain view of one trial."""

    fates: list[BuildFate] = field(default_factory=list)
    collisions: list[str] = field(default_factory=list)  # JENKINS-23152 lines the masters logged
    serving_before: list[str] = field(default_factory=list)  # masters that answered through HAProxy
    unseen: dict[str, list[str]] = field(default_factory=dict)  # master -> the trial's jobs it did not list
    requeue_interrupted: bool | None = None  # the promoter's setting (None: no promoter)


@dataclass
class Trial:
    number: int
    action: str
    target: str
    prefix: str = ""  # every job this trial writes is named <prefix>-...
    survivor: str | None = None
    experiment: str = "failover"  # or "switchover" (action: the switchover, target: the master it leaves)
    detection_s: float | None = None  # HAProxy marked the target DOWN (or MAINT)
    # By answer time: when the first answer came back (the probe may have been sent earlier and
    # held in HAProxy); *_sent_s: when that probe had been sent.
    first_success_s: float | None = None  # first 200 from another master
    consistent_s: float | None = None  # first 200 from another master listing every acknowledged job
    first_success_sent_s: float | None = None
    consistent_sent_s: float | None = None
    switch_s: float | None = None  # switchover: how long the promoter took (its answer)
    note: str | None = None  # switchover: what the promoter said
    manual_reload_s: float | None = None  # the article's manual step, when labgen had to do it
    requests: int = 0  # probes answered (or given up) after the fault
    failed_requests: int = 0  # of those, an error came back
    unknown_requests: int = 0  # of those, no answer before the probe timeout
    latency_p50_s: float | None = None  # of every probe of the trial
    latency_p99_s: float | None = None
    latency_max_s: float | None = None
    held_p99_s: float | None = None  # of the probes HAProxy said it held (ha profile), how long
    held_max_s: float | None = None
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    missing_on_nfs: list[str] = field(default_factory=list)
    agent_answered: bool = False
    agent_s: float | None = None  # first answer of the agent port through HAProxy after the fault
    flapped_back: bool = False
    # password clients holding a session-bound crumb before the fault, and how many of those crumbs the
    # lab refused after it (Jenkins keeps sessions per master: expected after a failover, not a failure)
    crumb_clients: int = 0
    crumbs_lost: int = 0
    # the "never two ready" check (ha profile): readings of every load balancer's servers through the
    # trial, and the moments two different masters were ready at once (the first few, described)
    ready_readings: int = 0
    two_ready_moments: int = 0
    two_ready: list[str] = field(default_factory=list)
    verdict: Literal["pass", "fail"] = "fail"
    reasons: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    writes: list[WriteOp] = field(default_factory=list)
    haproxy: list[HAProxyMark] = field(default_factory=list)
    builds: BuildsView | None = None  # the build phase's findings (issue 11)

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
    artifacts: dict[str, str] = field(default_factory=dict)  # "haproxy"/"jenkins.war" -> official, unofficial, ...

    @property
    def passed(self) -> bool:
        return bool(self.trials) and all(t.verdict == "pass" for t in self.trials)


@dataclass
class FaultTrial:
    """`labgen verify fault`: one fault of one service (any, not only a master), held for a while,
    then healed. What clients saw while it lasted, how long after the heal the lab served again
    (and consistently), and what was lost. Times are seconds since the fault; recovery times are
    seconds since the heal, by when the answer came back."""

    number: int
    service: str
    action: str
    role: str  # "NFS server", "HAProxy (and the promoter)", "active master", "standby master"
    held_s: float = 0.0  # the heal came this long after the fault
    active_before: str | None = None
    active_after: str | None = None
    active_changes: int = 0  # times the active master (promoter's view) changed while the trial ran
    ok_during: int = 0  # probes sent while the fault lasted: 200 ...
    failed_during: int = 0  # ... an error came back ...
    unknown_during: int = 0  # ... no answer before the probe timeout (hung)
    slow_during: int = 0  # of the answered ones, those that took HUNG_S or more (held or hanging)
    latency_max_during_s: float | None = None
    outage_s: float | None = None  # first request sent that failed, hung or was slow to the last such answer
    masters_marked_s: float | None = None  # HAProxy first showed no master UP (DOWN/MAINT), since the fault
    served_s: float | None = None  # first 200 answered after the heal, since the heal
    consistent_s: float | None = None  # first 200 answered after the heal listing every acknowledged job
    writes_failed: int = 0  # creates during the fault: refused (certainly not done) ...
    writes_unknown: int = 0  # ... or no clear answer
    promotions_during: int | None = None  # promotions (Jenkins reloads) the promoter started since the fault
    verdict: Literal["pass", "fail"] = "fail"
    reasons: list[str] = field(default_factory=list)
    trial: Trial | None = None  # samples, writes, HAProxy's marks; lost/acknowledged writes (set check)

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        trial = self.trial
        data.pop("trial")
        if trial is not None:
            data.update(
                acknowledged=trial.acknowledged,
                lost=trial.lost,
                unexpected=trial.unexpected,
                requests=trial.requests,
                ready_readings=trial.ready_readings,
                two_ready_moments=trial.two_ready_moments,
                two_ready=trial.two_ready,
            )
        return data


@dataclass
class FaultResult:
    """`labgen verify fault` and `labgen verify matrix`: every trial of every (service, fault)."""

    lab: str
    profile: str
    flavour: str | None
    haproxy_version: str
    rate: float
    started: float
    trials: list[FaultTrial]
    artifacts: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return bool(self.trials) and all(t.verdict == "pass" for t in self.trials)
