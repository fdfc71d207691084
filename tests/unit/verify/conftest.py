"""A lite master (the Jenkins 2.190.2 stand-in) in-process on 127.0.0.1, for the recorder and the
load: the real HTTP API verify probes and writes, without Docker."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labgen.lab.jenkins_client import JenkinsClient

LITE_DIR = Path(__file__).resolve().parents[3] / "images" / "jenkins" / "lite"
ADMIN, PASSWORD, TOKEN = "admin", "s3cret", "11aa22bb33cc44dd"
NODE = "jenkins01"


@pytest.fixture
def lite_client(tmp_path: Path) -> Iterator[JenkinsClient]:
    """A JenkinsClient (verify's own) on a running lite master named jenkins01."""
    if str(LITE_DIR) not in sys.path:
        sys.path.insert(0, str(LITE_DIR))
    import labgen_lite as lite

    settings: dict[str, Any] = {
        "home": tmp_path / "home",
        "http_port": 0,
        "http_host": "127.0.0.1",
        "agent_port": 0,
        "node_name": NODE,
        "reload_seconds": 0.4,
        "admin_user": ADMIN,
        "admin_password": PASSWORD,
        "admin_token": TOKEN,
        "quiet_period": 0,
    }
    server = lite.LiteServer(lite.Config(**settings), poll_interval=0.02)
    server.start()
    try:
        yield JenkinsClient("127.0.0.1", server.http_port, ADMIN, TOKEN, timeout=5.0)
    finally:
        server.stop()
