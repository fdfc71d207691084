"""Jobs: the job page and its JSON, config.xml (read and update), createItem and doDelete."""

from __future__ import annotations

import html
from typing import Any

from labgen_lite.api.common import build_ref, job_path, job_summary, reply
from labgen_lite.app import JenkinsLite
from labgen_lite.jobs import FREESTYLE_CONFIG, Job, check_job_name, xml_problem
from labgen_lite.security import Auth
from labgen_lite.web import XML_TYPE, Request, Response, html_page, not_found, redirect, text_response

API_BUILDS_LIMIT = 100


def page_job(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        rows = "".join(f"<li>#{n} {b.result}</li>" for n, b in sorted(job.builds.items(), reverse=True))
    return html_page(200, name, f"<h1>Project {html.escape(name)}</h1><ul>{rows}</ul>")


def api_job(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    root = app.root_url(request)
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        data = _job_data(job, root)
    return reply(request, data)


def _job_data(job: Job, root: str) -> dict[str, Any]:
    def ref(ref_name: str) -> dict[str, Any] | None:
        return build_ref(job, job.find_build(ref_name), root)

    newest = sorted(job.builds, reverse=True)[:API_BUILDS_LIMIT]
    return {
        **job_summary(job, root),
        "actions": [],
        "description": job.description,
        "displayName": job.name,
        "displayNameOrNull": None,
        "fullDisplayName": job.name,
        "fullName": job.name,
        "buildable": not job.disabled,
        "builds": [build_ref(job, job.builds[n], root) for n in newest],
        "firstBuild": ref("firstBuild"),
        "healthReport": [],
        "inQueue": False,
        "keepDependencies": False,
        "lastBuild": ref("lastBuild"),
        "lastCompletedBuild": ref("lastCompletedBuild"),
        "lastFailedBuild": ref("lastFailedBuild"),
        "lastStableBuild": ref("lastStableBuild"),
        "lastSuccessfulBuild": ref("lastSuccessfulBuild"),
        "lastUnstableBuild": ref("lastUnstableBuild"),
        "lastUnsuccessfulBuild": ref("lastUnsuccessfulBuild"),
        "nextBuildNumber": job.next_build_number,
        "property": [],
        "queueItem": None,
        "concurrentBuild": False,
        "disabled": job.disabled,
        "downstreamProjects": [],
        "labelExpression": None,
        "scm": {"_class": "hudson.scm.NullSCM"},
        "upstreamProjects": [],
    }


def job_config(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    with app.lock:
        job = app.jobs.get(name)
        config = job.config if job else None
    if config is None:
        return not_found()
    return Response(200, config, XML_TYPE)


def update_config(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    problem = xml_problem(request.body)
    if problem:
        return text_response(400, problem)
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        app.home.write_job_config(name, request.body)
        job.config = request.body
    app.log(f"{name}: configuration updated")
    return Response(200)


def post_create_item(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """An XML body, `mode=copy&from=X`, or any other `mode` for an empty freestyle job."""
    name = (request.param("name") or "").strip()
    if request.param("name") is None:
        return _create_error("Query parameter 'name' is required")
    problem = check_job_name(name)
    if problem:
        return _create_error(problem)
    with app.lock:
        if name in app.jobs:
            return _create_error(f"A job already exists with the name '{name}'")
        config = _new_job_config(app, request)
        if isinstance(config, str):
            return _create_error(config)
        app.home.write_job_config(name, config)
        job = app.home.load_job(name)
        if job is None:
            raise OSError(f"{name}: config.xml vanished right after it was written")
        app.jobs[name] = job
    app.log(f"{name}: created by {auth.name}")
    if _has_xml_body(request):
        return Response(200)
    return redirect(app.root_url(request) + job_path(name))


def _has_xml_body(request: Request) -> bool:
    return (request.header("content-type") or "").lower().startswith(("application/xml", "text/xml"))


def _new_job_config(app: JenkinsLite, request: Request) -> bytes | str:
    """The new job's config.xml, or why there is none. Call with app.lock held."""
    mode = request.param("mode")
    if mode == "copy":
        source = app.jobs.get(request.param("from") or "")
        if source is None:
            return f"No such job: {request.param('from')}"
        return source.config
    if _has_xml_body(request):
        problem = xml_problem(request.body)
        return problem if problem else request.body
    if mode:
        return FREESTYLE_CONFIG.encode()
    return "No mode given" if request.header("content-type") else "No Content-Type header set"


def _create_error(message: str) -> Response:
    response = html_page(400, "Error", f"<h1>Error</h1><p>{html.escape(message)}</p>")
    response.headers.append(("X-Error", message))
    return response


def post_delete(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    with app.lock:
        if name not in app.jobs:
            return not_found()
        del app.jobs[name]
        app.home.delete_job(name)
    app.log(f"{name}: deleted")
    return redirect(app.root_url(request))
