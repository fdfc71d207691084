"""The generated Compose stack stands on its own: testcontainers' Compose support starts it (no
labgen runtime involved), waits for it, and HAProxy serves Jenkins' /login from jenkins01."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from labgen.builder import build_images
from labgen.generate import generate
from labgen.model.spec import load_lab
from labgen.model.topology import Topology
from tests.integration.conftest import free_port, requires_docker

pytestmark = [requires_docker, pytest.mark.integration]
os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # Ryuk is an image to pull: none here

from testcontainers.compose import DockerCompose  # noqa: E402


def test_testcontainers_runs_the_generated_stack(tmp_path: Path) -> None:
    ports = {"ports.http": free_port(), "ports.stats": free_port(), "ports.agent": free_port()}
    lab = load_lab(None, {"name": "it-testcontainers", **ports})
    built = build_images(lab)  # cached by content after the first integration test
    topology = Topology.resolve(lab, haproxy_version=built.haproxy_version, flavour=built.flavour)
    lab = topology.lab
    generate(topology, tmp_path)
    stack = DockerCompose(tmp_path, compose_file_name="compose.yaml", wait=True)
    try:
        stack.start()
        stack.wait_for(f"http://127.0.0.1:{lab.ports.http}/login")
        with urllib.request.urlopen(f"http://127.0.0.1:{lab.ports.http}/login", timeout=5) as response:
            assert response.status == 200
            assert response.headers["X-Labgen-Served-By"] == "jenkins01"
        mounts = stack.exec_in_container(["cat", "/proc/mounts"], service_name="jenkins02")[0]
        assert "fuse.labgen_nfs" in mounts
    finally:
        stack.stop(down=True)  # compose down -v: containers, network and volumes
