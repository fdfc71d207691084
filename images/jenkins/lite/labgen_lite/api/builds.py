"""Builds: POST build/buildWithParameters (into the queue), a build's JSON, its console (whole or progressive),
and POST .../stop."""

from __future__ import annotations

import contextlib
import html
import os
import re
from pathlib import Path

from labgen_lite import params
from labgen_lite.api.beans import build_bean, job_path
from labgen_lite.api.common import answer
from labgen_lite.app import JenkinsLite
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


def api_build(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    root = app.root_url(request)
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if job is None or build is None:
            return not_found()
        return answer(app, request, build_bean(app, job, build, root))


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
    build_url = f"{app.root_url(request)}{job_path(job.name)}{build.number}/"
    return redirect(request.header("referer") or build_url)


def build_number(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    """Run.doBuildNumber: the number as text/plain (behind any permalink: lastBuild/buildNumber, ...)."""
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
    if build is None:
        return not_found()
    return Response(200, str(build.number).encode("ascii"), "text/plain;charset=US-ASCII")


def post_delete_build(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    """Run.doDoDelete: builds/<n> removed from the home and from memory; 302 to the job."""
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if job is None or build is None:
            return not_found()
        if build.building:  # lite cannot delete the folder its executor writes the log into
            message = f"Unable to delete {job.name} #{build.number}: it is still building"
            return html_page(400, "Error", f"<h1>Error</h1><p>{html.escape(message)}</p>")
        job.builds.pop(build.number, None)
        remove_tree(app.home.job_dir(name) / "builds" / str(build.number))
    app.log(f"{name} #{build.number}: deleted by {auth.name}")
    return redirect(app.root_url(request) + job_path(name))


def remove_tree(directory: Path) -> None:
    """Files first, then folders, bottom up (only unlink and rmdir: safe on the FUSE-mounted NFS home)."""
    for parent, dirs, files in os.walk(directory, topdown=False):
        for file_name in files:
            os.unlink(os.path.join(parent, file_name))
        for dir_name in dirs:
            os.rmdir(os.path.join(parent, dir_name))
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(directory)


def post_wipe_out_workspace(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    """AbstractProject.doDoWipeOutWorkspace: the job's workspace is deleted, 302 to the job; with no
    workspace (or, in lite, while it builds) the "wipe out blocked" page answers instead (200)."""
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        building = job.building
    workspace = app.home.root / "workspace" / name
    if building or not workspace.is_dir():
        return html_page(200, name, "<h1>Error: Wipe Out Workspace blocked by SCM</h1>")
    remove_tree(workspace)
    app.log(f"{name}: workspace wiped out by {auth.name}")
    return redirect(app.root_url(request) + job_path(name))


def post_build_setting(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str, what: str) -> Response:
    """Run.doSubmitDescription (`description`) and Run.doToggleLogKeep: in memory, and in build.xml once
    the build has finished (a running build writes its build.xml at the end, with them)."""
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if job is None or build is None:
            return not_found()
        if what == "description":
            build.description = request.param("description") or None
        else:
            build.keep_log = not build.keep_log
        if not build.building:
            directory = app.home.job_dir(name) / "builds" / str(build.number)
            app.home.write_build_xml(directory, build, app.version, app.node)
    build_url = f"{app.root_url(request)}{job_path(name)}{build.number}/"
    return redirect(build_url if what == "description" else request.header("referer") or build_url)
