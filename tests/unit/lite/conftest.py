"""The in-process lite fixtures for the tests of this folder: `start` runs stand-ins on free ports
(stopped at the end), `one` is a single one on a tmp JENKINS_HOME."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.lite.support import ADMIN, BOB, BOB_PASSWORD, BOB_TOKEN, PASSWORD, RELOAD_SECONDS, TOKEN, Instance, lite


@pytest.fixture
def start() -> Iterator[Callable[..., Instance]]:
    servers: list[Any] = []

    def _start(home: Path, node: str = "jenkins01", **overrides: Any) -> Instance:
        settings: dict[str, Any] = {
            "home": home,
            "http_port": 0,
            "http_host": "127.0.0.1",
            "agent_port": 0,
            "node_name": node,
            "reload_seconds": RELOAD_SECONDS,
            "admin_user": ADMIN,
            "admin_password": PASSWORD,
            "admin_token": TOKEN,
            "extra_users": (lite.User(BOB, BOB_PASSWORD, BOB_TOKEN),),
            "quiet_period": 0,  # Jenkins' 5 s would only slow the tests down
            "queue_save_seconds": 0.2,
        }
        settings.update(overrides)
        server = lite.LiteServer(lite.Config(**settings), poll_interval=0.02)
        server.start()
        servers.append(server)
        return Instance(server)

    yield _start
    stoppers = [threading.Thread(target=server.stop) for server in servers]
    for stopper in stoppers:
        stopper.start()
    for stopper in stoppers:
        stopper.join()


@pytest.fixture
def one(start: Callable[..., Instance], tmp_path: Path) -> Instance:
    return start(tmp_path / "home")
