"""The HTTP transport: a threading HTTP/1.1 server that turns the wire into Request/Response."""

from __future__ import annotations

import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from labgen_lite import dispatch
from labgen_lite.app import JenkinsLite
from labgen_lite.web import Request, Response

MAX_BODY = 16 * 1024 * 1024


class LiteHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a burst of connects (HAProxy releasing the requests it held
    # during a promotion) would overflow it and fail at the TCP level, which Jenkins' Jetty, draining
    # its accept queue on its own acceptor threads, does not do
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: JenkinsLite) -> None:
        self.app = app
        super().__init__(address, LiteRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # the client went away: nothing to report
        self.app.log(f"error serving {client_address[0]}: {traceback.format_exc()}", "WARNING")


class LiteRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "labgen-jenkins-lite"
    timeout = 120
    disable_nagle_algorithm = True  # no 40 ms stalls on a write that follows a small one
    _headers_buffer: list[bytes]  # BaseHTTPRequestHandler's, filled by send_response and send_header

    def version_string(self) -> str:
        return f"{self.server_version}/{self.app.version}"

    @property
    def app(self) -> JenkinsLite:
        return cast(LiteHTTPServer, self.server).app

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as error:
            self.close_connection = True
            self._send(dispatch.handle_error(self.app, 400, str(error)))
            return
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path or "/",
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            client=self.client_address[0],
            query_string=url.query,
        )
        self._send(dispatch.handle(self.app, request))

    # every method goes to the app, which answers like Jenkins (405, 404, ...)
    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _serve

    def _read_body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError(f"bad Content-Length {length}")
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise ValueError("request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value.encode("latin-1", "replace").decode("latin-1"))
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        path = urlsplit(self.path).path
        self.app.log(f'{self.client_address[0]} "{self.command} {path}" {response.status}', "HTTP")
        # Head and body in one write, as Jetty sends a response that fits its output buffer: a
        # master frozen between two writes would leave HAProxy holding a response it has begun to
        # forward and can no longer retry elsewhere (the client gets the head and no body).
        body = response.body if self.command != "HEAD" else b""
        self._headers_buffer.append(b"\r\n" + body)  # what end_headers() adds, and the body
        self.flush_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed requests and unknown methods still get this instance's headers."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # the stdlib would drop the status line and headers
        self.command = getattr(self, "command", None) or "-"  # unset when the request line is bad
        self.path = getattr(self, "path", None) or "-"
        self._send(dispatch.handle_error(self.app, code, message or "error"))

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is written by _send
