"""Builds: POST build/buildWithParameters (into the queue), a build's JSON, its console (whole or progressive),
and POST .../stop."""

from __future__ import annotations

import html
import re
from typing import Any

from labgen_lite import params
from labgen_lite.api.common import build_ref, causes, reply
from labgen_lite.app import JenkinsLite
from labgen_lite.jobs import Build, Job
from labgen_lite.queue import now_ms
from labgen_lite.security import Auth
from labgen_lite.web import TEXT_TYPE, Request, Response, html_page, not_found, redirect, text_response

DELAY = re.compile(r"\s*(\d+)\s*(ms|s|sec|secs|second|seconds|m|min|mins|minute|minutes)?\s*")


def post_build(app: JenkinsLite, request: Request, auth: Auth, name: str, with_params: bool) -> Response:
    """ParameterizedJobMixIn.doBuild / doBuildWithParameters: 201 with the queue item's URL."""
    delay = _delay(request.param("delay"))
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        if job.disabled:
            return text_response(409, f"java.io.IOException: {name} is not buildable")
        defs = params.definitions(job.config)
        try:
            values = _values(request, defs, with_params)
        except params.NotParameterized as problem:
            return text_response(500, f"java.lang.IllegalStateException: {problem}")
        except ValueError:
            return text_response(400, "Nothing is submitted")
        quiet = delay if delay is not None else job.quiet_period
        item, new = app.queue.schedule(name, auth.name, values, app.quiet_period() if quiet is None else quiet)
    if new:
        app.queue_file.push()  # Queue.Saver.onEnterWaiting
        app.executors.poke()
        app.log(f"{name}: queued as item {item.id} by {auth.name}")
    return Response(201, b"", TEXT_TYPE, [("Location", f"{app.root_url(request)}queue/item/{item.id}/")])


def _values(request: Request, defs: list[params.ParamDef], with_params: bool) -> params.Values:
    if with_params:
        given = {key: values[-1] for key, values in {**request.query, **request.form}.items()}
        return params.from_request(defs, given)
    if not defs:
        return ()
    form_json = request.param("json")
    if form_json is None:
        raise ValueError("a parameterized job's build needs the json form field")
    return params.from_form(defs, form_json)


def _delay(text: str | None) -> int | None:
    """TimeDuration.fromString: `5`, `5sec`, `300ms`, `1min` -> whole seconds."""
    match = DELAY.fullmatch(text or "")
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2) or "s"
    if unit == "ms":
        return number // 1000
    return number * 60 if unit.startswith("m") else number


def build_data(app: JenkinsLite, job: Job, build: Build, root: str, depth: int) -> dict[str, Any]:
    """A FreeStyleBuild's JSON as 2.190 exports it. Call with app.lock held."""
    executor: dict[str, Any] | None = None
    if build.building:
        executor = {"_class": "hudson.model.Executor"}
        if depth > 0:
            executor.update(executor_fields(app, job, build, root, build.executor or 0))
    return {
        **(build_ref(job, build, root) or {}),
        "actions": causes(build.user) + params.actions(build.params, params.definitions(job.config)),
        "artifacts": [],
        "building": build.building,
        "description": None,
        "displayName": f"#{build.number}",
        "duration": build.duration,
        "estimatedDuration": job.estimated_duration(),
        "executor": executor,
        "fullDisplayName": f"{job.name} #{build.number}",
        "id": str(build.number),
        "keepLog": False,
        "queueId": build.queue_id,
        "result": build.result,
        "timestamp": build.timestamp,
        "builtOn": "",
        "changeSet": {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None},
        "culprits": [],
    }


def executor_fields(app: JenkinsLite, job: Job | None, build: Build | None, root: str, number: int) -> dict[str, Any]:
    """An Executor's exported fields (idle when `build` is None)."""
    progress = -1
    if job is not None and build is not None:
        estimate = job.estimated_duration()
        if estimate > 0:
            progress = min(99, (now_ms() - build.timestamp) * 100 // estimate)
    return {
        "currentExecutable": build_ref(job, build, root) if job is not None else None,
        "idle": build is None,
        "likelyStuck": False,
        "number": number,
        "progress": progress,
    }


def api_build(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    root = app.root_url(request)
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if job is None or build is None:
            return not_found()
        data = build_data(app, job, build, root, _depth(request))
    return reply(request, data)


def page_build(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if build is None:
            return not_found()
        state = "building" if build.building else build.result
    return html_page(200, f"{name} #{build.number}", f"<h1>Build #{build.number} ({html.escape(str(state))})</h1>")


def _depth(request: Request) -> int:
    depth = request.param("depth") or "0"
    return int(depth) if depth.isdigit() else 0


def _log_and_state(app: JenkinsLite, name: str, ref: str) -> tuple[bytes, bool] | None:
    """The build's log as it is now on disk, and whether the build still runs."""
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if build is None:
            return None
        building = build.building
    try:
        text = (app.home.job_dir(name) / "builds" / str(build.number) / "log").read_bytes()
    except OSError:
        text = b""
    return text, building


def console_text(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    found = _log_and_state(app, name, ref)
    if found is None:
        return not_found()
    return Response(200, found[0], TEXT_TYPE)


def progressive_text(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    """logText/progressiveText?start=N: the log from byte N, X-Text-Size, and X-More-Data while it runs."""
    found = _log_and_state(app, name, ref)
    if found is None:
        return not_found()
    text, building = found
    start = request.param("start") or "0"
    offset = min(int(start), len(text)) if start.isdigit() else 0
    response = Response(200, text[offset:], TEXT_TYPE, [("X-Text-Size", str(len(text)))])
    if building:
        response.headers.append(("X-More-Data", "true"))
    return response


def post_stop(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    """Run.doStop: abort the build if it still runs; back to the previous page either way."""
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if job is None or build is None:
            return not_found()
        execution = app.executors.running(name, build.number)
    if execution is not None:
        app.log(f"{name} #{build.number}: aborted by {auth.name}")
        execution.abort(auth.name)
    build_url = build_ref(job, build, app.root_url(request))
    return redirect(request.header("referer") or (build_url or {}).get("url", app.root_url(request)))
