"""Views: POST /createView (View.create: an XML body, or the New View form's `mode`), /view/NAME/api/*,
/view/NAME/config.xml (View.doConfigDotXml: read, and update by XML), POST addJobToView and
removeJobFromView (ListView), POST doDelete (View.doDoDelete). Every change is saved in JENKINS_HOME/config.xml."""

from __future__ import annotations

import html
from urllib.parse import quote

from labgen_lite.api.beans import job_bean
from labgen_lite.api.common import answer
from labgen_lite.api.export import Bean, P, bean
from labgen_lite.app import JenkinsLite
from labgen_lite.jobs import check_job_name
from labgen_lite.security import Auth
from labgen_lite.views import LIST_VIEW, View, ViewProblem, new_list_view, parse_view, save_views
from labgen_lite.web import XML_TYPE, Request, Response, html_page, not_found, redirect, text_response


def view_url(app: JenkinsLite, view: View, root: str) -> str:
    """View.getUrl: the primary view is the root itself."""
    return root if view.name == app.views.primary_name else f"{root}view/{quote(view.name, safe='')}/"


def view_bean(app: JenkinsLite, view: View, root: str) -> Bean:
    """View: name and url at visibility 2; description, jobs and (inline) property at 1."""

    def jobs() -> list[Bean]:
        return [job_bean(app, job, root) for job in app.sorted_jobs() if view.contains(job.name)]

    return bean(
        view.kind,
        description=view.description,
        jobs=jobs,
        name=P(view.name, visibility=2),
        property=P([], inline=True),
        url=P(view_url(app, view, root), visibility=2),
    )


def failure(message: str) -> Response:
    """hudson.model.Failure: the error page, 400, and X-Error (AbstractModelObject/error.jelly)."""
    response = html_page(400, "Error", f"<h1>Error</h1><p>{html.escape(message)}</p>")
    response.headers.append(("X-Error", message))
    return response


def _xml_body(request: Request) -> bool:
    return (request.header("content-type") or "").lower().startswith(("application/xml", "text/xml"))


def post_create_view(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """Jenkins.doCreateView -> View.create."""
    mode = request.param("mode")
    if request.header("content-type") is None and mode != "copy":
        return failure("No Content-Type header set")
    name = request.param("name")
    if name is None:
        return failure("No name is specified")
    problem = check_job_name(name)  # Jenkins.checkGoodName
    if problem:
        return failure(problem)
    name = name.strip()
    with app.lock:
        if app.views.get(name) is not None:
            return failure(f'A view already exists with the name "{name}"')
        try:
            view = _new_view(app, request, name, mode)
        except ViewProblem as why:
            return failure(str(why))
        app.views.add(view)
        save_views(app.home.root, app.views)
    app.log(f"view {name}: created by {auth.name}")
    if not mode:
        return Response(200)
    return redirect(f"{view_url(app, view, app.root_url(request))}configure")


def _new_view(app: JenkinsLite, request: Request, name: str, mode: str | None) -> View:
    if not mode:
        if not _xml_body(request):
            raise ViewProblem("No view type is specified")
        return parse_view(request.body, name)
    if mode == "copy":
        source_name = request.param("from") or ""
        source = app.views.get(source_name)
        if source is None:
            raise ViewProblem("Specify which view to copy" if not source_name else f"No such view: {source_name}")
        return parse_view(source.config_xml(), name)
    if mode != LIST_VIEW:
        raise ViewProblem(f"No view type \u2018{mode}\u2019 is known")
    return new_list_view(name)


def _find(app: JenkinsLite, name: str) -> View | None:
    return app.views.get(name)


def api_view(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    with app.lock:
        view = _find(app, name)
        if view is None:
            return not_found()
        return answer(app, request, view_bean(app, view, app.root_url(request)))


def view_config(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    """View.doConfigDotXml: GET reads, POST updates (same class only; the name stays), else 400."""
    with app.lock:
        view = _find(app, name)
        if view is None:
            return not_found()
        if request.method == "GET":
            return Response(200, view.config_xml(), XML_TYPE)
        if request.method != "POST":
            return text_response(400, f"Unexpected request method {request.method}")
        try:
            updated = parse_view(request.body, view.name)
        except ViewProblem as why:
            return text_response(500, f"java.io.IOException: {why}")
        if updated.kind != view.kind:
            return text_response(500, f"java.io.IOException: Expecting view type: {view.kind} but got: {updated.kind}")
        view.element = updated.element
        save_views(app.home.root, app.views)
    app.log(f"view {name}: configuration updated by {auth.name}")
    return Response(200)


def post_job_in_view(app: JenkinsLite, request: Request, auth: Auth, name: str, add: bool) -> Response:
    """ListView.doAddJobToView / doRemoveJobFromView: 200, saved; a missing or unknown job is a Failure."""
    job_name = request.param("name")
    if job_name is None:
        return failure("Query parameter 'name' is required")
    with app.lock:
        view = _find(app, name)
        if view is None:
            return not_found()
        if view.kind != LIST_VIEW:
            return not_found()  # AllView has no such action
        if job_name not in app.jobs:
            which = "known" if add else "known and readable"
            return failure(f"Query parameter 'name' does not correspond to a {which} item")
        names = view.job_names()
        present = any(n.lower() == job_name.lower() for n in names)
        if add and not present:
            view.set_job_names([*names, job_name])
        elif not add and present:
            view.set_job_names([n for n in names if n.lower() != job_name.lower()])
        else:
            return Response(200)
        save_views(app.home.root, app.views)
    app.log(f"view {name}: job {job_name} {'added' if add else 'removed'} by {auth.name}")
    return Response(200)


def post_delete_view(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    """View.doDoDelete: 302 to the root; the last view cannot go (IllegalStateException, 500)."""
    with app.lock:
        view = _find(app, name)
        if view is None:
            return not_found()
        try:
            app.views.delete(view)
        except RuntimeError as why:
            return text_response(500, f"java.lang.IllegalStateException: {why}")
        save_views(app.home.root, app.views)
    app.log(f"view {name}: deleted by {auth.name}")
    return redirect(app.root_url(request))


def page_view(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    """The view's page (and its configure page, where the New View form lands): its jobs, plainly."""
    with app.lock:
        view = _find(app, name)
        if view is None:
            return not_found()
        rows = "".join(
            f"<li><a href='{app.root_url(request)}job/{quote(j.name, safe='')}/'>{html.escape(j.name)}</a></li>"
            for j in app.sorted_jobs()
            if view.contains(j.name)
        )
    return html_page(200, name, f"<h1>View {html.escape(name)}</h1><ul>{rows}</ul>")
