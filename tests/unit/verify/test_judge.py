"""verify's judge, from recorded trials alone: no Docker, no network."""

from __future__ import annotations

from labgen.lab.jenkins_client import Reply
from labgen.verify.judge import check_writes, judge, outcome, percentile, relative_to_fault, survivor
from labgen.verify.model import HAProxyMark, Sample, Trial, VerifyResult, WriteOp, probe_outcome
from labgen.verify.report import aggregate

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
    refused = Reply(0, {}, b"", error="ConnectionRefusedError: [Errno 111] Connection refused")
    assert outcome(refused, "create") == "fail"  # never sent: HAProxy was not listening
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
    # by answer time (sent + how long the answer took), and by send time for reference
    assert (trial.first_success_s, trial.first_success_sent_s) == (1.01, 1.0)
    assert (trial.consistent_s, trial.consistent_sent_s) == (2.01, 2.0)
    assert survivor(trial, "jenkins01") == "jenkins02"
    assert (trial.latency_p50_s, trial.latency_p99_s, trial.latency_max_s) == (0.01, 0.01, 0.01)


def test_a_request_held_in_haproxy_counts_when_its_answer_came_back() -> None:
    """Sent before the fault, held while no master could serve, answered by the new master."""
    trial = Trial(number=1, action="kill", target="jenkins01", prefix="p")
    trial.samples = [
        Sample(99.9, 200, "jenkins02", True, 1.6),  # held 1.6 s: answered at +1.5 s
        Sample(100.5, 200, "jenkins02", True, 1.2),  # answered at +1.7 s
        Sample(101.8, 200, "jenkins02", True, 0.02),
        Sample(102.0, 0, None, False, 10.0, "TimeoutError: timed out"),
    ]
    trial.haproxy = [HAProxyMark(100.4, "DOWN", "jenkins01"), HAProxyMark(100.5, "MAINT (reloading)", "jenkins02")]
    relative_to_fault(trial, 100.0)
    check_writes(trial, frozenset(), None)
    assert trial.first_success_s == 1.5 and trial.first_success_sent_s == -0.1
    assert trial.detection_s is not None and abs(trial.detection_s - 0.4) < 1e-9  # the target's marks only
    assert (trial.requests, trial.failed_requests, trial.unknown_requests) == (4, 0, 1)
    assert trial.latency_max_s == 10.0 and trial.latency_p50_s == 1.2


def test_how_long_haproxy_held_the_probes_is_reported() -> None:
    trial = Trial(number=1, action="kill", target="jenkins01", prefix="p", experiment="failover")
    trial.samples = [
        Sample(-1.0, 200, "jenkins01", True, 0.01, held_s=None),  # not held: no header
        *(Sample(0.1 * i, 200, "jenkins02", True, 1.0, held_s=0.5 + 0.1 * i) for i in range(10)),
    ]
    relative_to_fault(trial, 0.0)
    assert trial.held_max_s == 1.4 and trial.held_p99_s == 1.4
    assert aggregate(VerifyResult("l", "ha", "lite", "2.6.12", "kill", 10, 0.0, [trial]))["held_p99_s"]


def test_probe_outcomes_and_percentiles() -> None:
    assert probe_outcome(200, None) == "ok"
    assert probe_outcome(503, None) == "failed"  # an error came back
    assert probe_outcome(0, "ConnectionRefusedError: [Errno 111] Connection refused") == "failed"
    assert probe_outcome(0, "TimeoutError: timed out") == "unknown"  # no answer before the client gave up
    values = sorted(float(v) for v in range(1, 101))
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (50.0, 99.0, 100.0)
    assert percentile([3.0], 99) == 3.0


def test_a_switchover_fails_on_any_failed_or_unanswered_request() -> None:
    trial = Trial(number=1, action="switchover", target="jenkins01", prefix="p", experiment="switchover")
    trial.samples = [Sample(100.2, 200, "jenkins02", True, 0.3), Sample(100.3, 503, None, False, 0.01)]
    trial.haproxy = [HAProxyMark(100.1, "MAINT", "jenkins01")]
    relative_to_fault(trial, 100.0)
    check_writes(trial, frozenset(), None)
    trial.agent_answered = True
    judge(trial)
    assert trial.verdict == "fail"
    assert any("switchover failed 1" in reason for reason in trial.reasons)


def test_the_set_check_finds_lost_recovered_and_unexpected_jobs() -> None:
    trial = _trial()
    check_writes(trial, frozenset({"p-1", "p-2", "p-9", "other"}), on_nfs={"p-1", "p-2"})
    assert trial.acknowledged == 2
    assert trial.lost == ["p-3"]
    assert trial.recovered == ["p-2"]  # unknown outcome, but it was applied
    assert trial.unexpected == ["p-9"]  # ours by name, never written
    assert trial.missing_on_nfs == ["p-3"]
    assert (trial.requests, trial.failed_requests, trial.unknown_requests) == (3, 1, 0)


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


def test_without_a_final_read_no_acknowledged_write_is_called_lost() -> None:
    trial = Trial(number=1, action="kill", target="jenkins01")
    trial.writes = [WriteOp("verify-x-1-pre-0", "create", 98.0, 98.1, "ok", 200, "jenkins01")]
    check_writes(trial, None, None)
    judge(trial)
    assert trial.acknowledged == 1 and trial.lost == []
    assert "the lab did not answer the final read" in trial.reasons and trial.verdict == "fail"
