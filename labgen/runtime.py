"""Run a lab: up, down, status, logs. Docker labels are the source of truth; the lab folder
(`paths.lab_dir`) keeps the rendered files, the secrets and the `Lab` it was started from."""

from __future__ import annotations

import contextlib
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import NotFound

from labgen import docker_api, haproxy_stats, journal
from labgen.errors import EXIT_USAGE, EnvironmentProblem, LabgenError
from labgen.events import NULL_EMITTER, Emitter
from labgen.paths import lab_dir
from labgen.render import generate, read_secrets
from labgen.spec import Lab

LAB_FILE = "lab.json"
COMPOSE_FILE = "compose.yaml"


# ---- the lab folder ------------------------------------------------------------------------------


def save_lab(lab: Lab, folder: Path) -> None:
    (folder / LAB_FILE).write_text(lab.model_dump_json(indent=2), encoding="utf-8")


def load_saved_lab(name: str) -> Lab:
    """The `Lab` a running lab was started from, found by name (no spec file needed)."""
    path = lab_dir(name) / LAB_FILE
    if not path.exists():
        known = known_labs()
        raise LabgenError(
            f"no lab named {name!r}",
            hint=f"known labs: {', '.join(known)}" if known else "start one with `labgen up`",
            exit_code=EXIT_USAGE,
        )
    return Lab.model_validate_json(path.read_text(encoding="utf-8"))


def known_labs() -> list[str]:
    root = lab_dir("x").parent
    on_disk = {p.parent.name for p in root.glob(f"*/{LAB_FILE}")} if root.exists() else set()
    with contextlib.suppress(EnvironmentProblem):
        on_disk |= set(docker_api.lab_names())
    return sorted(on_disk)


def running_labs() -> list[str]:
    """Labs with a running container on this engine."""
    containers = docker_api.containers_with([docker_api.LAB_LABEL], all_states=False)
    return sorted({c.labels[docker_api.LAB_LABEL] for c in containers})


def published_host(lab: Lab) -> str:
    return "127.0.0.1" if lab.ports.bind in ("0.0.0.0", "::") else lab.ports.bind


# ---- up ------------------------------------------------------------------------------------------


@dataclass
class UpResult:
    lab: Lab
    folder: Path
    flavour: str
    haproxy_version: str
    seconds: float
    urls: dict[str, str]
    credentials_file: Path
    notes: list[str] = field(default_factory=list)


def up(
    lab: Lab,
    *,
    build_options: dict[str, Any] | None = None,
    timeout: float = 300,
    emitter: Emitter = NULL_EMITTER,
) -> UpResult:
    from labgen.images import build_images

    started = time.monotonic()
    docker_api.client()
    docker_api.compose_command()
    built = build_images(lab, emitter=emitter, **(build_options or {}))
    effective = lab.with_haproxy_version(built.haproxy_version)
    notes = []
    if built.haproxy_version != lab.haproxy.version:
        notes.append(
            f"HAProxy {lab.haproxy.version} could not be built here; the lab runs {built.haproxy_version} "
            f"with its config rendered for {built.haproxy_version}"
        )
    _check_ports_free(effective)
    folder = lab_dir(lab.name)
    generate(effective, folder, flavour=built.flavour)
    save_lab(effective, folder)
    journal.record(lab.name, "lab.up", f"starting lab {lab.name}", flavour=built.flavour)
    emitter.emit("up.start", f"starting lab {lab.name} ({len(lab.masters)} masters, {built.flavour} Jenkins)", "step")
    try:
        _compose(folder, effective, "up", "-d", "--remove-orphans")
        wait_healthy(effective, folder, timeout=timeout, emitter=emitter)
    except KeyboardInterrupt:
        emitter.emit("up.interrupted", "interrupted: removing the half-started lab (data volume kept)", "warn")
        _compose(folder, effective, "down", "--remove-orphans")
        raise LabgenError(
            "interrupted: the half-started lab was removed; JENKINS_HOME's volume is kept",
            hint="run `labgen up` again",
            exit_code=130,
        ) from None
    host = published_host(effective)
    urls = {
        "jenkins": f"http://{host}:{lab.ports.http}/",
        "stats": f"http://{host}:{lab.ports.stats}/haproxy?stats",
        "agent": f"{host}:{lab.ports.agent}",
    }
    journal.record(lab.name, "lab.ready", "every master healthy behind HAProxy")
    return UpResult(
        effective,
        folder,
        built.flavour,
        built.haproxy_version,
        time.monotonic() - started,
        urls,
        folder / "secrets.env",
        notes,
    )


