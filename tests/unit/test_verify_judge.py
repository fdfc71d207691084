"""verify's judge, from recorded trials alone: no Docker, no network."""

from __future__ import annotations

from labgen.lab.jenkins_client import Reply
from labgen.verify.judge import check_writes, judge, outcome, relative_to_fault, survivor
from labgen.verify.model import HAProxyMark, Sample, Trial, WriteOp

SERVED = "x-labgen-served-by"


def _reply(status: int, served_by: str | None = None) -> Reply:
    return Reply(status, {SERVED: served_by} if served_by else {}, b"")


def test_outcome_tells_certain_failures_from_unknown_ones() -> None:
    assert outcome(_reply(200, "jenkins02"), "create") == "ok"
    assert outcome(_reply(302, "jenkins02"), "build") == "ok"
    assert outcome(_reply(503), "create") == "fail"  # HAProxy itself: no master saw it
    assert outcome(_reply(503, "jenkins02"), "create") == "info"  # a master answered 503: unknown
    assert outcome(_reply(400, "jenkins02"), "create") == "fail"
    assert outcome(_reply(0), "create") == "info"  # no answer at all
    assert outcome(_reply(504), "build") == "info"


def _trial() -> Trial:
    """Fault at t=100 (monotonic); the survivor answers stale at 101, consistent at 102."""
    trial = Trial(number=1, action="kill", target="jenkins01", prefix="p")
    trial.samples = [
        Sample(99.0, 200, "jenkins01", True, 0.01),
        Sample(100.5, 503, None, False, 0.01),
        Sample(101.0, 200, "jenkins02", False, 0.01),
        Sample(102.0, 200, "jenkins02", True, 0.01),
    ]
    trial.haproxy = [HAProxyMark(99.0, "UP"), HAProxyMark(100.8, "DOWN")]
    trial.writes = [
        WriteOp("p-1", "create", 98.0, 98.1, "ok", 200, "jenkins01"),
        WriteOp("p-2", "create", 100.2, 100.3, "info", 0, None),
        WriteOp("p-3", "create", 101.5, 101.6, "ok", 200, "jenkins02"),
    ]
    relative_to_fault(trial, 100.0)
    return trial


def test_times_are_relative_to_the_fault_and_recovery_moments_derived() -> None:
    trial = _trial()
    assert [s.t for s in trial.samples] == [-1.0, 0.5, 1.0, 2.0]
    assert trial.detection_s is not None and abs(trial.detection_s - 0.8) < 1e-9
    assert trial.first_success_s == 1.0
    assert trial.consistent_s == 2.0
    assert survivor(trial, "jenkins01") == "jenkins02"


def test_the_set_check_finds_lost_recovered_and_unexpected_jobs() -> None:
    trial = _trial()
    check_writes(trial, frozenset({"p-1", "p-2", "p-9", "other"}), on_nfs={"p-1", "p-2"})
    assert trial.acknowledged == 2
    assert trial.lost == ["p-3"]
    assert trial.recovered == ["p-2"]  # unknown outcome, but it was applied
    assert trial.unexpected == ["p-9"]  # ours by name, never written
    assert trial.missing_on_nfs == ["p-3"]
    assert (trial.requests, trial.failed_requests) == (3, 1)


def test_a_clean_trial_passes_and_each_defect_is_a_reason() -> None:
    trial = _trial()
    check_writes(trial, frozenset({"p-1", "p-3"}), on_nfs={"p-1", "p-3"})
    trial.agent_answered = True
    judge(trial)
    assert trial.verdict == "pass" and trial.reasons == []

    broken = _trial()
    check_writes(broken, frozenset({"p-1"}), on_nfs=None)
    broken.flapped_back = True
    broken.manual_reload_s = 5.0
    judge(broken)
    assert broken.verdict == "fail"
    joined = "; ".join(broken.reasons)
    for expected in ("1 acknowledged writes lost", "agent port", "flapped back", "manual reload"):
        assert expected in joined, expected


def test_no_answer_after_the_fault_is_judged_as_such() -> None:
    trial = Trial(number=1, action="stop", target="jenkins01")
    trial.samples = [Sample(101.0, 503, None, False, 0.01)]
    relative_to_fault(trial, 100.0)
    check_writes(trial, None, None)
    judge(trial)
    assert trial.first_success_s is None and trial.detection_s is None
    assert "no master answered after the fault" in trial.reasons
    assert "the lab did not answer the final read" in trial.reasons
