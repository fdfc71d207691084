"""The queue: /queue/api/json, /queue/item/K/api/json and POST /queue/cancelItem?id=K."""

from __future__ import annotations

from labgen_lite.api.beans import queue_bean, queue_item_bean
from labgen_lite.api.common import answer
from labgen_lite.app import JenkinsLite
from labgen_lite.security import Auth
from labgen_lite.web import Request, Response, not_found, redirect


def api_queue(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    return answer(app, request, lambda: queue_bean(app, app.root_url(request)))


def api_queue_item(app: JenkinsLite, request: Request, auth: Auth, item_id: int) -> Response:
    root = app.root_url(request)
    with app.lock:
        item = app.queue.find(item_id)
        data = queue_item_bean(app, item, root) if item else None
        return answer(app, request, data) if data else not_found()


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
