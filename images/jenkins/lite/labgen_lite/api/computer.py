"""Nodes: /computer/api/json and /computer/(master)/api/json. Lite has the built-in node only, with its
executors and what they run (python-jenkins get_nodes, get_node_info, get_running_builds; api4jenkins nodes)."""

from __future__ import annotations

import html

from labgen_lite.api.beans import computer_set_bean, master_bean
from labgen_lite.api.common import answer
from labgen_lite.app import JenkinsLite
from labgen_lite.security import Auth
from labgen_lite.web import Request, Response, html_page, redirect


def api_computers(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    return answer(app, request, lambda: computer_set_bean(app, app.root_url(request)))


def api_computer(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    return answer(app, request, lambda: master_bean(app, app.root_url(request)))


def page_computer(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    with app.lock:
        state = "offline: " + app.offline_cause if app.offline_cause is not None else "online"
    return html_page(200, "master", f"<h1>master</h1><p>{html.escape(state)}</p>")


def post_offline(app: JenkinsLite, request: Request, auth: Auth, toggle: bool) -> Response:
    """Computer.doToggleOffline (offline <-> online) and doChangeOfflineCause (offline, with this message):
    while offline, no build starts on the node; the queue keeps its items. 302 to the node (redirectToDot)."""
    message = (request.param("offlineMessage") or "").strip()
    with app.lock:
        going_offline = not toggle or app.offline_cause is None
        app.offline_cause = (
            f"Disconnected by {auth.name}" + (f" : {message}" if message else "") if going_offline else None
        )
    app.log(f"built-in node {'offline' if going_offline else 'online'} ({auth.name})")
    app.executors.poke()
    return redirect(f"{app.root_url(request)}computer/(master)/")
