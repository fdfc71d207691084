"""The master itself: dashboard, /api/json, /login, the agent listener page, who am I, crumbs, the queue."""

from __future__ import annotations

import html
from urllib.parse import quote

from labgen_lite.api.common import job_path, job_summary, reply
from labgen_lite.app import JenkinsLite
from labgen_lite.identity import AGENT_PROTOCOLS, PRODUCT, REMOTING_MINIMUM_VERSION
from labgen_lite.security import CRUMB_FIELD, Auth
from labgen_lite.web import TEXT_TYPE, XML_TYPE, Request, Response, html_page, json_response

CRUMB_ISSUER = "hudson.security.csrf.DefaultCrumbIssuer"
# the same bytes every time, built once: /login is what health checks poll
LOGIN_PAGE = html_page(
    200, "Sign in", "<h1>Welcome to Jenkins!</h1><form method='post' action='j_acegi_security_check'></form>"
).body


def page_login(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    return Response(200, LOGIN_PAGE)


def page_agent_listener(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    response = Response(200, b"Jenkins\n", TEXT_TYPE)
    response.headers += [
        ("X-Jenkins-JNLP-Port", str(app.agent_port)),
        ("X-Jenkins-Agent-Protocols", AGENT_PROTOCOLS),
        ("X-Remoting-Minimum-Version", REMOTING_MINIMUM_VERSION),
        ("X-Instance-Identity", app.identity),
    ]
    return response


def page_root(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    with app.lock:
        rows = "".join(
            f"<li><a href='{job_path(j.name)}'>{html.escape(j.name)}</a> ({j.color})</li>" for j in app.sorted_jobs()
        )
    return html_page(200, "Dashboard", f"<h1>Jenkins on {html.escape(app.node)}</h1><ul>{rows}</ul>")


def api_root(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    root = app.root_url(request)
    with app.lock:
        jobs = [job_summary(job, root) for job in app.sorted_jobs()]
    view = {"_class": "hudson.model.AllView", "name": "all", "url": root}
    return reply(
        request,
        {
            "_class": "hudson.model.Hudson",
            "assignedLabels": [{"name": "master"}],
            "mode": "NORMAL",
            "nodeDescription": f"the master Jenkins node ({PRODUCT} on {app.node}, NOT Jenkins)",
            "nodeName": "",
            "numExecutors": 2,
            "description": None,
            "jobs": jobs,
            "overallLoad": {},
            "primaryView": view,
            "quietingDown": app.quieting_down,
            "slaveAgentPort": app.agent_port,
            "unlabeledLoad": {"_class": "jenkins.model.UnlabeledLoadStatistics"},
            "useCrumbs": True,
            "useSecurity": True,
            "views": [view],
        },
    )


def api_whoami(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    authorities = ["authenticated"] if auth.user else []
    return json_response(
        {
            "_class": "hudson.security.WhoAmI",
            "anonymous": auth.user is None,
            "authenticated": auth.user is not None,
            "authorities": authorities,
            "details": None,
            "name": auth.name,
            "toString": f"{PRODUCT} principal {auth.name}",
        }
    )


def api_me(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    return json_response(
        {
            "_class": "hudson.model.User",
            "absoluteUrl": f"{app.root_url(request)}user/{quote(auth.name)}",
            "description": None,
            "fullName": auth.name,
            "id": auth.name,
            "property": [],
        }
    )


def api_crumb(app: JenkinsLite, request: Request, auth: Auth, kind: str) -> Response:
    """A crumb for this user and HTTP session; a new session (Set-Cookie) when the request has none."""
    session_id = app.security.session(request.cookies)
    headers = []
    if session_id is None:
        session_id = app.security.new_session()
        headers.append(("Set-Cookie", f"{app.security.cookie_name}={session_id}; Path=/; HttpOnly"))
    crumb = app.security.crumb(auth, session_id)
    if kind == "json":
        response = json_response({"_class": CRUMB_ISSUER, "crumb": crumb, "crumbRequestField": CRUMB_FIELD})
    elif "concat" in (request.param("xpath") or ""):
        response = Response(200, f"{CRUMB_FIELD}:{crumb}".encode(), TEXT_TYPE)
    else:
        body = (
            f'<defaultCrumbIssuer _class="{CRUMB_ISSUER}"><crumb>{crumb}</crumb>'
            f"<crumbRequestField>{CRUMB_FIELD}</crumbRequestField></defaultCrumbIssuer>"
        )
        response = Response(200, body.encode(), XML_TYPE)
    response.headers += headers
    return response
