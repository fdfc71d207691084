"""The built-in node's executors and Queue.maintain: items wait out their quiet period, get blocked while a
non-concurrent job builds, become buildable, and start on a free executor (never while quieting down).

Starting a build is Jenkins' order: the item leaves the queue, the job's in-memory nextBuildNumber is taken,
incremented and saved, then builds/N is made; if builds/N already exists (the other master built N), the
executor dies with JENKINS-23152 and the item is left with no build, its number used up.
"""

from __future__ import annotations

import os
import threading
import traceback
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from labgen_lite.home import BuildCollision
from labgen_lite.jobs import Build, Job
from labgen_lite.queue import BLOCKED, BUILDABLE, WAITING, QueueItem, now_ms, time_span
from labgen_lite.runner import BuildPlan, Execution

if TYPE_CHECKING:
    from labgen_lite.app import JenkinsLite

MAINTAIN_SECONDS = 5.0  # Queue.MaintainTask's period; changes wake it at once


class Executors:
    """`count` executors on the built-in node; the caller's lock (the app's) guards everything here."""

    def __init__(self, app: JenkinsLite) -> None:
        self.app = app
        self.busy: dict[int, Execution] = {}  # executor number -> what it runs
        self.wake = threading.Condition(app.lock)
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name="Queue.maintain", daemon=True)
        self._workers: list[threading.Thread] = []

    @property
    def count(self) -> int:
        return self.app.settings.num_executors

    def start(self) -> None:
        self._thread.start()

    def poke(self) -> None:
        """Queue.scheduleMaintenance."""
        with self.wake:
            self.wake.notify_all()

    def running(self, job: str, number: int) -> Execution | None:
        with self.app.lock:
            for execution in self.busy.values():
                if execution.plan.job == job and execution.plan.build.number == number:
                    return execution
        return None

    def stop(self, timeout: float = 5.0) -> None:
        """Shutting down: abort what runs and wait a little for build.xml to be written."""
        with self.wake:
            self._stopping = True
            executions = list(self.busy.values())
            self.wake.notify_all()
        for execution in executions:
            execution.abort(None)
        for worker in list(self._workers):
            worker.join(timeout)

    # ---- Queue.maintain

    def _loop(self) -> None:
        with self.wake:
            while not self._stopping:
                try:
                    pause = self._maintain()
                except Exception:  # keep the queue moving whatever one item did
                    self.app.log(f"Queue maintenance failed: {traceback.format_exc()}", "SEVERE")
                    pause = MAINTAIN_SECONDS
                self.wake.wait(pause)

    def _maintain(self) -> float:
        app, now = self.app, now_ms()
        next_due = now + int(MAINTAIN_SECONDS * 1000)
        for item in list(app.queue.items.values()):
            job = app.jobs.get(item.job)
            if job is None:  # deleted or renamed away on disk: Jenkins cancels it
                app.queue.leave(item, None, cancelled=True)
                continue
            if item.state == WAITING and item.due > now:
                next_due = min(next_due, item.due)
                continue
            if item.state == WAITING:
                item.buildable_since = now
            blocked = _blocked_by(job)
            item.state, item.why_blocked = (BLOCKED, blocked) if blocked else (BUILDABLE, "")
        if not (app.quieting_down or app.reloading.is_set() or self._stopping or app.offline_cause is not None):
            for item in sorted(app.queue.items.values(), key=lambda i: (i.buildable_since, i.id)):
                free = next((n for n in range(self.count) if n not in self.busy), None)
                if free is None:
                    break
                job = app.jobs[item.job]
                if item.state == BUILDABLE and not _blocked_by(job):
                    self._start(item, job, free)
                elif item.state == BUILDABLE:
                    item.state, item.why_blocked = BLOCKED, _blocked_by(job)
        return max(0.01, (next_due - now_ms()) / 1000)

    def _start(self, item: QueueItem, job: Job, executor: int) -> None:
        app = self.app
        app.queue.leave(item, None)
        app.queue_file.push()  # Queue.Saver.onLeft
        number = job.next_build_number
        job.next_build_number += 1
        try:
            app.home.save_next_build_number(job)
            directory = app.home.claim_build_dir(job, number)
        except BuildCollision as collision:
            app.log(
                f"Executor #{executor} for master: Unexpected executor death: "
                f"java.lang.IllegalStateException: {collision}",
                "SEVERE",
            )
            return
        build = Build(number, None, now_ms(), 0, item.id, item.user, item.params, building=True, executor=executor)
        job.builds[number] = build
        item.number = number
        workspace = self._workspace(job)
        plan = BuildPlan(
            job.name,
            build,
            tuple(job.shell_steps()),
            directory,
            workspace,
            self._env(job, build, executor, workspace),
            app.config.shell,
        )
        execution = Execution(plan)
        self.busy[executor] = execution
        self._workers = [w for w in self._workers if w.is_alive()]
        worker = threading.Thread(
            target=self._run, args=(executor, execution), name=f"Executor #{executor}", daemon=True
        )
        self._workers.append(worker)
        worker.start()
        app.log(f"{job.name} #{number} started on executor #{executor} (queue item {item.id}, by {item.user})")

    def _workspace(self, job: Job) -> Path:
        """WorkspaceList: the job's workspace, or job@2, job@3... while another build of it holds one."""
        base = self.app.home.root / "workspace" / job.name
        taken = {e.plan.workspace for e in self.busy.values()}
        suffix = 2
        workspace = base
        while workspace in taken:
            workspace, suffix = base.with_name(f"{job.name}@{suffix}"), suffix + 1
        return workspace

    def _env(self, job: Job, build: Build, executor: int, workspace: Path) -> dict[str, str]:
        """The build's environment: the master's, then what Jenkins sets, then the parameters."""
        app, home = self.app, str(self.app.home.root)
        env = dict(os.environ)
        env.update(
            BUILD_NUMBER=str(build.number),
            BUILD_ID=str(build.number),
            BUILD_DISPLAY_NAME=f"#{build.number}",
            BUILD_TAG=f"jenkins-{job.name}-{build.number}",
            JOB_NAME=job.name,
            JOB_BASE_NAME=job.name,
            EXECUTOR_NUMBER=str(executor),
            NODE_NAME="master",
            NODE_LABELS="master",
            WORKSPACE=str(workspace),
            JENKINS_HOME=home,
            HUDSON_HOME=home,
            JENKINS_SERVER_COOKIE=app.session_hash,
            HUDSON_SERVER_COOKIE=app.session_hash,
        )
        root = app.config.root_url
        if root:
            job_url = f"{root}job/{quote(job.name, safe='')}/"
            env.update(JENKINS_URL=root, HUDSON_URL=root, JOB_URL=job_url, BUILD_URL=f"{job_url}{build.number}/")
        env.update(dict(build.params))
        return env

    def _run(self, executor: int, execution: Execution) -> None:
        app, plan = self.app, execution.plan
        started = now_ms()
        try:
            result = execution.run()
        except OSError as error:  # the build folder went away (job deleted, home unmounted)
            app.log(f"{plan.job} #{plan.build.number}: {error}", "SEVERE")
            result = "FAILURE"
        finish(app, plan, result, now_ms() - started)
        with self.wake:
            self.busy.pop(executor, None)
            self.wake.notify_all()


def finish(app: JenkinsLite, plan: BuildPlan, result: str, duration: int) -> None:
    """Run.execute's end: build.xml is written, then the build is no longer building."""
    build = plan.build
    done = Build(build.number, result, build.timestamp, duration, build.queue_id, build.user, build.params)
    try:
        app.home.write_build_xml(plan.directory, done, app.version, app.node)
    except OSError as error:
        app.log(f"Failed to save build record of {plan.job} #{build.number}: {error}", "SEVERE")
    with app.lock:
        build.result, build.duration, build.building, build.executor = result, duration, False, None
    app.log(f"{plan.job} #{build.number} completed: {result}")


def _blocked_by(job: Job) -> str:
    """Why an item of this job cannot start now ('' if it can): a non-concurrent job already building."""
    if job.concurrent:
        return ""
    running = [b for b in job.builds.values() if b.building]
    if not running:
        return ""
    last = max(running, key=lambda b: b.number)
    estimate = job.estimated_duration()
    eta = f" (ETA: {time_span(max(estimate - (now_ms() - last.timestamp), 0))})" if estimate >= 0 else ""
    return f"Build #{last.number} is already in progress{eta}"
