"""How every `api/json`, `api/python` and `api/xml` is answered: the bean exported under the app's lock,
pruned by `?tree=` or `?depth=`, written in the flavour the URL names (hudson.model.Api)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labgen_lite.api.beans import job_path
from labgen_lite.api.export import Bean, TreeSyntaxError, export, pruner_for
from labgen_lite.api.formats import render
from labgen_lite.app import JenkinsLite
from labgen_lite.web import Request, Response, text_response

FLAVOURS = ("json", "python", "xml")

__all__ = ["FLAVOURS", "answer", "job_path"]


def answer(app: JenkinsLite, request: Request, data: Bean | dict[str, Any] | Callable[[], Any]) -> Response:
    """`data` as the flavour of the URL's last segment, cut down by `?tree=` (else `?depth=`)."""
    try:
        pruner = pruner_for(request.param("tree"), request.param("depth"))
    except TreeSyntaxError as problem:
        return text_response(500, f"java.lang.IllegalArgumentException: {problem}")
    with app.lock:
        exported = export(data, pruner)
    flavour = request.path.rstrip("/").rsplit("/", 1)[-1]
    return render(flavour if flavour in FLAVOURS else "json", exported, request.query)
