"""Nodes: /computer/api/json and /computer/(master)/api/json. Lite has the built-in node only, with its
executors and what they run (python-jenkins get_nodes, get_node_info, get_running_builds; api4jenkins nodes)."""

from __future__ import annotations

from typing import Any

from labgen_lite.api.builds import executor_fields
from labgen_lite.api.common import reply
from labgen_lite.app import JenkinsLite
from labgen_lite.identity import PRODUCT
from labgen_lite.security import Auth
from labgen_lite.web import Request, Response

MASTER = "master"  # Hudson.Computer.DisplayName in 2.190 (the "Built-In Node" came in 2.307)


def _depth(request: Request) -> int:
    depth = request.param("depth") or "0"
    return int(depth) if depth.isdigit() else 0


def master_data(app: JenkinsLite, root: str, depth: int) -> dict[str, Any]:
    """Hudson$MasterComputer; executors show their fields from depth 1 (or when ?tree= names them)."""
    executors = []
    busy = 0
    for number in range(app.executors.count):
        execution = app.executors.busy.get(number)
        build, job = (execution.plan.build, app.jobs.get(execution.plan.job)) if execution else (None, None)
        busy += build is not None
        executor: dict[str, Any] = {"_class": "hudson.model.Executor"}
        if depth > 0:
            executor.update(executor_fields(app, job, build, root, number))
        executors.append(executor)
    return {
        "_class": "hudson.model.Hudson$MasterComputer",
        "actions": [],
        "assignedLabels": [{"name": MASTER}],
        "description": f"the master Jenkins node ({PRODUCT} on {app.node}, NOT Jenkins)",
        "displayName": MASTER,
        "executors": executors,
        "icon": "computer.png",
        "iconClassName": "icon-computer",
        "idle": busy == 0,
        "jnlpAgent": False,
        "launchSupported": True,
        "loadStatistics": {"_class": "hudson.model.Label$1"},
        "manualLaunchAllowed": True,
        "monitorData": {},
        "numExecutors": app.executors.count,
        "offline": False,
        "offlineCause": None,
        "offlineCauseReason": "",
        "oneOffExecutors": [],
        "temporarilyOffline": False,
    }


def _full_depth(request: Request) -> int:
    """?tree= names what it wants whatever the depth: build everything and let the tree cut it."""
    return 99 if request.param("tree") else _depth(request)


def api_computers(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    root = app.root_url(request)
    with app.lock:
        master = master_data(app, root, _full_depth(request))
        busy = len(app.executors.busy)
    return reply(
        request,
        {
            "_class": "hudson.model.ComputerSet",
            "busyExecutors": busy,
            "computer": [master],
            "displayName": "Nodes",
            "totalExecutors": master["numExecutors"],
        },
    )


def api_computer(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    with app.lock:
        data = master_data(app, app.root_url(request), _full_depth(request))
    return reply(request, data)
