"""The master itself: dashboard, /api/json, /login, the agent listener page, who am I, crumbs, the queue."""

from __future__ import annotations

from labgen_lite.api.beans import job_bean
from labgen_lite.api.common import answer
from labgen_lite.api.export import ALL, Bean, TreeSyntaxError, bean, parse_tree
from labgen_lite.api.views import view_bean
from labgen_lite.app import JenkinsLite
from labgen_lite.identity import AGENT_PROTOCOLS, PRODUCT, REMOTING_MINIMUM_VERSION
from labgen_lite.security import CRUMB_FIELD, Auth
from labgen_lite.web import TEXT_TYPE, Request, Response, text_response

CRUMB_ISSUER = "hudson.security.csrf.DefaultCrumbIssuer"


def page_agent_listener(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    response = Response(200, b"Jenkins\n", TEXT_TYPE)
    response.headers += [
        ("X-Jenkins-JNLP-Port", str(app.agent_port)),
        ("X-Jenkins-Agent-Protocols", AGENT_PROTOCOLS),
        ("X-Remoting-Minimum-Version", REMOTING_MINIMUM_VERSION),
        ("X-Instance-Identity", app.identity),
    ]
    return response


def hudson_bean(app: JenkinsLite, root: str) -> Bean:
    """jenkins.model.Jenkins (hudson.model.Hudson): jobs and views at visibility 1, so at depth 0 each shows
    only what it exports at visibility 2 and more (a job's name, url and color; a view's name and url)."""
    return bean(
        "hudson.model.Hudson",
        assignedLabels=[bean("hudson.model.labels.LabelAtom", name="master")],
        mode="NORMAL",
        nodeDescription=f"the master Jenkins node ({PRODUCT} on {app.node}, NOT Jenkins)",
        nodeName="",
        numExecutors=app.executors.count,
        description=None,
        jobs=lambda: [job_bean(app, job, root) for job in app.sorted_jobs()],
        overallLoad=bean("hudson.model.OverallLoadStatistics"),
        primaryView=lambda: view_bean(app, app.views.primary, root),
        quietingDown=app.quieting_down,
        slaveAgentPort=app.agent_port,
        unlabeledLoad=bean("jenkins.model.UnlabeledLoadStatistics"),
        useCrumbs=True,
        useSecurity=True,
        views=lambda: [view_bean(app, view, root) for view in app.views.views],
    )


# `?tree=jobs[name]` (verify's probe, 20 a second) and other lists of only the jobs' names and URLs: the
# answer depends on nothing but the jobs' names and classes, so it is exported once per job set. A real
# Jenkins walks its 5,000 items in a few ms; lite's export of them took longer than a probe's interval.
NAMES_ONLY = frozenset({"name", "url", "fullName", "displayName"})


def api_root(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    root = app.root_url(request)
    if not lists_only_names(request.param("tree")):
        return answer(app, request, lambda: hudson_bean(app, root))
    with app.lock:
        key = (root, request.path, request.query_string, tuple((job.name, job.item_class) for job in app.sorted_jobs()))
    cached = app.names_answer
    if cached is None or cached[0] != key:
        cached = (key, answer(app, request, lambda: hudson_bean(app, root)))
        if cached[1].status == 200:
            app.names_answer = cached
    reply = cached[1]
    return Response(reply.status, reply.body, reply.content_type, list(reply.headers))


def lists_only_names(tree: str | None) -> bool:
    if not tree:
        return False
    try:
        parsed = parse_tree(tree)
    except TreeSyntaxError:
        return False
    jobs = parsed.children.get("jobs")
    return (
        set(parsed.children) == {"jobs"}
        and jobs is not None
        and jobs.span == ALL
        and set(jobs.children) <= NAMES_ONLY
        and not any(child.children for child in jobs.children.values())
    )


def api_whoami(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    authorities = ["authenticated"] if auth.user else []
    return answer(
        app,
        request,
        bean(
            "hudson.security.WhoAmI",
            anonymous=auth.user is None,
            authenticated=auth.user is not None,
            authorities=authorities,
            details=None,
            name=auth.name,
            toString=f"{PRODUCT} principal {auth.name}",
        ),
    )


def api_crumb(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """A crumb for this user and HTTP session; a new session (Set-Cookie) when the request has none.
    CrumbIssuer.RestrictedApi lets `xpath=concat(//crumbRequestField,":",//crumb)` answer text."""
    session_id = app.security.session(request.cookies)
    headers = []
    if session_id is None:
        session_id = app.security.new_session()
        headers.append(("Set-Cookie", f"{app.security.cookie_name}={session_id}; Path=/; HttpOnly"))
    crumb = app.security.crumb(auth, session_id)
    if request.path.endswith("/xml") and "concat" in (request.param("xpath") or ""):
        response = Response(200, f"{CRUMB_FIELD}:{crumb}".encode(), TEXT_TYPE)
    else:
        response = answer(app, request, bean(CRUMB_ISSUER, crumb=crumb, crumbRequestField=CRUMB_FIELD))
    response.headers += headers
    return response


def script_console(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """/script and /scriptText run Groovy in Jenkins; lite has no Groovy: it says so, plainly."""
    message = f"{PRODUCT} is not Jenkins: it has no Groovy script console ({request.path} is not supported)"
    response = text_response(501, message)
    response.headers.append(("X-Error", message))
    return response
