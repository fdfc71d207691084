"""labgen.verify.faults: what a fault trial reports, from what it recorded (no Docker)."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from labgen.model.names import HAPROXY, NFS
from labgen.verify.faults import ACTIVE_MARK, judge_fault, measure
from labgen.verify.model import FaultResult, FaultTrial, HAProxyMark, Sample, Trial, WriteOp
from labgen.verify.report import write_fault_reports

FAULT, HEAL = 100.0, 108.0  # monotonic seconds: the fault, the heal 8 s later


def _recorded() -> Trial:
    """An NFS outage as the probes saw it: fine before, held (slow 200s) and given up during, fine after."""
    trial = Trial(number=1, action="kill", target=NFS, prefix="fault-x-1", experiment="fault")
    trial.samples = [
        Sample(FAULT - 1.0, 200, "jenkins01", True, 0.01),
        Sample(FAULT + 1.0, 200, "jenkins01", True, 7.5),  # held, answered after the heal
        Sample(FAULT + 2.0, 0, None, False, 10.0, "TimeoutError: timed out"),  # unknown: gave up
        Sample(FAULT + 3.0, 503, None, False, 0.2),  # failed
        Sample(FAULT + 8.5, 200, "jenkins01", False, 0.1),  # served, not yet every job
        Sample(FAULT + 9.0, 200, "jenkins01", True, 0.5),  # consistent: 1.5 s after the heal
    ]
    trial.writes = [
        WriteOp("fault-x-1-during-0", "create", FAULT + 0.5, FAULT + 9.0, "ok", 200, "jenkins01"),
        WriteOp("fault-x-1-during-1", "create", FAULT + 1.0, FAULT + 11.0, "info", 0, None),
        WriteOp("fault-x-1-during-2", "create", FAULT + 2.0, FAULT + 2.1, "fail", 503, None),
    ]
    trial.haproxy = [
        HAProxyMark(FAULT - 1.8, "UP", "jenkins01"),
        HAProxyMark(FAULT - 1.8, "MAINT", "jenkins02"),
        HAProxyMark(FAULT - 1.8, "jenkins01", ACTIVE_MARK),
        HAProxyMark(FAULT + 3.7, "DOWN (agent)", "jenkins01"),
        HAProxyMark(FAULT + 8.8, "UP", "jenkins01"),
    ]
    return trial


def _measured(service: str = NFS) -> FaultTrial:
    result = FaultTrial(1, service, "kill", "NFS server", held_s=HEAL - FAULT, active_before="jenkins01")
    trial = _recorded()
    measure(result, trial, FAULT, HEAL)
    result.trial = trial
    result.active_after = "jenkins01"
    return result


def test_what_clients_saw_during_the_fault_and_after_the_heal() -> None:
    result = _measured()
    assert (result.ok_during, result.failed_during, result.unknown_during) == (1, 1, 1)
    assert result.slow_during == 1 and result.latency_max_during_s == 10.0
    assert result.outage_s == 11.0  # from the held probe, sent at 1 s, to the one given up at 12 s
    assert result.masters_marked_s == 3.7  # jenkins01 DOWN by its agent, jenkins02 in MAINT: none UP
    assert result.served_s == 0.5  # the held probe answered at 8.5 s: 0.5 s after the heal
    assert result.consistent_s == 0.5
    assert (result.writes_failed, result.writes_unknown) == (1, 1)
    assert result.active_changes == 0


def test_an_nfs_fault_fails_on_a_promotion_or_a_lost_write() -> None:
    result = _measured()
    judge_fault(result, has_promoter=True)
    assert result.verdict == "pass", result.reasons
    flip = _measured()
    assert flip.trial is not None
    flip.trial.haproxy.append(HAProxyMark(9.0, "jenkins02", ACTIVE_MARK))
    flip.active_changes = 1
    flip.trial.lost = ["fault-x-1-during-0"]
    judge_fault(flip, has_promoter=True)
    assert flip.verdict == "fail"
    assert any("changed the active master 1 times" in r for r in flip.reasons)
    assert any("1 acknowledged writes lost" in r for r in flip.reasons)
    other = _measured(HAPROXY)
    other.active_changes = 1  # HAProxy's restart may elect another master: not a flip-flop
    judge_fault(other, has_promoter=True)
    assert other.verdict == "pass"


def test_a_soft_reload_of_haproxy_fails_on_a_promotion_or_a_new_active() -> None:
    """Issue 20: a reload of HAProxy keeps the active master as it is (no Jenkins reload)."""
    kept = _measured(HAPROXY)
    kept.action, kept.promotions_during = "reload", 0
    judge_fault(kept, has_promoter=True)
    assert kept.verdict == "pass", kept.reasons
    reloaded = _measured(HAPROXY)
    reloaded.action, reloaded.promotions_during, reloaded.active_changes = "reload", 1, 1
    judge_fault(reloaded, has_promoter=True)
    assert reloaded.verdict == "fail"
    assert any("a master was reloaded" in r for r in reloaded.reasons)
    assert any("changed the active master 1 times" in r for r in reloaded.reasons)
    killed = _measured(HAPROXY)  # a kill may elect again: only a reload must promote nothing
    killed.promotions_during = 1
    judge_fault(killed, has_promoter=True)
    assert killed.verdict == "pass"


def test_no_consistent_answer_after_the_heal_fails() -> None:
    result = FaultTrial(1, NFS, "pause", "NFS server", held_s=8.0)
    trial = Trial(number=1, action="pause", target=NFS, experiment="fault")
    trial.samples = [Sample(FAULT + 1.0, 0, None, False, 10.0, "TimeoutError: timed out")]
    measure(result, trial, FAULT, HEAL)
    result.trial = trial
    judge_fault(result, has_promoter=False)
    assert result.consistent_s is None and result.verdict == "fail"


def test_the_reports_hold_every_trial(tmp_path: Path) -> None:
    good, bad = _measured(), _measured()
    judge_fault(good, has_promoter=True)
    bad.reasons.append("the lab did not serve consistently within 60 s of the heal")
    judge_fault(bad, has_promoter=True)
    result = FaultResult("fm-x", "ha", "lite", "2.6.12", 10.0, 0.0, [good, bad])
    paths = write_fault_reports(result, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["verdict"] == "fail" and [t["verdict"] for t in data["trials"]] == ["pass", "fail"]
    assert data["trials"][0]["consistent_s"] == 0.5 and data["trials"][0]["trial"]["samples"]
    suite = ET.fromstring(paths["junit"].read_text())
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    page = paths["html"].read_text()
    assert "Fault matrix" in page and "nfs (NFS server)" in page and "<svg" in page
