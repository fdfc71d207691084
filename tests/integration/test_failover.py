"""Issues 5 and 10: break the lab; the ha profile fails over by itself, loses nothing, and no
client request fails; HAProxy itself promotes (no separate promoter to lose); planned switchover."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from labgen import verify
from labgen.cli import run
from labgen.lab.docker import container_health
from labgen.lab.handle import LabHandle
from labgen.model import names
from tests.integration.conftest import RunningLab, requires_docker, running_lab

pytestmark = [requires_docker, pytest.mark.integration]
PREFIX = os.environ.get("LABGEN_TEST_LAB_PREFIX", "it")  # labs of parallel runs on one machine must differ


@pytest.fixture(scope="module")
def lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"{PREFIX}-failover") as running:
        yield running


def _haproxy_status(lab: RunningLab, server: str) -> str:
    states = LabHandle.open(lab.name).haproxy_servers()
    assert states is not None, "HAProxy's stats page does not answer"
    return next(x.status for x in states if x.proxy == "jenkins" and x.server == server)


def _agent_banner(lab: RunningLab) -> bytes:
    with socket.create_connection(("127.0.0.1", lab.lab.ports.agent), timeout=5) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        conn.settimeout(5)
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
        return data


def _wait_healthy(lab: RunningLab, service: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while container_health(lab.name, service) != "healthy":
        assert time.monotonic() < deadline, f"{service} not healthy after {timeout} s"
        time.sleep(0.5)


def test_kill_the_active_master_fails_over_without_a_manual_step(lab: RunningLab) -> None:
    client = lab.client()
    job = f"before-kill-{uuid.uuid4().hex[:8]}"
    created = client.create_job(job)
    assert created.status == 200 and created.served_by == "jenkins01"

    assert run(["chaos", "kill", "jenkins01", "--lab", lab.name]) == 0
    deadline = time.monotonic() + 60
    answers_from_02: list[frozenset[str] | None] = []
    while time.monotonic() < deadline and len(answers_from_02) < 10:
        reply, jobs = client.list_jobs()
        if reply.status == 200:
            assert reply.served_by == "jenkins02", "jenkins01 is dead: nobody else may answer"
            answers_from_02.append(jobs)
        time.sleep(0.1)
    assert answers_from_02, "HAProxy never answered from jenkins02"
    assert all(jobs is not None and job in jobs for jobs in answers_from_02), "jenkins02 served stale jobs"
    assert b"Jenkins-Agent-Protocols" in _agent_banner(lab)

    # jenkins02 works on; jenkins01 comes back as a standby and takes nothing back.
    after = f"after-kill-{uuid.uuid4().hex[:8]}"
    assert client.create_job(after).status == 200
    assert client.build_job(after).status == 201
    assert run(["chaos", "start", "jenkins01", "--lab", lab.name]) == 0
    _wait_healthy(lab, "jenkins01")
    time.sleep(3 * lab.lab.haproxy.check.inter_ms / 1000)
    assert _haproxy_status(lab, "jenkins01").startswith("MAINT")
    served = {client.list_jobs()[0].served_by for _ in range(20)}
    assert served == {"jenkins02"}, "traffic flapped back"
    _reply, jobs = client.list_jobs()
    assert jobs is not None and {job, after} <= jobs
    assert client.build_job(after).status == 201
    # Builds go through the queue (as in Jenkins): wait for the second one to be listed.
    deadline = time.monotonic() + 30
    while client.job_builds(after) != [2, 1] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert client.job_builds(after) == [2, 1]


@pytest.mark.parametrize("action", ["kill", "pause", "partition", "stop"])
def test_verify_failover_variants(lab: RunningLab, action: str) -> None:
    result = verify.run_failover(lab.name, action=action, trials=1, timeout=60)
    trial = result.trials[0]
    assert trial.verdict == "pass", trial.reasons
    assert trial.lost == [] and trial.unexpected == []
    assert trial.detection_s is not None and trial.consistent_s is not None
    assert trial.consistent_s >= trial.first_success_s >= 0  # type: ignore[operator]
    assert trial.survivor not in (None, trial.target)
    # Requests wait in HAProxy while no master may serve: a client sees a slower answer, no error.
    print(
        f"\n{action}: {trial.requests} requests, failed {trial.failed_requests}, unknown {trial.unknown_requests}, "
        f"latency p50/p99/max {trial.latency_p50_s}/{trial.latency_p99_s}/{trial.latency_max_s} s, "
        f"consistent at {trial.consistent_s} s"
    )
    assert (trial.failed_requests, trial.unknown_requests) == (0, 0), [
        (s.t, s.status, s.error) for s in trial.samples if s.outcome != "ok"
    ]


def test_switchover_fails_no_request_and_refuses_an_unhealthy_target(lab: RunningLab) -> None:
    result = verify.run_switchover(lab.name, trials=1, timeout=60)
    trial = result.trials[0]
    print(f"\nswitchover: {trial.note}; {trial.requests} requests, latency max {trial.latency_max_s} s")
    assert trial.verdict == "pass", trial.reasons
    assert (trial.failed_requests, trial.unknown_requests, trial.lost) == (0, 0, [])
    assert trial.switch_s is not None and trial.switch_s < 5
    assert trial.survivor not in (None, trial.target)

    # the standby is stopped: refused, exit 2, nothing changed
    handle = LabHandle.open(lab.name)
    state = handle.promoter_state()
    assert state is not None
    active = state["active"]
    standby = next(m for m in handle.topology.masters if m != active)
    assert run(["chaos", "stop", standby, "--lab", lab.name]) == 0
    try:
        assert run(["switchover", "--to", standby, "--lab", lab.name]) == 2
        assert run(["switchover", "--to", "nobody", "--lab", lab.name]) == 2
        after = handle.promoter_state()
        assert after is not None and after["active"] == active and after["promotions"] == state["promotions"]
        assert lab.client().list_jobs()[0].served_by == active
    finally:
        assert run(["chaos", "start", standby, "--lab", lab.name]) == 0
        _wait_healthy(lab, standby)


def test_the_promoter_is_haproxy_and_a_restart_mid_promotion_converges(lab: RunningLab) -> None:
    """No separate promoter exists; HAProxy killed in the middle of a promotion, then started again,
    still ends with one reloaded master serving every acknowledged job."""
    handle = LabHandle.open(lab.name)
    assert handle.topology.services == [names.NFS, *handle.topology.masters, names.HAPROXY]
    assert handle.topology.promoter == names.HAPROXY
    client = lab.client()
    job = f"before-restart-{uuid.uuid4().hex[:8]}"
    assert client.create_job(job).status == 200
    state = handle.promoter_state()
    assert state is not None and state["phase"] == "serving"
    active = state["active"]

    phases: list[str] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen = handle.promoter_state(timeout=1.0)
            if seen is not None:
                phases.append(seen["phase"])
                if seen["phase"] in ("failover", "reloading"):
                    return
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    assert run(["chaos", "kill", active, "--lab", lab.name]) == 0
    watcher.join(30)
    stop.set()
    assert phases and phases[-1] in ("failover", "reloading"), phases
    assert run(["chaos", "kill", names.HAPROXY, "--lab", lab.name]) == 0  # the promoter, mid-promotion
    assert run(["chaos", "start", names.HAPROXY, "--lab", lab.name]) == 0
    assert run(["chaos", "start", active, "--lab", lab.name]) == 0
    _wait_healthy(lab, active)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = handle.promoter_state()
        if state is not None and state["phase"] == "serving":
            break
        time.sleep(0.2)
    assert state is not None and state["phase"] == "serving", state
    serving = state["active"]
    others = [m for m in handle.topology.masters if m != serving]
    assert all(handle.server_status(m) == "MAINT" for m in others)
    after = f"after-restart-{uuid.uuid4().hex[:8]}"
    assert client.create_job(after).status == 200
    replies = [client.list_jobs() for _ in range(10)]
    assert all(reply.served_by == serving and jobs is not None and {job, after} <= jobs for reply, jobs in replies)


def test_verify_cli_writes_json_junit_and_html(lab: RunningLab, tmp_path: Path) -> None:
    report = tmp_path / "report"
    assert run(["verify", "failover", "--lab", lab.name, "--action", "kill", "--report", str(report)]) == 0
    result = json.loads((report / "result.json").read_text())
    assert result["verdict"] == "pass" and result["summary"]["lost_writes"] == 0
    assert "<testsuite" in (report / "junit.xml").read_text()
    html = (report / "report.html").read_text()
    assert "<svg" in html and "PASS" in html


def test_the_article_profile_needs_the_manual_reload(state_home: Path) -> None:
    with running_lab(f"{PREFIX}-article", "--profile", "article", "--haproxy-version", "2.6.12") as article:
        result = verify.run_failover(
            article.name, target="jenkins01", action="kill", trials=1, timeout=40, manual_reload_after=8
        )
    trial = result.trials[0]
    assert trial.verdict == "fail"
    assert trial.first_success_s is not None  # HAProxy does switch to jenkins02...
    assert trial.manual_reload_s is not None  # ...but its jobs were stale until the manual reload
    assert any("manual reload" in reason for reason in trial.reasons)
