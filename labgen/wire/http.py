"""One HTTP request with basic auth: never raises, never follows redirects, always closes."""

from __future__ import annotations

import base64
import http.client
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def basic_auth(user: str, secret: str) -> str:
    """The value of an `Authorization` header for HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


@dataclass(frozen=True)
class Response:
    status: int  # 0 when no HTTP answer came back
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""
    error: str | None = None  # why there is no answer
    seconds: float = 0.0

    @property
    def answered(self) -> bool:
        return self.status != 0

    @property
    def ok(self) -> bool:
        return self.status == 200

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.answered else str(self.error)


def request(
    host: str,
    port: int | None,
    method: str,
    path: str,
    *,
    auth: tuple[str, str] | None = None,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 3.0,
    max_body: int | None = None,
    https: bool = False,
) -> Response:
    """`method path` on host:port. A POST without a body sends an empty one, as Jenkins expects."""
    started = time.monotonic()
    connection_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
    connection = connection_class(host, port, timeout=timeout)
    sent = {"Connection": "close", **(headers or {})}
    if auth is not None:
        sent["Authorization"] = basic_auth(*auth)
    if body is None and method == "POST":
        body = b""
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read() if max_body is None else response.read(max_body)
        received = {k.lower(): v for k, v in response.getheaders()}
        return Response(response.status, received, data, seconds=time.monotonic() - started)
    except (OSError, http.client.HTTPException) as exc:
        return Response(0, error=f"{type(exc).__name__}: {exc}", seconds=time.monotonic() - started)
    finally:
        connection.close()


def request_url(url: str, method: str, path: str = "", **options: object) -> Response:
    """As `request`, to `path` under a base URL such as http://jenkins01:8080/."""
    parts = urlsplit(url)
    full = parts.path.rstrip("/") + path if path else (parts.path or "/")
    if parts.query and not path:
        full += "?" + parts.query
    return request(
        parts.hostname or "localhost",
        parts.port,
        method,
        full,
        https=parts.scheme == "https",
        **options,  # type: ignore[arg-type]
    )
