"""The queue: /queue/api/json, /queue/item/K/api/json and POST /queue/cancelItem?id=K."""

from __future__ import annotations

from typing import Any

from labgen_lite import params
from labgen_lite.api.common import build_ref, causes, job_summary, reply
from labgen_lite.app import JenkinsLite
from labgen_lite.queue import BLOCKED, BUILDABLE, ITEM_CLASSES, LEFT, WAITING, QueueItem
from labgen_lite.security import Auth
from labgen_lite.web import Request, Response, not_found, redirect


def item_data(app: JenkinsLite, item: QueueItem, root: str) -> dict[str, Any] | None:
    """A Queue.Item as 2.190 exports it (None when its job is gone). Call with app.lock held."""
    job = app.jobs.get(item.job)
    if job is None:
        return None
    defs = params.definitions(job.config)
    data: dict[str, Any] = {
        "_class": ITEM_CLASSES[item.state],
        "actions": causes(item.user) + params.actions(item.params, defs),
        "blocked": item.state == BLOCKED,
        "buildable": item.state == BUILDABLE,
        "id": item.id,
        "inQueueSince": item.since,
        "params": "".join(f"\n{name}={value}" for name, value in item.params),
        "stuck": False,
        "task": job_summary(job, root),
        "url": f"queue/item/{item.id}/",
        "why": app.queue.why(item, app.quieting_down),
    }
    if item.state == WAITING:
        data["timestamp"] = item.due
    elif item.state in (BLOCKED, BUILDABLE):
        data["buildableStartMilliseconds"] = item.buildable_since
        if item.state == BUILDABLE:
            data["pending"] = False
    elif item.state == LEFT:
        build = job.builds.get(item.number) if item.number is not None else None
        data["cancelled"] = item.cancelled
        data["executable"] = build_ref(job, build, root)
    return data


def api_queue(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    root = app.root_url(request)
    with app.lock:
        items = [item_data(app, item, root) for item in app.queue.ordered()]
    return reply(request, {"_class": "hudson.model.Queue", "discoverableItems": [], "items": [i for i in items if i]})


def api_queue_item(app: JenkinsLite, request: Request, auth: Auth, item_id: int) -> Response:
    root = app.root_url(request)
    with app.lock:
        item = app.queue.find(item_id)
        data = item_data(app, item, root) if item else None
    return reply(request, data) if data else not_found()


def post_cancel_item(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """Queue.doCancelItem: cancel if still queued (too late is fine, JENKINS-14813); back to the previous page."""
    item_id = request.param("id") or ""
    with app.lock:
        item = app.queue.items.get(int(item_id)) if item_id.isdigit() else None
        if item is not None:
            app.queue.leave(item, None, cancelled=True)
    if item is not None:
        app.queue_file.push()  # Queue.Saver.onLeft
        app.log(f"queue item {item.id} ({item.job}) cancelled by {auth.name}")
    return redirect(request.header("referer") or app.root_url(request) + "queue/")
