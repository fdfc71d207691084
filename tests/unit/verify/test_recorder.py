"""The recorder: writes and probes against a real (lite) master, the consistency of each probe,
the recovery condition, and the watchers' change marks."""

from __future__ import annotations

import time

from labgen.lab.jenkins_client import JenkinsClient
from labgen.verify.model import Sample, Trial
from labgen.verify.recorder import ChangeMarker, Recorder, Recovery

from .conftest import NODE


def _recorder(recovery: Recovery | None = None) -> Recorder:
    return Recorder(Trial(number=1, action="kill", target="jenkins02", prefix="r"), recovery=recovery)


def test_an_acknowledged_create_is_recorded_and_required_of_later_probes(lite_client: JenkinsClient) -> None:
    recorder = _recorder()
    before = time.monotonic()
    op = recorder.write(lite_client, "r-pre-0")
    assert (op.outcome, op.status, op.served_by) == ("ok", 200, NODE)
    assert op.t_invoke <= op.t_done and recorder.acked_jobs() == {"r-pre-0"}
    build = recorder.write(lite_client, "r-pre-0", "build")
    assert build.outcome == "ok" and recorder.acked_jobs() == {"r-pre-0"}  # builds are not creates

    late = recorder.probe(lite_client, time.monotonic())
    assert late.status == 200 and late.served_by == NODE and late.consistent
    # A probe sent before the create was acknowledged does not need to list it; one sent after does.
    early = recorder.probe(lite_client, before)
    assert early.consistent
    assert [s.t for s in recorder.trial.samples] == [late.t, early.t]


def test_a_probe_that_misses_an_acknowledged_job_is_not_consistent(lite_client: JenkinsClient) -> None:
    recorder = _recorder()
    recorder.acked.append((0.0, "r-never-created"))  # acknowledged, says the record, but not there
    sample = recorder.probe(lite_client, time.monotonic())
    assert sample.status == 200 and not sample.consistent


def test_a_refused_write_is_recorded_but_not_acknowledged(lite_client: JenkinsClient) -> None:
    recorder = _recorder()
    assert recorder.write(lite_client, "r-dup").outcome == "ok"
    again = recorder.write(lite_client, "r-dup")  # Jenkins answers 400: the job exists
    assert (again.status, again.outcome) == (400, "fail")
    assert [op.outcome for op in recorder.trial.writes] == ["ok", "fail"] and len(recorder.acked) == 1


def test_recovery_after_a_fault_needs_another_master_and_a_probe_sent_after_it() -> None:
    recorder = _recorder(Recovery("fault", not_from="jenkins02"))
    recorder.fault_at = 10.0
    ok = Sample(10.5, 200, "jenkins01", True, 0.01)
    assert recorder.recovery is not None
    assert recorder.recovery.reached(recorder, ok, 10.51)
    assert not recorder.recovery.reached(recorder, Sample(9.9, 200, "jenkins01", True, 0.5), 10.4)  # sent before
    assert not recorder.recovery.reached(recorder, Sample(10.5, 200, "jenkins02", True, 0.01), 10.51)  # the victim
    assert not recorder.recovery.reached(recorder, Sample(10.5, 200, "jenkins01", False, 0.01), 10.51)
    assert not recorder.recovery.reached(recorder, Sample(10.5, 503, None, True, 0.01), 10.51)


def test_recovery_after_a_heal_is_timed_by_the_answer_from_any_master() -> None:
    recorder = _recorder(Recovery("heal"))
    recorder.fault_at, recorder.heal_at = 0.0, 10.0
    assert recorder.recovery is not None
    held = Sample(9.0, 200, "jenkins02", True, 1.5)  # sent during the fault, answered after the heal
    assert recorder.recovery.reached(recorder, held, 10.5)
    assert not recorder.recovery.reached(recorder, held, 9.5)


def test_probes_set_recovered_only_when_the_condition_holds(lite_client: JenkinsClient) -> None:
    recorder = _recorder(Recovery("fault", not_from="jenkins02"))
    recorder.probe(lite_client, time.monotonic())  # fault_at is still infinitely far
    assert not recorder.recovered.is_set()
    recorder.fault_at = time.monotonic()
    recorder.probe(lite_client, time.monotonic())
    assert recorder.recovered.is_set()


def test_a_change_marker_marks_only_changes() -> None:
    recorder = _recorder()
    reads = iter([{"jenkins01": "UP", "jenkins02": "UP"}, {"jenkins01": "UP", "jenkins02": "DOWN"}, {}])
    marker = ChangeMarker(recorder, lambda: next(reads))
    for _ in range(3):
        marker()
    marks = [(m.server, m.status) for m in recorder.trial.haproxy]
    assert marks == [("jenkins01", "UP"), ("jenkins02", "UP"), ("jenkins02", "DOWN")]
    assert recorder.trial.haproxy[0].t <= recorder.trial.haproxy[-1].t


def test_the_first_other_server_is_read_from_the_samples() -> None:
    recorder = _recorder()
    recorder.trial.samples += [
        Sample(1.0, 200, "jenkins02", True, 0.01),
        Sample(2.0, 503, None, False, 0.01),
        Sample(3.0, 200, "jenkins01", True, 0.01),
    ]
    assert recorder.first_server_other_than("jenkins02") == "jenkins01"
    assert recorder.first_server_other_than("jenkins01") == "jenkins02"
