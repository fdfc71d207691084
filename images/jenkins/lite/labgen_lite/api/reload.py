"""POST /reload: every URL answers 503 while Jenkins.reload runs, which lite does in Jenkins' order:

1. `queue.save()`: a standby that reloads writes its own queue over queue.xml;
2. the init reactor runs `loadTasks()`: "Loading global config" (JENKINS_HOME/config.xml), then one "Loading
   item" task per folder of jobs/ on jenkins.InitReactorRunner's pool of TWICE_CPU_NUM threads (Items.load:
   config.xml, nextBuildNumber, the builds folder listed for the lazy RunMap: Home.load_jobs);
3. `queue.load()`: queue.xml read back (then moved to queue.xml.bak).

Builds that run here are kept (LazyBuildMixIn.onLoad keeps the running builds of the item it replaces).
`reload_seconds` is added before step 2: what stands for the rest of a real reload's fixed cost."""

from __future__ import annotations

import threading
import time
import traceback

from labgen_lite.app import JenkinsLite
from labgen_lite.home import reactor_threads
from labgen_lite.security import Auth
from labgen_lite.views import load_views
from labgen_lite.web import Request, Response, redirect


def post_reload(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    start_reload(app, f"requested by {auth.name}")
    return redirect(app.root_url(request))


def start_reload(app: JenkinsLite, why: str) -> None:
    """Every URL answers 503 until the home is read again."""
    app.reloading.set()
    app.log(f"Reloading configuration from disk ({why}); answering 503 meanwhile")
    threading.Thread(target=_reload, args=(app,), name="config reload", daemon=True).start()


def _reload(app: JenkinsLite) -> None:
    started = time.monotonic()
    try:
        app.queue_file.save()
        time.sleep(app.config.reload_seconds)
        settings = app.home.root_settings()  # "Loading global config" comes before the items
        loading = time.monotonic()
        jobs = app.home.load_jobs(app.config.load_concurrency)
        items_s = time.monotonic() - loading
        views = load_views(app.home.root)
        app.tokens.load()  # User.reload
        with app.lock:
            for name, job in app.jobs.items():  # builds running here are not on disk yet: keep them
                running = {b.number: b for b in job.builds.loaded() if b.building}
                if running and name in jobs:
                    jobs[name].builds.update(running)
            app.jobs, app.settings, app.views = jobs, settings, views
            app.queue.replace(*app.queue_file.load())
        app.owner.showing = False  # Jenkins.reload ends with setApp(this)
        folders = sum(len(job.builds) for job in jobs.values())
        app.log(
            f"Reload complete in {time.monotonic() - started:.3f} s: {len(jobs)} job(s) read from {app.home.jobs_dir}"
            f" in {items_s:.3f} s by {reactor_threads(app.config.load_concurrency)} thread(s), {folders} build"
            f" folder(s) listed (build.xml read when asked for), {len(app.queue.items)} queued"
        )
    except Exception:  # keep serving whatever was loaded before
        app.log(f"Reload failed: {traceback.format_exc()}", "SEVERE")
    finally:
        app.reloading.clear()
        app.executors.poke()
