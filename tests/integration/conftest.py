"""Integration fixtures: real labs on the real Docker engine, removed even when a test fails.

Labs are started with the same commands a user runs (`labgen up`), under a lab name and ports
of their own, with lab state in a temporary XDG_STATE_HOME. Image builds are cached by content
in the engine, so only the first run on a machine pays for them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labgen import engine
from labgen.cli import run
from labgen.errors import EnvironmentProblem
from labgen.generate.secrets import read_secrets
from labgen.lab import docker as docker_api
from labgen.lab.folder import load_topology
from labgen.lab.jenkins_client import JenkinsClient
from labgen.lab.runtime import down
from labgen.model.spec import LabSpec
from labgen.wire.net import free_port


def _docker_available() -> bool:
    try:
        engine.client()
        engine.compose_command()
    except EnvironmentProblem:
        return False
    return True


requires_docker = pytest.mark.skipif(not _docker_available(), reason="Docker Engine with Compose v2 not reachable")


@dataclass
class RunningLab:
    name: str
    lab: LabSpec
    folder: Path

    @property
    def secrets(self) -> dict[str, str]:
        return read_secrets(self.folder)

    def client(self) -> JenkinsClient:
        s = self.secrets
        return JenkinsClient("127.0.0.1", self.lab.ports.http, s["JENKINS_ADMIN_USER"], s["JENKINS_ADMIN_TOKEN"])

    def container(self, service: str):
        return docker_api.lab_containers(self.name, service)[0]


@pytest.fixture(scope="session")
def state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("labgen-state")
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(path)
    yield path
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old


def start_lab(name: str, *extra: str) -> RunningLab:
    _remove_lab(name)  # a crashed earlier run may have left it
    args = [
        "up",
        "--name",
        name,
        "--http-port",
        str(free_port()),
        "--stats-port",
        str(free_port()),
        "--agent-port",
        str(free_port()),
        *extra,
    ]
    code = run(args)
    if code != 0:
        _remove_lab(name)
        pytest.fail(f"labgen up {name} exited {code}")
    from labgen.paths import lab_dir

    return RunningLab(name, load_topology(name).lab, lab_dir(name))


def _remove_lab(name: str) -> None:
    with contextlib.suppress(EnvironmentProblem):
        down(name, volumes=True)


@contextlib.contextmanager
def running_lab(name: str, *extra: str) -> Iterator[RunningLab]:
    """A lab started with `labgen up`, removed with its volumes afterwards, also on failure."""
    try:
        yield start_lab(name, *extra)
    finally:
        _remove_lab(name)


@pytest.fixture(scope="module")
def ha_lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab("it-ha") as lab:
        yield lab