def _compose(folder: Path, lab: Lab, *args: str) -> str:
    result = docker_api.run_compose(folder / COMPOSE_FILE, lab.project, *args)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise LabgenError(
            f"docker compose {args[0]} failed: {detail[-1] if detail else 'no output'}",
            hint=f"see `labgen logs SERVICE --lab {lab.name}`; the compose file is {folder / COMPOSE_FILE}",
        )
    return result.stdout


def port_free(bind: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError:
            return False
    return True


def _check_ports_free(lab: Lab) -> None:
    ours = {c.name for c in docker_api.lab_containers(lab.name, "haproxy", all_states=False)}
    if ours:
        return  # our own HAProxy holds them; compose decides whether it must be recreated
    for field_name in ("http", "stats", "agent"):
        port = getattr(lab.ports, field_name)
        if not port_free(lab.ports.bind, port):
            raise EnvironmentProblem(
                f"port {port} on {lab.ports.bind} (ports.{field_name}) is already in use",
                hint=f"free it, or choose another: --{field_name}-port N (or ports.{field_name} in the spec)",
            )


def wait_healthy(lab: Lab, folder: Path, *, timeout: float, emitter: Emitter = NULL_EMITTER) -> None:
    """Until every master container is healthy and HAProxy serves /login from the active one."""
    secrets = read_secrets(folder)
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        health = {svc: container_health(lab.name, svc) for svc in ["nfs", *lab.masters, "haproxy"]}
        servers = haproxy_stats.try_fetch(
            published_host(lab), lab.ports.stats, secrets["LABGEN_STATS_USER"], secrets["LABGEN_STATS_PASSWORD"]
        )
        served_by = probe_login(lab)
        summary = ", ".join(f"{svc} {state}" for svc, state in health.items())
        if summary != last:
            emitter.emit("up.wait", f"waiting: {summary}", data=health)
            last = summary
        dead = [svc for svc, state in health.items() if state in ("exited", "dead", "missing")]
        if dead:
            raise LabgenError(
                f"{', '.join(dead)} stopped while the lab was starting",
                hint=f"see `labgen logs {dead[0]} --lab {lab.name}`",
            )
        masters_ok = all(health[m] == "healthy" for m in lab.masters)
        if masters_ok and servers is not None and served_by is not None and _active_up(lab, servers):
            emitter.emit("up.ready", f"lab {lab.name} is up: /login served by {served_by}", "done")
            return
        if time.monotonic() > deadline:
            raise LabgenError(
                f"lab {lab.name} did not become healthy within {timeout:.0f} s ({summary})",
                hint=f"see `labgen status --lab {lab.name}` and `labgen logs SERVICE --lab {lab.name}`",
            )
        time.sleep(1)


def container_health(name: str, service: str) -> str:
    containers = docker_api.lab_containers(name, service)
    if not containers:
        return "missing"
    container = containers[0]
    container.reload()
    state = container.attrs["State"]
    if state.get("Status") != "running":
        return str(state.get("Status"))
    return str(state.get("Health", {}).get("Status", "running"))


def _active_up(lab: Lab, servers: list[haproxy_stats.ServerState]) -> bool:
    http = [s for s in servers if s.proxy in ("jenkins", "jenkins_proxy")]
    return any(s.up for s in http)


def probe_login(lab: Lab, timeout: float = 2.0) -> str | None:
    """GET /login through HAProxy: the master that answered 200, or None."""
    url = f"http://{published_host(lab)}:{lab.ports.http}/login"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            headers = response.headers
            return str(headers.get("X-Labgen-Served-By") or headers.get("X-Labgen-Node") or "a master")
    except (OSError, urllib.error.HTTPError):
        return None


# ---- down ----------------------------------------------------------------------------------------


@dataclass
class DownResult:
    name: str
    removed: list[str]
    volumes_removed: list[str]
    nothing_running: bool


def down(name: str, *, volumes: bool = False, emitter: Emitter = NULL_EMITTER) -> DownResult:
    """Remove the lab's containers and network (and volumes if asked), found by label."""
    engine = docker_api.client()
    containers = docker_api.lab_containers(name)
    networks = engine.networks.list(filters={"label": f"{docker_api.LAB_LABEL}={name}"})
    lab_volumes = engine.volumes.list(filters={"label": f"{docker_api.LAB_LABEL}={name}"})
    if not containers and not networks and not (volumes and lab_volumes):
        return DownResult(name, [], [], nothing_running=True)
    removed = []
    for container in containers:
        emitter.emit("down.container", f"removing {container.name}")
        with contextlib.suppress(NotFound):  # already gone (compose or another `down` got there first)
            container.remove(force=True, v=False)
        removed.append(container.name)
    for network in networks:
        with contextlib.suppress(Exception):
            network.remove()
            removed.append(network.name)
    volumes_removed = []
    if volumes:
        for volume in lab_volumes:
            volume.remove(force=True)
            volumes_removed.append(volume.name)
    journal.record(name, "lab.down", f"lab {name} removed", volumes=volumes)
    return DownResult(name, removed, volumes_removed, nothing_running=False)


# ---- status --------------------------------------------------------------------------------------


@dataclass
class ServiceStatus:
    service: str
    container: str | None
    state: str
    image: str | None


@dataclass
class LabStatus:
    name: str
    profile: str
    flavour: str | None
    haproxy_version: str
    services: list[ServiceStatus]
    servers: list[haproxy_stats.ServerState] | None
    active: str | None
    urls: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "lab": self.name,
            "profile": self.profile,
            "jenkins_flavour": self.flavour,
            "haproxy_version": self.haproxy_version,
            "active": self.active,
            "services": [vars(s) for s in self.services],
            "haproxy_servers": None if self.servers is None else [vars(s) for s in self.servers],
            "urls": self.urls,
        }


