"""Nodes: /computer/api/json and /computer/(master)/api/json. Lite has the built-in node only, with its
executors and what they run (python-jenkins get_nodes, get_node_info, get_running_builds; api4jenkins nodes)."""

from __future__ import annotations

from labgen_lite.api.beans import computer_set_bean, master_bean
from labgen_lite.api.common import answer
from labgen_lite.app import JenkinsLite
from labgen_lite.security import Auth
from labgen_lite.web import Request, Response


def api_computers(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    return answer(app, request, lambda: computer_set_bean(app, app.root_url(request)))


def api_computer(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    return answer(app, request, lambda: master_bean(app, app.root_url(request)))
