"""Form login and logout as Jenkins 2.190.2 does them.

- GET /login: login.jelly's form (j_username, j_password, from, remember_me) posting to j_acegi_security_check.
- POST /j_acegi_security_check: AuthenticationProcessingFilter2 (no crumb: it runs before the CrumbFilter):
  a good password invalidates the old session and makes a new one (302 to `from` when it is safe, else to
  the root); a bad one 302s to /loginError, which answers 401 with the form and its error.
- remember_me: TokenBasedRememberMeServices2's cookie, signed with a key of JENKINS_HOME, so it is good on every
  master of the home; a session is good only on the master that made it.
- /logout: SecurityRealm.doLogout: the session is invalidated, the remember-me and JSESSIONID.* cookies are
  cleared, 302 to the root.
- An anonymous request a page refuses: HudsonAuthenticationEntryPoint: 403 with a white page that sends a
  browser on to /login?from=<the URL> (meta refresh and script); a script's XMLHttpRequest gets a bare 403.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote_plus

from labgen_lite.app import JenkinsLite
from labgen_lite.identity import PRODUCT
from labgen_lite.pages.layout import CSS, esc
from labgen_lite.security import REMEMBER_ME_COOKIE, REMEMBER_ME_FIELD, REMEMBER_ME_SECONDS, Auth, Permission
from labgen_lite.web import Request, Response, redirect

LOGIN_URL = "j_acegi_security_check"
ERROR_URL = "loginError"
ABSOLUTE_URI = re.compile(r"^[^#?/]*:")  # hudson.Util.isAbsoluteUri: a ':' before any '#', '?' or '/'


def page_login(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """GET /login: always 200 (HAProxy's health check polls it); the form keeps `from` for the redirect."""
    page = login_form(app.node, app.version, request.param("from") or "", error=False)
    return Response(200, page, headers=[("Cache-Control", "no-cache,no-store,must-revalidate")])


def page_login_error(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """loginError.jelly: 401 with the form (keeping the session's `from`); a logged-in user goes to the root."""
    if auth.user is not None:
        return redirect(base_url(request))
    data = app.security.session_data(app.security.session(request.cookies))
    return Response(401, login_form(app.node, app.version, (data.login_from if data else None) or "", error=True))


def post_login(app: JenkinsLite, request: Request) -> Response:
    """j_acegi_security_check: authenticate the form's user and password; no crumb is asked for."""
    name = request.param("j_username") or ""
    came_from = request.param("from")
    security = app.security
    old_session = security.session(request.cookies)
    user = security.check_password(name, request.param("j_password") or "")
    if user is None:
        session_id = old_session or security.new_session()
        data = security.session_data(session_id)
        if data is not None:
            data.login_from = came_from
        app.log(f"login failed for {name!r} from {request.client}", "WARNING")
        response = redirect(base_url(request) + ERROR_URL)
        if session_id != old_session:
            response.headers.append(("Set-Cookie", session_cookie(app, session_id)))
        return response
    session_id = security.log_in(old_session, user)
    app.log(f"{user.name} logged in from {request.client}")
    response = redirect(base_url(request) + target_path(came_from))
    response.headers.append(("Set-Cookie", session_cookie(app, session_id)))
    if request.param(REMEMBER_ME_FIELD):
        value = security.remember_me_cookie(user)
        response.headers.append(
            ("Set-Cookie", f"{REMEMBER_ME_COOKIE}={value}; Max-Age={REMEMBER_ME_SECONDS}; Path=/; HttpOnly")
        )
    return response


def logout(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    app.security.invalidate(app.security.session(request.cookies))
    response = redirect(base_url(request))
    response.headers.append(("Set-Cookie", f"{REMEMBER_ME_COOKIE}=; Max-Age=0; Path=/; HttpOnly"))
    for name in request.cookies:
        if name.startswith("JSESSIONID."):  # every incarnation's session cookie, as clearStaleSessionCookies
            response.headers.append(("Set-Cookie", f"{name}=; Max-Age=0; Path=/"))
    if auth.user is not None:
        app.log(f"{auth.name} logged out")
    return response


def entry_point(request: Request, auth: Auth, permission: Permission) -> Response:
    """HudsonAuthenticationEntryPoint.commence: 403, and a browser goes on to the login form."""
    uri = request.path + (f"?{request.query_string}" if request.query_string else "")
    login = "/login?from=" + quote_plus(uri, safe="")
    body = (
        f"<html><head><meta http-equiv='refresh' content='1;url={login}'/>"
        f"<script>window.location.replace('{login}');</script></head>"
        "<body style='background-color:white; color:white;'>\n\n\nAuthentication required\n<!--\n"
        f"You are authenticated as: {esc(auth.name)}\nGroups that you are in:\n"
        f"Permission you need to have (but didn't): {permission.id}\n"
        f"({esc(PRODUCT)}, NOT Jenkins)\n-->\n\n</body></html>" + " " * 300
    )
    response = Response(403, body.encode())
    response.headers += [
        ("X-You-Are-Authenticated-As", auth.name),
        (
            "X-You-Are-In-Group-Disabled",
            "JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true"
            " or use /whoAmI to diagnose",
        ),
        ("X-Required-Permission", permission.id),
    ]
    return response


def target_path(came_from: str | None) -> str:
    """AuthenticationProcessingFilter2.determineTargetUrl, as a path below the root (no open redirect)."""
    if came_from is None:
        return ""
    if ABSOLUTE_URI.match(came_from) or came_from.startswith("//"):
        return ""
    return came_from.lstrip("/")


def base_url(request: Request) -> str:
    """The root as the browser reached it (Jetty makes a relative Location absolute from the request)."""
    scheme = request.header("x-forwarded-proto") or "http"
    host = request.header("x-forwarded-host") or request.header("host") or "localhost"
    return f"{scheme}://{host}/"


def session_cookie(app: JenkinsLite, session_id: str) -> str:
    return f"{app.security.cookie_name}={session_id}; Path=/; HttpOnly"


@functools.lru_cache(maxsize=64)  # the health checks' page is built once
def login_form(node: str, version: str, came_from: str, error: bool) -> bytes:
    problem = "<div class='error' role='alert'>Invalid username or password</div>" if error else ""
    field_class = "danger" if error else "normal"
    html_text = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Sign in [Jenkins]</title>"
        "<meta name='ROBOTS' content='NOFOLLOW'><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{CSS}</style></head><body>"
        "<header class='top'><a class='brand' href='/'>Jenkins <span class='lite-tag'>lite</span></a>"
        f"<span class='node'>served by <b id='lite-node'>{esc(node)}</b></span></header>"
        f"<div class='lite-banner' role='note'><b>{esc(PRODUCT)} {esc(version)}</b>: a stand-in for Jenkins, "
        f"NOT Jenkins. Answered by master <b>{esc(node)}</b>. Sessions are per master, as in Jenkins: "
        "after a failover you sign in again (unless you ticked <i>Keep me signed in</i>).</div>"
        "<div class='login' role='main'><h1>Welcome to Jenkins!</h1>"
        f"<form name='login' action='{LOGIN_URL}' method='post'>{problem}"
        f"<input class='{field_class}' type='text' name='j_username' id='j_username' autocorrect='off' "
        "autocapitalize='off' placeholder='Username' autofocus>"
        f"<input class='{field_class}' type='password' name='j_password' id='j_password' placeholder='Password'>"
        f"<input type='hidden' name='from' value='{esc(came_from)}'>"
        f"<p><label><input type='checkbox' id='remember_me' name='{REMEMBER_ME_FIELD}'> Keep me signed in</label></p>"
        "<button type='submit' name='Submit' class='button' id='sign-in'>Sign in</button></form></div>"
        f"<footer>{esc(PRODUCT)} {esc(version)} on {esc(node)}</footer></body></html>\n"
    )
    return html_text.encode()
