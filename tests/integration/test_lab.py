"""Issue 4: the lab runs, with JENKINS_HOME really on NFS, and the runtime commands behave."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import docker as docker_sdk
import pytest

from labgen import engine as docker_engine
from labgen.cli import run
from labgen.lab import docker as docker_api
from labgen.lab.runtime import down
from labgen.model.addresses import derived_subnet
from labgen.model.topology import Topology
from labgen.paths import lab_dir
from tests.integration.conftest import RunningLab, free_port, requires_docker

pytestmark = [requires_docker, pytest.mark.integration]


def _exec(lab: RunningLab, service: str, *cmd: str) -> str:
    result = lab.container(service).exec_run(list(cmd))
    assert result.exit_code == 0, result.output.decode()
    return str(result.output.decode())


def test_haproxy_serves_login_through_the_published_port(ha_lab: RunningLab) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{ha_lab.lab.ports.http}/login", timeout=5) as response:
        assert response.status == 200
        assert response.headers["X-Jenkins"] == "2.190.2"
        assert response.headers["X-Labgen-Served-By"] == "jenkins01"
        assert response.headers["X-Labgen-Flavour"] in ("lite", None)


def test_jenkins_home_is_an_nfs_mount_not_a_docker_volume(ha_lab: RunningLab) -> None:
    for master in ha_lab.lab.masters:
        mounts = _exec(ha_lab, master, "cat", "/proc/mounts")
        line = next(m for m in mounts.splitlines() if " /var/lib/data " in m)
        assert " fuse.labgen_nfs " in line and line.startswith("labgen-nfs:nfs:/data "), line
        docker_mounts = [m["Destination"] for m in ha_lab.container(master).attrs["Mounts"]]
        assert not any(d.startswith("/var/lib/data") for d in docker_mounts)


def test_a_file_written_through_jenkins01_is_in_the_export_and_seen_by_jenkins02(ha_lab: RunningLab) -> None:
    name = f"probe-{uuid.uuid4().hex}"
    _exec(ha_lab, "jenkins01", "sh", "-c", f"echo hello-from-01 > /var/lib/data/jenkins/{name}")
    assert _exec(ha_lab, "nfs", "cat", f"/export/jenkins/{name}").strip() == "hello-from-01"
    assert _exec(ha_lab, "jenkins02", "cat", f"/var/lib/data/jenkins/{name}").strip() == "hello-from-01"


def test_a_job_created_through_haproxy_lands_on_the_nfs_export(ha_lab: RunningLab) -> None:
    job = f"job-{uuid.uuid4().hex[:8]}"
    assert ha_lab.client().create_job(job).status == 200
    assert "<project>" in _exec(ha_lab, "nfs", "cat", f"/export/jenkins/jobs/{job}/config.xml")


def test_status_json_reports_both_masters_and_the_active_one(
    ha_lab: RunningLab, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["status", "--lab", ha_lab.name, "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["active"] == "jenkins01"
    assert status["jenkins_flavour"] in ("lite", "real")
    servers = {(s["proxy"], s["server"]): s["status"] for s in status["haproxy_servers"]}
    assert servers[("jenkins", "jenkins01")].startswith("UP")
    assert ("jenkins", "jenkins02") in servers  # the standby: MAINT under the promoter
    states = {s["service"]: s["state"] for s in status["services"]}
    assert states["jenkins01"] == states["jenkins02"] == "healthy"


def test_logs_by_lab_name(ha_lab: RunningLab, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert run(["logs", "jenkins01", "--lab", ha_lab.name, "--tail", "50"]) == 0
    assert b"GET /login" in capsysbinary.readouterr().out
    assert run(["logs", "nosuchservice", "--lab", ha_lab.name]) == 2


def test_everything_is_labelled_with_the_lab(ha_lab: RunningLab) -> None:
    engine = docker_engine.client()
    label = f"org.labgen.lab={ha_lab.name}"
    assert len(engine.containers.list(filters={"label": label})) == len(Topology.resolve(ha_lab.lab).services)
    assert engine.networks.list(filters={"label": label})
    assert len(engine.volumes.list(filters={"label": label})) == 2


def _up_again(lab: RunningLab) -> list[str]:
    ports = lab.lab.ports
    return [
        "up",
        "--name",
        lab.name,
        "--http-port",
        str(ports.http),
        "--stats-port",
        str(ports.stats),
        "--agent-port",
        str(ports.agent),
    ]


def test_up_again_is_harmless(ha_lab: RunningLab) -> None:
    before = {c.name: c.id for c in docker_api.lab_containers(ha_lab.name)}
    assert run(_up_again(ha_lab)) == 0
    assert {c.name: c.id for c in docker_api.lab_containers(ha_lab.name)} == before


def test_down_then_up_keeps_the_jobs(ha_lab: RunningLab) -> None:
    job = f"kept-{uuid.uuid4().hex[:8]}"
    assert ha_lab.client().create_job(job).status == 200
    assert run(["down", "--lab", ha_lab.name]) == 0
    assert docker_api.lab_containers(ha_lab.name) == []
    assert run(_up_again(ha_lab)) == 0
    _reply, jobs = ha_lab.client().list_jobs()
    assert jobs is not None and job in jobs


def test_a_published_port_already_taken(state_home: object, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        code = run(
            [
                "up",
                "--name",
                "it-port",
                "--http-port",
                str(port),
                "--stats-port",
                str(free_port()),
                "--agent-port",
                str(free_port()),
            ]
        )
    assert code == 3
    assert f"port {port} on 127.0.0.1 (ports.http) is already in use" in " ".join(capsys.readouterr().err.split())
    assert docker_api.lab_containers("it-port") == []


def test_a_subnet_another_network_has_is_refused(state_home: object, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"it-subnet-{uuid.uuid4().hex[:6]}"
    subnet = derived_subnet(name)
    ipam = docker_sdk.types.IPAMConfig(pool_configs=[docker_sdk.types.IPAMPool(subnet=subnet)])
    other = docker_engine.client().networks.create(f"{name}-other", ipam=ipam, labels={"org.labgen.test": name})
    try:
        ports = ["--http-port", str(free_port()), "--stats-port", str(free_port()), "--agent-port", str(free_port())]
        code = run(["up", "--name", name, *ports])
        err = " ".join(capsys.readouterr().err.split())
    finally:
        other.remove()
        down(name, volumes=True)
    assert code == 3
    assert f"the lab's subnet {subnet} overlaps Docker network {name}-other ({subnet})" in err
    assert "network.subnet" in err  # the hint says how to choose another
    assert docker_api.lab_containers(name) == [] and docker_api.lab_networks(name) == []


def test_unknown_lab_and_down_when_nothing_runs(state_home: object, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["status", "--lab", "no-such-lab"]) == 2
    assert "no lab named 'no-such-lab'" in capsys.readouterr().err
    assert run(["down", "--lab", "no-such-lab"]) == 2  # issue 12: an unknown lab is an error, not "nothing to do"
    assert "no lab named 'no-such-lab'" in capsys.readouterr().err
    assert run(["down", "--lab", ""]) == 2  # never "the only lab on this machine"
    assert "empty lab name" in capsys.readouterr().err
    assert run(["generate", "--name", "it-idle", "--out", str(lab_dir("it-idle"))]) == 0
    (lab_dir("it-idle") / "lab.json").write_text(json.dumps({"spec": {"name": "it-idle"}}))
    capsys.readouterr()
    assert run(["down", "--lab", "it-idle"]) == 0  # a known lab with nothing running: nothing to do
    assert "nothing running" in capsys.readouterr().out


def test_docker_not_running_is_one_clear_message(tmp_path: object) -> None:
    env = {**os.environ, "DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    result = subprocess.run(
        [sys.executable, "-m", "labgen", "down", "--lab", "no-docker"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 3
    assert "Docker engine is not reachable" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_during_up_leaves_no_orphans_and_the_next_up_recovers(state_home: object) -> None:
    name = "it-sigint"
    ports = ["--http-port", str(free_port()), "--stats-port", str(free_port()), "--agent-port", str(free_port())]
    env = {**os.environ}
    process = subprocess.Popen(
        [sys.executable, "-m", "labgen", "up", "--name", name, *ports],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not docker_api.lab_containers(name) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert docker_api.lab_containers(name), "the lab never started"
        process.send_signal(2)  # SIGINT, as Ctrl-C
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 130, err
        assert "interrupted" in err
        assert docker_api.lab_containers(name) == []
        assert docker_engine.client().volumes.list(filters={"label": f"org.labgen.lab={name}"})  # data kept
        assert run(["up", "--name", name, *ports]) == 0
    finally:
        if process.poll() is None:
            process.kill()
        run(["down", "--lab", name, "--volumes"])
