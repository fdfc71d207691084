"""wire.http against a real HTTP server on 127.0.0.1: basic auth, bodies, no redirects followed,
and errors as answers (never raised)."""

from __future__ import annotations

import base64
import socket
import threading

from labgen.wire import http
from labgen.wire.net import free_port

from ..conftest import Answer, LocalHTTP


def test_a_get_with_basic_auth_reads_status_headers_and_body(local_http: LocalHTTP) -> None:
    local_http.routes["/api/json"] = Answer(200, b'{"jobs": []}', {"X-Jenkins": "2.190.2"})
    reply = http.request("127.0.0.1", local_http.port, "GET", "/api/json", auth=("admin", "tok3n"))
    assert (reply.status, reply.body, reply.ok, reply.answered) == (200, b'{"jobs": []}', True, True)
    assert reply.headers["x-jenkins"] == "2.190.2"  # header names in lower case
    asked = local_http.asked[0]
    assert asked.headers["authorization"] == "Basic " + base64.b64encode(b"admin:tok3n").decode()
    assert asked.headers["connection"] == "close" and reply.seconds >= 0


def test_a_post_without_a_body_sends_an_empty_one(local_http: LocalHTTP) -> None:
    local_http.routes["/reload"] = Answer(302, headers={"Location": "/"})
    reply = http.request("127.0.0.1", local_http.port, "POST", "/reload")
    assert reply.status == 302 and reply.headers["location"] == "/"  # not followed
    assert local_http.asked[0].headers["content-length"] == "0" and local_http.asked[0].body == b""
    assert [a.path for a in local_http.asked] == ["/reload"]


def test_max_body_reads_no_more_than_asked(local_http: LocalHTTP) -> None:
    local_http.routes["/big"] = Answer(200, b"x" * 10_000)
    assert len(http.request("127.0.0.1", local_http.port, "GET", "/big", max_body=100).body) == 100


def test_no_listener_is_an_answer_with_the_error() -> None:
    port = free_port()
    reply = http.request("127.0.0.1", port, "GET", "/")
    assert reply.status == 0 and not reply.answered
    assert reply.error is not None and reply.error.startswith("ConnectionRefusedError")
    assert reply.describe() == reply.error


def test_a_server_that_does_not_answer_in_time_is_a_timeout(local_http: LocalHTTP) -> None:
    local_http.routes["/held"] = Answer(200, b"late", delay=5.0)
    reply = http.request("127.0.0.1", local_http.port, "GET", "/held", timeout=0.3)
    assert reply.status == 0 and "timed out" in (reply.error or "")


def test_a_connection_closed_without_an_answer_is_an_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def slam() -> None:
            conn, _ = listener.accept()
            conn.recv(1024)
            conn.close()

        thread = threading.Thread(target=slam, daemon=True)
        thread.start()
        reply = http.request("127.0.0.1", port, "GET", "/", timeout=5)
        thread.join(5)
    assert reply.status == 0 and reply.error is not None


def test_request_url_joins_the_base_path(local_http: LocalHTTP) -> None:
    local_http.routes["/jenkins/login"] = Answer(200, b"login")
    reply = http.request_url(f"http://127.0.0.1:{local_http.port}/jenkins/", "GET", "/login")
    assert reply.body == b"login"
    local_http.routes["/q?x=1"] = Answer(200, b"query")
    assert http.request_url(f"http://127.0.0.1:{local_http.port}/q?x=1", "GET").body == b"query"
