"""Jobs: the job page and its JSON, config.xml (read and update), createItem and doDelete."""

from __future__ import annotations

import html
import time

from labgen_lite.api.beans import job_bean, job_path
from labgen_lite.api.common import answer
from labgen_lite.app import JenkinsLite
from labgen_lite.jobs import FREESTYLE_CONFIG, Job, check_job_name, xml_problem
from labgen_lite.security import Auth
from labgen_lite.views import save_views
from labgen_lite.web import XML_TYPE, Request, Response, html_page, not_found, redirect, text_response

FREESTYLE_MODE = "hudson.model.FreeStyleProject"  # the one item type lite has (no folders, no pipelines)


def api_job(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    root = app.root_url(request)
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        return answer(app, request, job_bean(app, job, root))


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
            return f"No such job: {request.param('from')}" if request.param("from") else "Specify which job to copy"
        return source.config
    if _has_xml_body(request):
        problem = xml_problem(request.body)
        return problem if problem else request.body
    if mode == FREESTYLE_MODE:
        return FREESTYLE_CONFIG.encode()
    if mode:  # ItemGroupMixIn.createTopLevelItem: Items.all().findByName(mode)
        return f"No item type \u2018{mode}\u2019 is known"
    return "No mode given" if request.header("content-type") else "No Content-Type header set"


def _create_error(message: str) -> Response:
    response = html_page(400, "Error", f"<h1>Error</h1><p>{html.escape(message)}</p>")
    response.headers.append(("X-Error", message))
    return response


def post_delete(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    """Item.delete: queued items are cancelled and running builds aborted before the folder goes."""
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        _cancel_queued(app, name)
        running = [e for e in app.executors.busy.values() if e.plan.job == name]
    for execution in running:
        execution.abort(auth.name)
    _wait_builds_end(app, job)
    with app.lock:
        app.jobs.pop(name, None)
        app.home.delete_job(name)
        if app.views.job_deleted(name):  # ListView.Listener.onDeleted
            save_views(app.home.root, app.views)
    app.log(f"{name}: deleted")
    return redirect(app.root_url(request))


def _wait_builds_end(app: JenkinsLite, job: Job, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while job.building and time.monotonic() < deadline:
        time.sleep(0.05)


def _cancel_queued(app: JenkinsLite, name: str) -> None:
    """Queue.cancel(task), for every item of this job. Call with app.lock held."""
    items = list(app.queue.of_job(name))
    for item in items:
        app.queue.leave(item, None, cancelled=True)
    if items:
        app.queue_file.push()


def post_enable(app: JenkinsLite, request: Request, auth: Auth, name: str, disabled: bool) -> Response:
    """ParameterizedJobMixIn.doDisable/doEnable: config.xml saved with <disabled>; disabling cancels the
    job's queued items. 302 to the job."""
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        config = job.with_disabled(disabled)
        app.home.write_job_config(name, config)
        job.config = config
        if disabled:
            _cancel_queued(app, name)
    app.log(f"{name}: {'disabled' if disabled else 'enabled'} by {auth.name}")
    return redirect(app.root_url(request) + job_path(name))


def post_rename(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    """AbstractItem.doConfirmRename (and Job.doDoRename): jobs/<old> becomes jobs/<new>; 302 to the new job."""
    new_name = (request.param("newName") or "").strip()
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        problem = check_job_name(new_name)
        if not problem and new_name == name:
            problem = "The new name is the same as the current name."
        elif not problem and new_name in app.jobs:
            problem = f"The name \u201c{new_name}\u201d is already in use."
        elif not problem and job.building:
            problem = "Unable to rename a job while it is building."
        if problem:
            return _create_error(problem)
        app.home.rename_job(name, new_name)
        job.name = new_name
        app.jobs[new_name] = app.jobs.pop(name)
        app.queue.rename_job(name, new_name)
        if app.views.job_renamed(name, new_name):  # ListView.Listener.onLocationChanged
            save_views(app.home.root, app.views)
    app.log(f"{name}: renamed to {new_name} by {auth.name}")
    return redirect(app.root_url(request) + job_path(new_name).rstrip("/"))
