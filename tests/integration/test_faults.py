"""Issue 12: every service's fault, measured (`labgen verify fault`), and an NFS outage told from a
healthy lab: the masters' home check marks them DOWN in HAProxy, `status` and `doctor` say so, and
the promoter keeps the active master instead of failing over to one that shares the dead NFS."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labgen import chaos
from labgen.cli import run
from labgen.lab import runtime
from labgen.lab.doctor import check_lab_homes
from labgen.lab.handle import LabHandle
from labgen.model import names
from labgen.verify.faults import FaultPlan, run_faults
from tests.integration.conftest import RunningLab, requires_docker, running_lab

pytestmark = [requires_docker, pytest.mark.integration]
PREFIX = os.environ.get("LABGEN_TEST_LAB_PREFIX", "it")  # labs of parallel runs on one machine must differ
RECOVERY_S = 10.0  # what the README claims: consistent again within this long after the heal


@pytest.fixture(scope="module")
def lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"fm-{PREFIX}-faults") as running:
        yield running


def _until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}"
        time.sleep(0.5)


def _homes(lab: RunningLab) -> str | None:
    """`labgen doctor`'s verdict on the lab's JENKINS_HOME (None: the lab does not run)."""
    check = check_lab_homes(lab.lab)
    return check.verdict if check else None


def test_an_nfs_outage_is_seen_by_status_doctor_and_haproxy(lab: RunningLab) -> None:
    handle = LabHandle.open(lab.name)
    active = handle.active_master(handle.haproxy_servers())
    assert active in handle.topology.masters
    assert _homes(lab) == "ok"
    masters = handle.topology.masters
    chaos.apply(handle, "kill", names.NFS)
    try:

        def every_home_down() -> bool:
            states = {s.service: s for s in runtime.status(lab.name).services}
            return all("home: not answering" in states[m].state for m in handle.topology.masters)

        _until("status shows every master's home not answering", every_home_down)
        _until("HAProxy marks the active DOWN by its agent", lambda: "agent" in (handle.server_status(active) or ""))
        _until("Docker marks every master unhealthy", lambda: all(handle.health(m) == "unhealthy" for m in masters))
        doctor = check_lab_homes(lab.lab)
        assert doctor is not None and doctor.verdict == "fail" and "not answering" in doctor.detail
        assert _homes(lab) == "fail"
        time.sleep(3)  # the promoter keeps the active: no standby shares a home that answers
        state = handle.promoter_state()
        assert state is not None and state["active"] == active and state["phase"] == "serving"
    finally:
        chaos.apply(handle, "start", names.NFS)
    _until("every home answers again", lambda: _homes(lab) == "ok", timeout=60)
    _until("Docker sees every master healthy again", lambda: all(handle.health(m) == "healthy" for m in masters))


def test_nfs_kill_holds_requests_and_loses_nothing(lab: RunningLab) -> None:
    result = run_faults(lab.name, [FaultPlan(names.NFS, "kill", hold=8.0)], probe_timeout=10.0)
    trial = result.trials[0]
    assert trial.verdict == "pass", trial.reasons
    during = trial.ok_during + trial.failed_during + trial.unknown_during
    assert during >= 50
    # Clients saw the outage: most requests hung (held by HAProxy or the master) or failed.
    assert trial.slow_during + trial.failed_during + trial.unknown_during >= during // 2
    assert trial.masters_marked_s is not None and trial.masters_marked_s < 6.0  # the agent, not /login
    assert trial.trial is not None
    assert any("agent" in m.status for m in trial.trial.haproxy if m.server == trial.active_before)
    # No failover flip-flop: every master shares the dead NFS.
    assert trial.active_changes == 0 and trial.active_after == trial.active_before
    assert trial.consistent_s is not None and trial.consistent_s < RECOVERY_S
    assert trial.trial.lost == [] and trial.trial.acknowledged >= 5


def test_haproxy_kill_refuses_connections_and_loses_nothing(lab: RunningLab, tmp_path: Path) -> None:
    report = tmp_path / "report"
    args = ["verify", "fault", names.HAPROXY, "--lab", lab.name, "--action", "kill", "--hold", "5"]
    assert run([*args, "--report", str(report)]) == 0
    result = json.loads((report / "result.json").read_text())
    trial = result["trials"][0]
    assert result["verdict"] == "pass" and trial["role"] == "HAProxy and the promoter"
    # While HAProxy is dead every connection is refused at once: failed, not hung.
    assert trial["ok_during"] == 0 and trial["unknown_during"] == 0 and trial["failed_during"] >= 30
    assert trial["latency_max_during_s"] < 1.0
    # After the start HAProxy elects and reloads a master before it serves: every job there.
    assert trial["consistent_s"] is not None and trial["consistent_s"] < RECOVERY_S
    assert trial["lost"] == [] and trial["acknowledged"] >= 5
    assert trial["active_after"] in LabHandle.open(lab.name).topology.masters
    assert "<testsuite" in (report / "junit.xml").read_text() and "Fault matrix" in (report / "report.html").read_text()
