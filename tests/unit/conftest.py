"""Fixtures shared by the unit tests: a real HTTP server on 127.0.0.1 that answers what a test
tells it to and records what it was asked; a saved lab folder."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from labgen.lab.folder import save_topology
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology


@dataclass
class Asked:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow or held server)


@dataclass
class LocalHTTP:
    """Routes by path (with its query) to an answer; every request is recorded."""

    port: int
    routes: dict[str, Answer | Callable[[Asked], Answer]] = field(default_factory=dict)
    asked: list[Asked] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)  # ends every delay early


@pytest.fixture
def local_http() -> Iterator[LocalHTTP]:
    state: dict[str, LocalHTTP] = {}

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            server = state["server"]
            length = int(self.headers.get("Content-Length") or 0)
            asked = Asked(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            server.asked.append(asked)
            route = server.routes.get(self.path, Answer(404, b"not found"))
            answer = route(asked) if callable(route) else route
            if answer.delay:
                server.release.wait(answer.delay)
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["server"] = LocalHTTP(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["server"]
    finally:
        state["server"].release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def saved_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LabSpec:
    """A lab folder saved under a private XDG_STATE_HOME, as `labgen generate` leaves it (no Docker)."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    lab = LabSpec(name="unit-lab")
    folder = tmp_path / "labgen" / "labs" / lab.name
    folder.mkdir(parents=True)
    save_topology(Topology.resolve(lab), folder)
    return lab
