"""A tiny HTTP model: requests and responses as plain data, and the responses Jenkins pages are made of."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from labgen_lite.identity import PRODUCT

JSON_TYPE = "application/json;charset=utf-8"
HTML_TYPE = "text/html;charset=utf-8"
TEXT_TYPE = "text/plain;charset=utf-8"
XML_TYPE = "application/xml;charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    client: str = ""
    query_string: str = ""  # as sent, for the login form's `from`

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in (self.header("cookie") or "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value
        return jar

    @property
    def form(self) -> dict[str, list[str]]:
        content_type = (self.header("content-type") or "").lower()
        if not content_type.startswith("application/x-www-form-urlencoded"):
            return {}
        return parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)

    def param(self, name: str) -> str | None:
        for source in (self.query, self.form):
            if name in source:
                return source[name][-1]
        return None


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = HTML_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(data, separators=(",", ":")).encode(), JSON_TYPE)


def text_response(status: int, text: str) -> Response:
    return Response(status, (text + "\n").encode(), TEXT_TYPE)


def html_page(status: int, title: str, body: str) -> Response:
    page = (
        f"<!DOCTYPE html><html><head><title>{html.escape(title)} [Jenkins]</title></head>"
        f"<body><p><small>{PRODUCT}: a stand-in for Jenkins, NOT Jenkins</small></p>"
        f"{body}</body></html>\n"
    )
    return Response(status, page.encode())


def not_found() -> Response:
    return html_page(404, "Not Found", "<h1>Not Found</h1>")


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", TEXT_TYPE, [("Location", location)])
