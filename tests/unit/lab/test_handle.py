"""lab/handle without Docker: what the handle asks HAProxy's stats port (the promoter's state, a
switchover, the stats CSV) and the lab's published ports, against real servers on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from labgen.errors import LabNotRunning
from labgen.generate import secrets as secret_keys
from labgen.lab.handle import AGENT_BANNER, LabHandle
from labgen.model.names import PROMOTER_STATE_PATH, PROMOTER_SWITCHOVER_PATH, SERVED_BY_HEADER, STATS_PATH
from labgen.model.spec import LabSpec, PortsSpec
from labgen.model.topology import Topology
from labgen.wire.http import basic_auth
from labgen.wire.net import free_port

from ..conftest import Answer, LocalHTTP

SECRETS = {
    secret_keys.STATS_USER: "stats",
    secret_keys.STATS_PASSWORD: "st4ts",
    secret_keys.ADMIN_USER: "admin",
    secret_keys.ADMIN_TOKEN: "t0ken",
}
CSV = (
    "# pxname,svname,qcur,scur,status,lastchg,downtime,check_status\n"
    "jenkins,FRONTEND,,0,OPEN,,,\n"
    "jenkins,jenkins01,0,2,UP,12,0,L7OK\n"
    "jenkins,jenkins02,0,0,MAINT,40,3,\n"
    "jenkins,BACKEND,0,2,UP,12,0,\n"
)


def _handle(http: int, stats: int, agent: int | None = None) -> LabHandle:
    spec = LabSpec(name="unit-handle", ports=PortsSpec(http=http, stats=stats, agent=agent or free_port()))
    return LabHandle(Topology.resolve(spec), Path("/nonexistent"), dict(SECRETS))


def test_the_promoter_state_is_read_with_the_stats_login(local_http: LocalHTTP) -> None:
    state = {"active": "jenkins01", "phase": "steady", "servers": {"jenkins01": "UP"}}
    local_http.routes[PROMOTER_STATE_PATH] = Answer(200, json.dumps(state).encode())
    handle = _handle(free_port(), local_http.port)
    assert handle.promoter_state() == state
    assert local_http.asked[0].headers["authorization"] == basic_auth("stats", "st4ts")


@pytest.mark.parametrize("answer", [Answer(503, b"{}"), Answer(200, b"not json"), Answer(200, b"[1, 2]")])
def test_a_promoter_state_that_is_not_an_object_is_none(local_http: LocalHTTP, answer: Answer) -> None:
    local_http.routes[PROMOTER_STATE_PATH] = answer
    assert _handle(free_port(), local_http.port).promoter_state() is None


def test_a_switchover_posts_the_target_and_reads_the_answer(local_http: LocalHTTP) -> None:
    path = f"{PROMOTER_SWITCHOVER_PATH}?to=jenkins02"
    local_http.routes[path] = lambda asked: Answer(200, b'{"message": "jenkins02 is active"}')
    code, answer = _handle(free_port(), local_http.port).switchover("jenkins02", timeout=5)
    assert (code, answer["message"]) == (200, "jenkins02 is active")
    assert [(a.method, a.path) for a in local_http.asked] == [("POST", path)]


def test_a_switchover_without_a_json_answer_says_why(local_http: LocalHTTP) -> None:
    local_http.routes[f"{PROMOTER_SWITCHOVER_PATH}?to=jenkins02"] = Answer(409, b"busy")
    code, answer = _handle(free_port(), local_http.port).switchover("jenkins02", timeout=5)
    assert (code, answer) == (409, {"message": "HTTP 409"})
    code, answer = _handle(free_port(), free_port()).switchover("jenkins02", timeout=2)  # nothing listens
    assert code == 0 and answer["message"].startswith("ConnectionRefusedError")


def test_haproxys_view_of_the_masters(local_http: LocalHTTP) -> None:
    local_http.routes[f"{STATS_PATH};csv;norefresh"] = Answer(200, CSV.encode())
    handle = _handle(free_port(), local_http.port)
    servers = handle.haproxy_servers()
    assert servers is not None
    assert [(s.server, s.status) for s in handle.http_servers(servers)] == [("jenkins01", "UP"), ("jenkins02", "MAINT")]
    assert handle.server_status("jenkins02") == "MAINT"
    assert _handle(free_port(), free_port()).haproxy_servers() is None


def test_login_through_haproxy_names_the_master_that_served(local_http: LocalHTTP) -> None:
    local_http.routes["/login"] = Answer(200, b"<html/>", {SERVED_BY_HEADER: "jenkins02"})
    handle = _handle(local_http.port, free_port())
    assert handle.probe_login() == "jenkins02"
    # The active master is the one that answered, whatever the stats page says.
    assert handle.active_master(None) == "jenkins02"
    local_http.routes["/login"] = Answer(503, b"no server")
    assert handle.probe_login() is None and handle.active_master(None) is None


def test_the_jenkins_client_uses_the_admin_token(local_http: LocalHTTP) -> None:
    local_http.routes["/api/json?tree=jobs[name]"] = Answer(200, b'{"jobs": [{"name": "a"}]}')
    reply, jobs = _handle(local_http.port, free_port()).jenkins().list_jobs()
    assert reply.status == 200 and jobs == frozenset({"a"})
    assert local_http.asked[0].headers["authorization"] == basic_auth("admin", "t0ken")


@pytest.fixture
def agent_listener() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP listener that answers like Jenkins' agent port (its protocols header)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    got: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                got.append(conn.recv(1024))
                conn.sendall(AGENT_BANNER + b": JNLP4-connect, Ping\r\n")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield listener.getsockname()[1], got
    finally:
        listener.close()


def test_the_agent_port_answers_like_jenkins(agent_listener: tuple[int, list[bytes]]) -> None:
    port, got = agent_listener
    assert _handle(free_port(), free_port(), agent=port).agent_port_answers()
    assert got and got[0].startswith(b"GET / HTTP/1.0")
    assert not _handle(free_port(), free_port(), agent=free_port()).agent_port_answers(timeout=1)


def test_a_service_without_a_container_says_the_lab_is_not_up() -> None:
    pytest.importorskip("docker")
    from labgen.engine import client
    from labgen.errors import EngineMissing

    try:
        client()
    except EngineMissing:
        pytest.skip("no Docker engine here")
    with pytest.raises(LabNotRunning, match="jenkins01 has no container: is lab unit-handle up"):
        _handle(free_port(), free_port()).container("jenkins01")
