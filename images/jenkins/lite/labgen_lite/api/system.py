"""The master's state: POST quietDown / cancelQuietDown, and the DoubleLaunchChecker collision page and
POST /ignore."""

from __future__ import annotations

import html
import time

from labgen_lite.app import JenkinsLite
from labgen_lite.security import Auth
from labgen_lite.web import Request, Response, html_page, redirect

COLLISION_MESSAGE = (
    "Jenkins detected that you appear to be running more than one instance of Jenkins that share the same "
    "home directory '{home}\u2019. This greatly confuses Jenkins and you will likely experience strange "
    "behaviors, so please correct the situation."
)
IGNORE_LABEL = "Ignore this problem and keep using Jenkins anyway"


def post_quiet_down(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """Jenkins.doQuietDown(block, timeout): no new builds start; running ones go on; the queue stays."""
    with app.lock:
        app.quieting_down = True
    app.log(f"quieting down, as requested by {auth.name}")
    if (request.param("block") or "").lower() == "true":
        timeout = request.param("timeout") or "0"
        deadline = time.monotonic() + int(timeout) / 1000 if timeout.isdigit() and int(timeout) > 0 else None
        while app.quieting_down and app.executors.busy and (deadline is None or time.monotonic() < deadline):
            time.sleep(0.1 if deadline is not None else 1.0)
    return redirect(app.root_url(request))


def post_cancel_quiet_down(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    with app.lock:
        app.quieting_down = False
    app.executors.poke()  # Queue.scheduleMaintenance
    app.log(f"quiet down cancelled by {auth.name}")
    return redirect(app.root_url(request))


def collision_page(app: JenkinsLite) -> Response:
    """DoubleLaunchChecker.doDynamic: every URL, HTTP 500, its index.jelly."""
    owner = app.owner
    body = (
        f"<h1>Error</h1><p>{html.escape(COLLISION_MESSAGE.format(home=app.home.root), quote=False)}</p>"
        f"<table><tr><td>This Jenkins:</td><td>{html.escape(owner.id, quote=False)}</td></tr>"
        f"<tr><td>Other Jenkins:</td><td>{html.escape(owner.colliding_id or '', quote=False)}</td></tr></table>"
        f"<div><form method='post' action='/ignore'><input type='submit' value='{IGNORE_LABEL}'></form></div>"
    )
    page = html_page(500, "Jenkins", body)
    return page


def post_ignore(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    """DoubleLaunchChecker.doIgnore: POST only, no permission check (any user who gets past the crumb)."""
    app.owner.ignore()
    app.log(f"DoubleLaunchChecker: collision ignored by {auth.name}", "WARNING")
    return redirect(app.root_url(request))
