"""Pieces of JSON more than one API area answers with: job and build references, causes, `?tree=`."""

from __future__ import annotations

import contextlib
from typing import Any
from urllib.parse import quote

from labgen_lite.api.tree import apply_tree, parse_tree
from labgen_lite.jobs import Build, Job
from labgen_lite.web import Request, Response, json_response


def job_path(name: str) -> str:
    return f"job/{quote(name, safe='')}/"


def reply(request: Request, data: dict[str, Any]) -> Response:
    """`data` as JSON, cut down to the request's `?tree=` if it has one."""
    tree = request.param("tree")
    if tree:
        with contextlib.suppress(ValueError):  # tolerate a tree we cannot parse: answer everything
            data = apply_tree(data, parse_tree(tree))
    return json_response(data)


def job_summary(job: Job, root: str) -> dict[str, Any]:
    return {"_class": job.item_class, "name": job.name, "url": root + job_path(job.name), "color": job.color}


def build_ref(job: Job, build: Build | None, root: str) -> dict[str, Any] | None:
    if build is None:
        return None
    return {
        "_class": job.build_class,
        "number": build.number,
        "url": f"{root}{job_path(job.name)}{build.number}/",
    }


def causes(user: str) -> list[dict[str, Any]]:
    cause = {
        "_class": "hudson.model.Cause$UserIdCause",
        "shortDescription": f"Started by user {user}",
        "userId": user,
        "userName": user,
    }
    return [{"_class": "hudson.model.CauseAction", "causes": [cause]}]
