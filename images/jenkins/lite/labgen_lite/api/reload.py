"""POST /reload: every URL answers 503 for reload_seconds, while Jenkins.reload runs: the queue is saved
first (a standby that reloads writes its own queue over queue.xml), the jobs are read from disk again (builds
that run here stay), then queue.xml is read back."""

from __future__ import annotations

import threading
import time
import traceback

from labgen_lite.app import JenkinsLite
from labgen_lite.security import Auth
from labgen_lite.views import load_views
from labgen_lite.web import Request, Response, redirect


def post_reload(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    start_reload(app, f"requested by {auth.name}")
    return redirect(app.root_url(request))


def start_reload(app: JenkinsLite, why: str) -> None:
    """Every URL answers 503 for reload_seconds; then jobs are re-read from disk."""
    app.reloading.set()
    app.log(f"Reloading configuration from disk ({why}); answering 503 meanwhile")
    threading.Thread(target=_reload, args=(app,), name="config reload", daemon=True).start()


def _reload(app: JenkinsLite) -> None:
    try:
        app.queue_file.save()
        time.sleep(app.config.reload_seconds)
        jobs = app.home.load_jobs()
        settings = app.home.root_settings()
        views = load_views(app.home.root)
        app.tokens.load()  # User.reload
        with app.lock:
            for name, job in app.jobs.items():  # builds running here are not on disk yet: keep them
                running = {n: b for n, b in job.builds.items() if b.building}
                if running and name in jobs:
                    jobs[name].builds.update(running)
            app.jobs, app.settings, app.views = jobs, settings, views
            app.queue.replace(*app.queue_file.load())
        app.owner.showing = False  # Jenkins.reload ends with setApp(this)
        app.log(f"Reload complete: {len(jobs)} job(s) read from {app.home.jobs_dir}, {len(app.queue.items)} queued")
    except Exception:  # keep serving whatever was loaded before
        app.log(f"Reload failed: {traceback.format_exc()}", "SEVERE")
    finally:
        app.reloading.clear()
        app.executors.poke()
