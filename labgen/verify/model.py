"""What a verify run records: samples, writes, HAProxy marks, trials and the result."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
