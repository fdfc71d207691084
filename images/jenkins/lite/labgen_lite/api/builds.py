"""Builds: POST build (simulated, in the request), a build's JSON and console, and its queue item."""

from __future__ import annotations

import time

from labgen_lite.api.common import build_ref, causes, job_summary, reply
from labgen_lite.app import JenkinsLite
from labgen_lite.home import BuildCollision
from labgen_lite.jobs import Build, Job, QueueItem
from labgen_lite.security import Auth
from labgen_lite.web import TEXT_TYPE, Request, Response, not_found, text_response


def post_build(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        if job.disabled:
            return text_response(409, f"java.io.IOException: {name} is not buildable")
        try:
            item = _run_build(app, job, auth.name)
        except BuildCollision as collision:
            message = f"java.lang.IllegalStateException: {collision}"
            app.log(f"Executor #0 for master: {name}: {message}", "SEVERE")
            return text_response(500, message)
    app.log(f"{name} #{item.number} SUCCESS (queue item {item.id}, started by {auth.name})")
    return Response(201, b"", TEXT_TYPE, [("Location", f"{app.root_url(request)}queue/item/{item.id}/")])


def _run_build(app: JenkinsLite, job: Job, user: str) -> QueueItem:
    """Take this instance's next number (in memory), persist it, claim builds/<n>, finish."""
    number = job.next_build_number
    job.next_build_number += 1
    app.home.save_next_build_number(job)
    directory = app.home.claim_build_dir(job, number)
    queue_id, app.next_queue_id = app.next_queue_id, app.next_queue_id + 1
    started = int(time.time() * 1000)
    build = Build(number, "SUCCESS", started, 1, queue_id, user)
    app.home.write_build(directory, build, app.version, app.node)
    job.builds[number] = build
    item = QueueItem(queue_id, job.name, number, started, user)
    app.queue[queue_id] = item
    return item


def api_build(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    root = app.root_url(request)
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if job is None or build is None:
            return not_found()
        data = {
            **(build_ref(job, build, root) or {}),
            "actions": causes(build.user),
            "artifacts": [],
            "building": False,
            "description": None,
            "displayName": f"#{build.number}",
            "duration": build.duration,
            "estimatedDuration": build.duration,
            "executor": None,
            "fullDisplayName": f"{job.name} #{build.number}",
            "id": str(build.number),
            "keepLog": False,
            "queueId": build.queue_id,
            "result": build.result,
            "timestamp": build.timestamp,
            "builtOn": "",
            "changeSet": {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": None},
            "culprits": [],
        }
    return reply(request, data)


def console_text(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
    if build is None:
        return not_found()
    try:
        text = (app.home.job_dir(name) / "builds" / str(build.number) / "log").read_bytes()
    except OSError:
        text = b""
    return Response(200, text, TEXT_TYPE)


def api_queue_item(app: JenkinsLite, request: Request, auth: Auth, item_id: int) -> Response:
    """A queue item always has left the queue: its build ran inside the POST."""
    root = app.root_url(request)
    with app.lock:
        item = app.queue.get(item_id)
        job = app.jobs.get(item.job) if item else None
        if item is None or job is None:
            return not_found()
        executable = build_ref(job, job.builds.get(item.number), root)
        task = job_summary(job, root)
    return reply(
        request,
        {
            "_class": "hudson.model.Queue$LeftItem",
            "actions": causes(item.user),
            "blocked": False,
            "buildable": False,
            "id": item.id,
            "inQueueSince": item.since,
            "params": "",
            "stuck": False,
            "task": task,
            "url": f"queue/item/{item.id}/",
            "why": None,
            "cancelled": False,
            "executable": executable,
        },
    )
