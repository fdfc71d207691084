"""Issue 19, items 9 to 12, on a running lab: a build runs unprivileged (uid not 0, no effective
capability, no_new_privs) while the FUSE mount helper stays root; no secret in `docker inspect`;
each service holds only its own secrets; HAProxy runs with the capabilities it needs and serves;
the NFS export admits the masters' addresses only (HAProxy's cannot mount) and squashes root."""

from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from labgen import engine
from labgen.lab.folder import load_topology
from labgen.model import names
from labgen.verify.builds import shell_job_xml
from tests.integration.conftest import RunningLab, requires_docker, running_lab

pytestmark = [requires_docker, pytest.mark.integration]

PROCESSES = """
import os
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        uid = next(l.split()[1] for l in open(f"/proc/{pid}/status") if l.startswith("Uid:"))
        args = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\\0", b" ").decode().strip()
    except OSError:
        continue
    print(uid, args)
"""
# the masters' userspace NFS client (labgen_nfsmount) mounting the export, nothing more
MOUNT_PROBE = """
import sys
from labgen_nfsmount.libnfs import load_libnfs
from labgen_nfsmount.session import NfsSession
try:
    NfsSession(load_libnfs(), sys.argv[1], timeout=5, retry_window=0).connect()
except Exception as exc:
    print("refused:", exc)
    sys.exit(3)
print("mounted")
"""
PROBE = "id -u; id -g; grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status"


@pytest.fixture(scope="module")
def lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"lg-harden-sec-{uuid.uuid4().hex[:6]}") as started:
        yield started


def _console(lab: RunningLab, job: str, number: int = 1, timeout: float = 60) -> str:
    client = lab.client()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = client.request("GET", f"/job/{urllib.parse.quote(job)}/{number}/consoleText")
        text = reply.body.decode("utf-8", "replace") if reply.body else ""
        if reply.status == 200 and "Finished:" in text:
            return text
        time.sleep(0.5)
    raise AssertionError(f"build {job} #{number} did not finish within {timeout} s")


def test_a_build_runs_unprivileged(lab: RunningLab) -> None:
    job = f"whoami-{uuid.uuid4().hex[:6]}"
    client = lab.client()
    created = client.request("POST", f"/createItem?name={job}", shell_job_xml(PROBE).encode(), "application/xml")
    assert created.status == 200, created
    assert client.build_job(job).status in (200, 201)
    console = _console(lab, job)
    fields = dict(line.split(":\t", 1) for line in console.splitlines() if ":\t" in line)
    numbers = [line for line in console.splitlines() if line.strip().isdigit()]
    assert numbers[:2] == ["1000", "1000"], console
    assert int(fields["CapEff"], 16) == 0 and int(fields["CapBnd"], 16) == 0, console
    assert fields["NoNewPrivs"].strip() == "1", console


def test_the_fuse_helper_alone_stays_root(lab: RunningLab) -> None:
    for master in lab.lab.masters:
        result = lab.container(master).exec_run(["python3", "-c", PROCESSES])
        processes = [line.split(" ", 1) for line in result.output.decode().splitlines() if " " in line]
        python_as_root = [
            args for uid, args in processes if uid == "0" and "python3" in args and not args.startswith("python3 -c")
        ]
        assert python_as_root and all("labgen_nfsmount" in a for a in python_as_root), processes
        assert any(uid == "1000" and "labgen_lite" in args for uid, args in processes), processes


def test_no_secret_in_docker_inspect_and_each_service_holds_its_own(lab: RunningLab) -> None:
    secrets = lab.secrets
    values = {k: v for k, v in secrets.items() if "PASSWORD" in k or "TOKEN" in k}
    for service in ("nfs", *lab.lab.masters, "haproxy"):
        attrs = str(lab.container(service).attrs)
        leaked = [k for k, v in values.items() if v in attrs]
        assert not leaked, f"{service}: {leaked} in docker inspect"
    haproxy = lab.container("haproxy").exec_run(["cat", "/run/secrets/labgen.env"]).output.decode()
    assert "LABGEN_STATS_PASSWORD" in haproxy and "JENKINS_ADMIN_PASSWORD" not in haproxy
    master = lab.container("jenkins01").exec_run(["cat", "/run/secrets/labgen.env"]).output.decode()
    assert "JENKINS_ADMIN_PASSWORD" in master and "LABGEN_STATS" not in master


def test_haproxy_runs_with_few_capabilities(lab: RunningLab) -> None:
    host_config = lab.container("haproxy").attrs["HostConfig"]
    assert host_config["CapDrop"] == ["ALL"]
    assert {c.removeprefix("CAP_") for c in host_config["CapAdd"]} == {
        "NET_BIND_SERVICE",
        "SETUID",
        "SETGID",
        "SYS_CHROOT",
        "KILL",
    }
    assert not host_config["Privileged"]
    with_auth = lab.client().request("GET", "/login")
    assert with_auth.status == 200


def _mount_from(lab: RunningLab, network_of: str) -> tuple[int, str]:
    """Mount the export with the masters' own NFS client, from a throwaway container of the masters'
    image that shares `network_of`'s network namespace (so the server sees that service's address)."""
    topology = load_topology(lab.name)
    service = lab.container(network_of)
    image = lab.container(topology.masters[0]).image
    url = f"nfs://{topology.nfs_address}{names.NFS_PSEUDO_PATH}?version=4"
    probe = engine.client().containers.create(
        image.id,
        ["-c", MOUNT_PROBE, url],
        entrypoint=["python3"],
        network_mode=f"container:{service.id}",
        labels={names.LAB_LABEL: lab.name},
    )
    try:
        probe.start()
        code = int(probe.wait(timeout=60)["StatusCode"])
        return code, probe.logs().decode("utf-8", "replace")
    finally:
        probe.remove(force=True)


def test_the_export_admits_the_masters_only_and_squashes_root(lab: RunningLab) -> None:
    topology = load_topology(lab.name)
    config = lab.container("nfs").exec_run(["cat", "/etc/ganesha/ganesha.conf"]).output.decode()
    assert "Root_Squash" in config and "@LAB_NETWORK@" not in config
    assert f"Clients = {', '.join(topology.master_addresses)};" in config, config
    owner = lab.container("nfs").exec_run(["stat", "-c", "%u", "/export/jenkins/config.xml"]).output.decode()
    assert owner.strip() == "1000", owner
    code, said = _mount_from(lab, topology.masters[0])  # a master's address: admitted
    assert code == 0 and "mounted" in said, said
    code, said = _mount_from(lab, topology.load_balancer_names[0])  # HAProxy's address: refused
    assert code == 3 and "refused" in said, said


def test_the_nfs_server_runs_under_labgens_seccomp_profile(lab: RunningLab) -> None:
    nfs = lab.container("nfs")
    seccomp = [opt for opt in nfs.attrs["HostConfig"]["SecurityOpt"] if opt.startswith("seccomp")]
    assert len(seccomp) == 1 and seccomp[0] != "seccomp=unconfined", seccomp
    profile = json.loads(seccomp[0].removeprefix("seccomp="))  # Compose sends the file's JSON
    assert profile["defaultAction"] == "SCMP_ACT_ALLOW"
    assert "unshare" in {name for rule in profile["syscalls"] for name in rule["names"]}
    status = nfs.exec_run(["cat", "/proc/1/status"]).output.decode()
    assert "Seccomp:\t2" in status, status  # 2: a filter is in force
    # and it filters: a new namespace is refused
    refused = nfs.exec_run(["unshare", "--net", "true"])
    assert refused.exit_code != 0 and b"Operation not permitted" in refused.output, refused.output
