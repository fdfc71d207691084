"""Request -> Response for one master: 503 while reloading, authentication, crumbs, routing, permissions."""

from __future__ import annotations

import html
import traceback
from urllib.parse import unquote

from labgen_lite.api import system
from labgen_lite.api.routes import route
from labgen_lite.app import JenkinsLite
from labgen_lite.pages import login
from labgen_lite.security import CRUMB_FIELD, NO_CRUMB, Auth, AuthFailure, Permission
from labgen_lite.web import TEXT_TYPE, Request, Response, html_page, not_found, text_response


def handle(app: JenkinsLite, request: Request) -> Response:
    try:
        response = _dispatch(app, request)
    except Exception:  # a bug must not kill the server: answer 500 like Jenkins
        app.log(f"{request.method} {request.path}: {traceback.format_exc()}", "SEVERE")
        response = html_page(500, "Oops!", "<h1>Oops!</h1><p>A problem occurred while processing the request.</p>")
    response.headers[:0] = app.identity_headers
    return response


def handle_error(app: JenkinsLite, status: int, message: str) -> Response:
    """A request too broken to route (bad request line, bad body): still say who answers."""
    response = text_response(status, message)
    response.headers[:0] = app.identity_headers
    return response


def _dispatch(app: JenkinsLite, request: Request) -> Response:
    if app.reloading.is_set():
        return _loading_page()
    try:
        auth = app.security.identify(request.header("authorization"), request.cookies)
    except AuthFailure as failure:
        return Response(401, f"{failure}\n".encode(), TEXT_TYPE, [("WWW-Authenticate", 'Basic realm="Jenkins"')])
    segments = [unquote(part) for part in request.path.split("/") if part]
    if segments == [login.LOGIN_URL]:  # the security filter's own URL: before the CrumbFilter, as in Jenkins
        return login.post_login(app, request)
    if request.method == "POST" and not auth.via_token:
        supplied = request.header(CRUMB_FIELD) or request.param(CRUMB_FIELD)
        if not app.security.crumb_valid(auth, request.cookies, supplied):
            return _forbidden(auth, NO_CRUMB)
    if app.owner.showing:  # DoubleLaunchChecker is the web app: every URL but POST /ignore is its page
        if segments == ["ignore"] and request.method == "POST":
            return system.post_ignore(app, request, auth)
        return system.collision_page(app)
    found = route(app, segments, request.method)
    if (found is None or found.permission is not None) and not auth.has(Permission.READ):
        return _denied(auth, Permission.READ, request)
    if found is None:
        return not_found()
    if found.post_only and request.method != "POST":
        return html_page(405, "This URL requires POST", "<h1>This URL requires POST</h1>")
    if found.permission is not None and not auth.has(found.permission):
        return _denied(auth, found.permission, request)
    return found.handler(app, request, auth)


def _loading_page() -> Response:
    return html_page(
        503, "Starting Jenkins", "<p>Please wait while Jenkins is getting ready to work (reloading)...</p>"
    )


def _forbidden(auth: Auth, message: str) -> Response:
    response = html_page(403, "Error 403", f"<h2>HTTP ERROR 403</h2><p>{html.escape(message)}</p>")
    response.headers.append(("X-You-Are-Authenticated-As", auth.name))
    return response


def _denied(auth: Auth, permission: Permission, request: Request) -> Response:
    if auth.user is None and request.header("x-requested-with") != "XMLHttpRequest":
        return login.entry_point(request, auth, permission)
    if auth.user is None:
        message = "Authentication required"
    else:
        message = f"{auth.name} is missing the {permission.title} permission"
    response = _forbidden(auth, message)
    response.headers.append(("X-Required-Permission", permission.id))
    return response
