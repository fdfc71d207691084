"""Inputs of the report's golden files: the committed example report's result, and results that
exercise every branch of the pages (lite and unofficial notes, builds, a fault matrix) with text that
must be escaped (``<``, ``&``, quotes)."""

from __future__ import annotations

import json
from pathlib import Path

from labgen.verify.model import (
    BuildFate,
    BuildsView,
    FaultResult,
    FaultTrial,
    HAProxyMark,
    Sample,
    Trial,
    VerifyResult,
    WriteOp,
)

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "docs" / "example-report"
GOLDEN = ROOT / "tests" / "fixtures" / "report"


def load_result(path: Path) -> VerifyResult:
    """A VerifyResult back from its result.json (what `labgen verify failover --report` wrote)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    trials = []
    for raw in data["trials"]:
        fields = dict(raw)
        fields["samples"] = [Sample(**s) for s in raw["samples"]]
        fields["writes"] = [WriteOp(**w) for w in raw["writes"]]
        fields["haproxy"] = [HAProxyMark(**m) for m in raw["haproxy"]]
        if raw.get("builds") is not None:
            builds = dict(raw["builds"])
            builds["fates"] = [BuildFate(**f) for f in builds["fates"]]
            fields["builds"] = BuildsView(**builds)
        trials.append(Trial(**fields))
    return VerifyResult(
        data["lab"],
        data["profile"],
        data["jenkins_flavour"],
        data["haproxy_version"],
        data["action"],
        data["rate"],
        data["started"],
        trials,
        data["artifacts"],
    )


def _trial(number: int, **changes: object) -> Trial:
    trial = Trial(
        number,
        "kill",
        "jenkins01",
        prefix=f"t{number}",
        survivor="jenkins02",
        detection_s=0.14,
        first_success_s=1.4,
        consistent_s=1.5,
        requests=40,
        failed_requests=1,
        unknown_requests=2,
        latency_p50_s=0.01,
        latency_p99_s=1.6,
        latency_max_s=1.7,
        acknowledged=6,
        lost=["t1-job-3"],
        agent_s=2.0,
        verdict="fail",
        reasons=["a write <acknowledged> & lost", 'jenkins02\'s answer was "stale"'],
        samples=[
            Sample(-1.0, 200, "jenkins01", True, 0.01),
            Sample(0.5, 0, None, False, 10.0, error="timed out"),
            Sample(1.0, 503, None, False, 0.2),
            Sample(1.4, 200, "jenkins02", False, 0.05),
            Sample(1.5, 200, "jenkins02", True, 0.02),
        ],
        writes=[
            WriteOp("t1-job-1", "create", -0.5, -0.4, "ok", 200, "jenkins01"),
            WriteOp("t1-job-2", "create", 0.2, 5.0, "info", 0, None),
            WriteOp("t1-job-3", "create", 1.0, 1.1, "fail", 502, None),
        ],
        haproxy=[
            HAProxyMark(-2.0, "UP", "jenkins01"),
            HAProxyMark(0.14, "DOWN", "jenkins01"),
            HAProxyMark(-2.0, "MAINT", "jenkins02"),
            HAProxyMark(0.3, "MAINT (reloading)", "jenkins02"),
            HAProxyMark(1.3, "UP", "jenkins02"),
        ],
    )
    for name, value in changes.items():
        setattr(trial, name, value)
    return trial


def tricky_result() -> VerifyResult:
    """lite, an unofficial HAProxy, builds, a passed and a failed trial, text to escape."""
    builds = BuildsView(
        fates=[
            BuildFate("t1-<build>", "running", "jenkins01", 1, "vanished", "no build.xml & no log"),
            BuildFate("t1-queued", "queued", "jenkins01", None, "requeued", "posted 'again'"),
        ],
        collisions=["JENKINS-23152: builds/2 already existed"],
        serving_before=["jenkins01"],
        unseen={"jenkins02": ["t1-a", "t1-b"]},
    )
    trials = [_trial(1, builds=builds), _trial(2, verdict="pass", reasons=[], lost=[], manual_reload_s=5.0)]
    artifacts = {"haproxy": "unofficial", "jenkins.war": "official"}
    return VerifyResult("lg-golden", "ha", "lite", "2.6.12", "kill", 20.0, 0.0, trials, artifacts)


def fault_result() -> FaultResult:
    trials = [
        FaultTrial(
            1,
            "nfs",
            "pause",
            "NFS server",
            held_s=8.0,
            active_before="jenkins01",
            active_after="jenkins01",
            ok_during=3,
            failed_during=1,
            unknown_during=2,
            slow_during=4,
            latency_max_during_s=8.2,
            outage_s=8.3,
            served_s=0.4,
            consistent_s=0.5,
            writes_failed=1,
            writes_unknown=2,
            verdict="fail",
            reasons=['hung <8 s> & "more"'],
            trial=_trial(1),
        ),
        FaultTrial(2, "haproxy", "kill", "HAProxy (and the promoter)", held_s=3.0, verdict="pass", trial=None),
    ]
    return FaultResult("lg-golden", "ha", None, "2.6.12", 20.0, 0.0, trials, {"haproxy": "debian"})
