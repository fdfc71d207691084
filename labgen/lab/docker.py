"""A running lab's Docker objects, found by their labels (the source of truth for a running lab)."""

from __future__ import annotations

import ipaddress
from typing import Any

from docker.errors import NotFound

from labgen.engine import client
from labgen.model.names import LAB_LABEL, SERVICE_LABEL


def lab_containers(name: str, service: str | None = None, all_states: bool = True) -> list[Any]:
    """The lab's containers (of one service, if given)."""
    labels = [f"{LAB_LABEL}={name}"] + ([f"{SERVICE_LABEL}={service}"] if service else [])
    return containers_with(labels, all_states)


def containers_with(labels: list[str], all_states: bool = True) -> list[Any]:
    """Containers carrying these labels. One removed while we look (by compose or a concurrent
    `down`) is skipped rather than an error."""
    engine = client()
    found = []
    for summary in engine.api.containers(all=all_states, filters={"label": labels}):
        try:
            found.append(engine.containers.get(summary["Id"]))
        except NotFound:
            continue
    return found


def lab_networks(name: str) -> list[Any]:
    return list(client().networks.list(filters={"label": f"{LAB_LABEL}={name}"}))


def lab_volumes(name: str) -> list[Any]:
    return list(client().volumes.list(filters={"label": f"{LAB_LABEL}={name}"}))


def lab_names() -> list[str]:
    """Every lab that has a container, network or volume on this engine."""
    names: set[str] = set()
    for items in (
        containers_with([LAB_LABEL]),
        client().networks.list(filters={"label": LAB_LABEL}),
        client().volumes.list(filters={"label": LAB_LABEL}),
    ):
        for item in items:
            labels = item.attrs.get("Labels") or item.attrs.get("Config", {}).get("Labels") or {}
            if LAB_LABEL in labels:
                names.add(labels[LAB_LABEL])
    return sorted(names)


def running_labs() -> list[str]:
    """Labs with a running container on this engine."""
    return sorted({c.labels[LAB_LABEL] for c in containers_with([LAB_LABEL], all_states=False)})


def container_health(name: str, service: str) -> str:
    """missing, a Docker state (exited, paused, ...), or the health (starting, healthy, unhealthy)."""
    containers = lab_containers(name, service)
    if not containers:
        return "missing"
    container = containers[0]
    container.reload()
    state = container.attrs["State"]
    if state.get("Status") != "running":
        return str(state.get("Status"))
    return str(state.get("Health", {}).get("Status", "running"))


def overlapping_networks(subnet: str, own_name: str) -> list[tuple[str, str]]:
    """(network, its subnet) of every Docker network but `own_name` whose IPv4 subnet overlaps `subnet`."""
    wanted = ipaddress.IPv4Network(subnet)
    found = []
    for summary in client().api.networks():
        if summary.get("Name") == own_name:
            continue
        for config in (summary.get("IPAM") or {}).get("Config") or []:
            text = config.get("Subnet") or ""
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                continue
            if isinstance(network, ipaddress.IPv4Network) and network.overlaps(wanted):
                found.append((str(summary.get("Name")), str(network)))
    return found
