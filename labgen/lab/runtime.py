"""Run a lab: up, down, status, logs. Docker labels are the source of truth; the lab folder
keeps the rendered files, the secrets and the `Topology` it was started from."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import NotFound

from labgen import engine
from labgen.builder import BuildOptions, build_images
from labgen.builder.provenance import image_artifact_origins
from labgen.errors import (
    DockerFailed,
    Interrupted,
    LabNotRunning,
    LabUnhealthy,
    NoSuchTarget,
    PortBusy,
    SubnetBusy,
)
from labgen.events import NULL_EMITTER, Emitter
from labgen.generate import generate
from labgen.generate.render import COMPOSE_FILE
from labgen.lab import docker, journal
from labgen.lab.folder import save_topology
from labgen.lab.handle import HOME_UP, BalancerView, LabHandle
from labgen.model.names import FLAVOUR_LABEL, SECRETS_FILE
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from labgen.paths import lab_dir
from labgen.wire.haproxy import ServerState
from labgen.wire.net import port_free

# ---- up ------------------------------------------------------------------------------------------


@dataclass
class UpResult:
    topology: Topology
    folder: Path
    seconds: float
    credentials_file: Path
    notes: list[str] = field(default_factory=list)


def up(
    spec: LabSpec,
    *,
    build_options: BuildOptions | None = None,
    timeout: float = 300,
    emitter: Emitter = NULL_EMITTER,
) -> UpResult:
    """build -> resolve the topology -> generate the lab folder -> compose up -> wait until healthy."""
    started = time.monotonic()
    engine.client()
    engine.compose_command()
    built = build_images(spec, build_options, emitter=emitter)
    topology = Topology.resolve(spec, haproxy_version=built.haproxy_version, flavour=built.flavour)
    notes = []
    if built.haproxy_version != spec.haproxy.version:
        notes.append(
            f"HAProxy {spec.haproxy.version} could not be built here; the lab runs {built.haproxy_version} "
            f"with its config rendered for {built.haproxy_version}"
        )
    _check_ports_free(topology)
    _check_subnet_free(topology)
    folder = lab_dir(spec.name)
    generate(topology, folder, option="the lab's state folder")
    save_topology(topology, folder)
    journal.record(spec.name, "lab.up", f"starting lab {spec.name}", flavour=built.flavour)
    emitter.emit("up.start", f"starting lab {spec.name} ({len(spec.masters)} masters, {built.flavour} Jenkins)", "step")
    handle = LabHandle.open(spec.name)
    try:
        _compose(handle, "up", "-d", "--remove-orphans")
        wait_healthy(handle, timeout=timeout, emitter=emitter)
    except KeyboardInterrupt:
        emitter.emit("up.interrupted", "interrupted: removing the half-started lab (data volume kept)", "warn")
        _compose(handle, "down", "--remove-orphans")
        raise Interrupted(
            "interrupted: the half-started lab was removed; JENKINS_HOME's volume is kept",
            hint="run `labgen up` again",
        ) from None
    journal.record(spec.name, "lab.ready", "every master healthy behind HAProxy")
    return UpResult(topology, folder, time.monotonic() - started, folder / SECRETS_FILE, notes)


def _compose(handle: LabHandle, *args: str) -> str:
    compose_file = handle.folder / COMPOSE_FILE
    result = engine.run_compose(compose_file, handle.topology.project, *args)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise DockerFailed(
            f"docker compose {args[0]} failed: {detail[-1] if detail else 'no output'}",
            hint=f"see `labgen logs SERVICE --lab {handle.name}`; the compose file is {compose_file}",
        )
    return result.stdout


def _check_subnet_free(topology: Topology) -> None:
    """The lab's subnet must be its own: Docker refuses a network whose subnet overlaps another's,
    and the lab's fixed addresses need that subnet."""
    taken = docker.overlapping_networks(topology.subnet, topology.network)
    if taken:
        others = ", ".join(f"{name} ({subnet})" for name, subnet in taken)
        raise SubnetBusy(
            f"the lab's subnet {topology.subnet} overlaps Docker network {others}",
            hint="choose another: --set network.subnet=10.X.Y.0/24 (or network.subnet in the spec), "
            "or remove that network",
        )


def _check_ports_free(topology: Topology) -> None:
    if docker.lab_containers(topology.name, topology.load_balancer_names[0], all_states=False):
        return  # our own HAProxy holds them; compose decides whether it must be recreated
    ports = topology.lab.ports
    for field_name in ("http", "stats", "agent"):
        port = getattr(ports, field_name)
        if not port_free(ports.bind, port):
            raise PortBusy(
                f"port {port} on {ports.bind} (ports.{field_name}) is already in use",
                hint=f"free it, or choose another: --{field_name}-port N (or ports.{field_name} in the spec)",
            )