def status(name: str) -> LabStatus:
    lab = load_saved_lab(name)
    folder = lab_dir(name)
    services = []
    flavour = None
    for service in ["nfs", *lab.masters, "haproxy", *(["controller"] if lab.profile == "ha" else [])]:
        containers = docker_api.lab_containers(name, service)
        if not containers:
            services.append(ServiceStatus(service, None, "missing", None))
            continue
        container = containers[0]
        image_labels = container.image.labels if container.image else {}
        if service.startswith("jenkins"):
            flavour = image_labels.get("org.labgen.jenkins.flavour", flavour)
        services.append(
            ServiceStatus(service, container.name, container_health(name, service), (container.image.tags or [None])[0])
        )
    secrets = read_secrets(folder)
    servers = haproxy_stats.try_fetch(
        published_host(lab),
        lab.ports.stats,
        secrets.get("LABGEN_STATS_USER", ""),
        secrets.get("LABGEN_STATS_PASSWORD", ""),
    )
    host = published_host(lab)
    return LabStatus(
        name=name,
        profile=lab.profile,
        flavour=flavour,
        haproxy_version=lab.haproxy.version,
        services=services,
        servers=servers,
        active=active_master(lab, servers),
        urls={"jenkins": f"http://{host}:{lab.ports.http}/", "stats": f"http://{host}:{lab.ports.stats}/haproxy?stats"},
    )


def active_master(lab: Lab, servers: list[haproxy_stats.ServerState] | None) -> str | None:
    """The master HAProxy sends traffic to: the one that answers through it, else HAProxy's view."""
    served = probe_login(lab)
    if served in lab.masters:
        return served
    if not servers:
        return None
    up = [s.server for s in servers if s.proxy in ("jenkins", "jenkins_proxy") and s.up]
    if lab.profile == "article":
        return ",".join(up) or None  # round robin: every UP master serves
    return up[0] if up else None


# ---- logs ----------------------------------------------------------------------------------------


def logs(name: str, service: str, *, follow: bool = False, tail: int | str = "all") -> Iterator[bytes]:
    lab = load_saved_lab(name)
    valid = ["nfs", *lab.masters, "haproxy", *(["controller"] if lab.profile == "ha" else [])]
    if service not in valid:
        raise LabgenError(f"no service {service!r} in lab {name}; services: {', '.join(valid)}", exit_code=EXIT_USAGE)
    containers = docker_api.lab_containers(name, service)
    if not containers:
        raise LabgenError(f"{service} has no container (is lab {name} up?)", hint="`labgen status` shows the lab")
    stream = containers[0].logs(stream=True, follow=follow, tail=tail)
    yield from stream