def wait_healthy(
    handle: LabHandle, *, timeout: float, emitter: Emitter = NULL_EMITTER, every_balancer: bool = True
) -> None:
    """Until every master container is healthy and HAProxy serves /login from the active one (a
    pair: exactly one load balancer holds the VIP; with every_balancer False one of the two may be
    down, as in a master's failover while a load balancer is down)."""
    topology = handle.topology
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        health = {svc: handle.health(svc) for svc in topology.services}
        servers = handle.haproxy_servers()
        served_by = handle.probe_login()
        summary = ", ".join(f"{svc} {state}" for svc, state in health.items())
        if summary != last:
            emitter.emit("up.wait", f"waiting: {summary}", data=health)
            last = summary
        dead = [svc for svc, state in health.items() if state in ("exited", "dead", "missing")]
        if not every_balancer and topology.pair:
            balancers = topology.load_balancer_names
            if any(svc not in dead for svc in balancers):  # one of the pair is enough
                dead = [svc for svc in dead if svc not in balancers]
        if dead:
            raise LabUnhealthy(
                f"{', '.join(dead)} stopped while the lab was starting",
                hint=f"see `labgen logs {dead[0]} --lab {handle.name}`",
            )
        masters_ok = all(health[m] == "healthy" for m in topology.masters)
        vip_ok = topology.vip is None or len(handle.vip_holders()) == 1
        if masters_ok and vip_ok and served_by is not None and any(s.up for s in handle.http_servers(servers)):
            emitter.emit("up.ready", f"lab {handle.name} is up: /login served by {served_by}", "done")
            return
        if time.monotonic() > deadline:
            raise LabUnhealthy(
                f"lab {handle.name} did not become healthy within {timeout:.0f} s ({summary})",
                hint=f"see `labgen status --lab {handle.name}` and `labgen logs SERVICE --lab {handle.name}`",
            )
        time.sleep(1)


# ---- down ----------------------------------------------------------------------------------------


@dataclass
class DownResult:
    name: str
    removed: list[str]
    volumes_removed: list[str]
    nothing_running: bool


def down(name: str, *, volumes: bool = False, emitter: Emitter = NULL_EMITTER) -> DownResult:
    """Remove the lab's containers and network (and volumes if asked), found by label."""
    containers = docker.lab_containers(name)
    networks = docker.lab_networks(name)
    lab_volumes = docker.lab_volumes(name)
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
    home: str | None = None  # a master's home check: up, down #why, no answer: ... (None: not asked)


@dataclass
class LabStatus:
    name: str
    profile: str
    flavour: str | None
    haproxy_version: str
    services: list[ServiceStatus]
    servers: list[ServerState] | None
    active: str | None
    urls: dict[str, str]
    artifacts: dict[str, str] = field(default_factory=dict)  # "haproxy"/"jenkins.war" -> official, unofficial, ...
    vip: str | None = None  # a pair's virtual IP
    balancers: list[BalancerView] = field(default_factory=list)  # each load balancer's view of it

    @property
    def vip_holders(self) -> list[str]:
        return [view.name for view in self.balancers if view.holds_vip]

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
            "artifacts": self.artifacts,
            "vip": self.vip,
            "vip_holders": self.vip_holders,
            "load_balancers": [vars(view) for view in self.balancers],
        }


def artifact_origins(handle: LabHandle) -> dict[str, str]:
    """What the lab's images say their HAProxy source and jenkins.war are (official, unofficial, ...)."""
    origins: dict[str, str] = {}
    for service in (handle.topology.load_balancer_names[0], handle.topology.masters[0]):
        for container in handle.containers(service)[:1]:
            origins.update(image_artifact_origins((container.image.labels if container.image else None) or {}))
    return origins


def status(name: str) -> LabStatus:
    handle = LabHandle.open(name)
    topology = handle.topology
    services = []
    flavour = None
    for service in topology.services:
        containers = handle.containers(service)
        if not containers:
            services.append(ServiceStatus(service, None, "missing", None))
            continue
        container = containers[0]
        image_labels = container.image.labels if container.image else {}
        if service in topology.masters:
            flavour = image_labels.get(FLAVOUR_LABEL, flavour)
        image = (container.image.tags or [None])[0] if container.image else None
        state, home = handle.health(service), None
        if service in topology.masters:
            home = handle.home_check(service)
            if home is not None and home != HOME_UP:
                state = f"{state}; home: not answering"
        services.append(ServiceStatus(service, container.name, state, image, home))
    servers = handle.haproxy_servers()
    urls = {key: topology.urls[key] for key in ("jenkins", "stats")}
    return LabStatus(
        name=name,
        profile=topology.lab.profile,
        flavour=flavour,
        haproxy_version=topology.lab.haproxy.version,
        services=services,
        servers=servers,
        active=handle.active_master(servers),
        urls=urls,
        artifacts=artifact_origins(handle),
        vip=topology.vip,
        balancers=handle.balancer_views() if topology.pair else [],
    )


# ---- logs ----------------------------------------------------------------------------------------


def logs(name: str, service: str, *, follow: bool = False, tail: int | str = "all") -> Iterator[bytes]:
    handle = LabHandle.open(name)
    valid = handle.topology.services
    if service not in valid:
        raise NoSuchTarget(f"no service {service!r} in lab {name}; services: {', '.join(valid)}")
    containers = handle.containers(service)
    if not containers:
        raise LabNotRunning(f"{service} has no container (is lab {name} up?)", hint="`labgen status` shows the lab")
    yield from containers[0].logs(stream=True, follow=follow, tail=tail)
