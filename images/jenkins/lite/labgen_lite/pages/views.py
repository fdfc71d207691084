"""The pages a person works with: the dashboard, a job (its builds, Build Now, the parameters form) and a build
(its facts and its console, which follows the build while it runs). Server-rendered HTML; every user string
goes through `esc`."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from labgen_lite import params
from labgen_lite.app import JenkinsLite
from labgen_lite.jobs import Build, Job
from labgen_lite.pages.layout import RESULT_COLORS, PageContext, ball, esc, job_url, page, post_button
from labgen_lite.queue import LEFT, QueueItem, now_ms, time_span
from labgen_lite.security import Auth, Permission
from labgen_lite.web import Request, Response, html_page, not_found

REFRESH_SECONDS = 3  # while something is queued or building, the dashboard and job page refresh themselves
HISTORY_ROWS = 50


def dashboard(app: JenkinsLite, request: Request, auth: Auth) -> Response:
    ctx = PageContext.of(app, request, auth)
    with app.lock:
        jobs = app.sorted_jobs()
        rows = "".join(_job_row(job, ctx) for job in jobs)
        side = _queue_card(app.queue.ordered()) + _executors_card(app)
        busy = bool(app.executors.busy) or any(not _left(i) for i in app.queue.ordered())
        quieting = app.quieting_down
    if not jobs:
        rows = "<tr><td colspan='6' class='muted'>No jobs yet (create them through the API or labgen).</td></tr>"
    notice = ""
    if quieting:
        notice = "<p class='notice'>Jenkins is going to shut down (quiet down): no new build starts.</p>"
    body = (
        f"<div class='layout'><aside class='side'>{side}</aside><section class='content'>"
        f"<h1>Dashboard <span class='muted'>&middot; all</span></h1>{notice}"
        "<p id='post-problem' class='error' hidden></p>"
        "<table class='grid' id='projectstatus'><thead><tr><th>S</th><th>Name</th><th>Last Success</th>"
        f"<th>Last Failure</th><th>Last Duration</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        "</section></div>"
    )
    return page(app, ctx, "Dashboard", body, refresh=REFRESH_SECONDS if busy else None)


def _job_row(job: Job, ctx: PageContext) -> str:
    url = job_url(job.name)
    success = job.last(lambda b: b.result in ("SUCCESS", "UNSTABLE"))
    failure = job.last(lambda b: b.result == "FAILURE")
    last = job.last(lambda b: not b.building)
    action = "<span class='muted'>disabled</span>"
    if not job.disabled:
        if params.definitions(job.config):
            action = f"<a class='button small' href='{url}build?delay=0sec'>Build with Parameters</a>"
        else:
            action = post_button(f"{url}build?delay=0sec", "Build Now", ctx, "button small", follow=url)
    return (
        f"<tr id='job_{esc(job.name)}' data-job='{esc(job.name)}'><td>{ball(job.color)}</td>"
        f"<td><a class='job-link' href='{url}'>{esc(job.name)}</a></td>"
        f"<td>{_since(job, success)}</td><td>{_since(job, failure)}</td>"
        f"<td>{esc(time_span(last.duration)) if last else 'N/A'}</td><td>{action}</td></tr>"
    )


def _since(job: Job, build: Build | None) -> str:
    if build is None:
        return "N/A"
    ago = time_span(now_ms() - build.timestamp)
    return f"{esc(ago)} - <a href='{job_url(job.name)}{build.number}/'>#{build.number}</a>"


def _left(item: QueueItem) -> bool:
    return item.state == LEFT


def _queue_card(items: Iterable[QueueItem]) -> str:
    waiting = [item for item in items if not _left(item)]
    rows = "".join(
        f"<li><a href='{job_url(item.job)}'>{esc(item.job)}</a> <span class='muted'>"
        f"(waiting {esc(time_span(now_ms() - item.since))})</span></li>"
        for item in waiting
    )
    return (
        f"<div class='card' id='buildQueue'><h2>Build Queue ({len(waiting)})</h2><ul>{rows}</ul>"
        + ("" if waiting else "<p class='muted'>No builds in the queue.</p>")
        + "</div>"
    )


def _executors_card(app: JenkinsLite) -> str:
    rows = []
    for number in range(app.executors.count):
        execution = app.executors.busy.get(number)
        if execution is None:
            rows.append(f"<li>{number + 1} <span class='muted'>Idle</span></li>")
            continue
        plan = execution.plan
        rows.append(
            f"<li>{number + 1} <a href='{job_url(plan.job)}{plan.build.number}/'>"
            f"{esc(plan.job)} #{plan.build.number}</a></li>"
        )
    return (
        f"<div class='card' id='executors'><h2>Build Executor Status</h2><p class='muted'>master "
        f"(on {esc(app.node)})</p><ul class='plain'>{''.join(rows)}</ul></div>"
    )


def job_page(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    ctx = PageContext.of(app, request, auth)
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        queued = [item for item in app.queue.of_job(name) if not _left(item)]
        history = sorted(job.builds.values(), key=lambda b: -b.number)[:HISTORY_ROWS]
        color, disabled, description = job.color, job.disabled, job.description
        defs = params.definitions(job.config)
        links = _permalinks(job)
    url = job_url(name)
    if disabled:
        action = "<p class='notice'>This project is currently disabled.</p>"
    elif defs:
        action = f"<a class='button' id='build-now' href='{url}build?delay=0sec'>Build with Parameters</a>"
    else:
        action = post_button(f"{url}build?delay=0sec", "Build Now", ctx, follow=url)
    pending = "".join(
        f"<tr class='pending'><td>{ball('notbuilt')}</td><td>(pending)</td><td colspan='3' class='muted'>"
        f"{esc(item.why_blocked or 'In the quiet period')}</td></tr>"
        for item in queued
    )
    rows = pending + "".join(_build_row(name, build) for build in history)
    if not rows:
        rows = "<tr><td colspan='5' class='muted'>No builds yet.</td></tr>"
    body = (
        f"<h1>{ball(color, 'big')} Project {esc(name)}</h1>"
        + (f"<p class='description'>{esc(description)}</p>" if description else "")
        + f"<p>{action}</p><p id='post-problem' class='error' hidden></p>"
        + (f"<div class='card'><h2>Permalinks</h2><ul>{links}</ul></div>" if links else "")
        + "<h2>Build History</h2><table class='grid' id='buildHistory'><thead><tr><th>S</th><th>Build</th>"
        + f"<th>Started</th><th>Duration</th><th>Result</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    busy = bool(queued) or any(build.building for build in history)
    return page(app, ctx, name, body, crumbs=[(name, url)], refresh=REFRESH_SECONDS if busy else None)


def _build_row(name: str, build: Build) -> str:
    color = "notbuilt_anime" if build.building else RESULT_COLORS.get(build.result or "", "notbuilt")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(build.timestamp / 1000))
    duration = time_span(now_ms() - build.timestamp) if build.building else time_span(build.duration)
    result = "In progress" if build.building else (build.result or "")
    return (
        f"<tr data-build='{build.number}'><td>{ball(color)}</td>"
        f"<td><a href='{job_url(name)}{build.number}/'>#{build.number}</a></td>"
        f"<td>{esc(started)}</td><td>{esc(duration)}</td><td>{esc(result)}</td></tr>"
    )


PERMALINK_TITLES = {
    "lastBuild": "Last build",
    "lastStableBuild": "Last stable build",
    "lastSuccessfulBuild": "Last successful build",
    "lastFailedBuild": "Last failed build",
    "lastUnsuccessfulBuild": "Last unsuccessful build",
    "lastCompletedBuild": "Last completed build",
}


def _permalinks(job: Job) -> str:
    items = []
    for ref, title in PERMALINK_TITLES.items():
        build = job.find_build(ref)
        if build is not None:
            ago = time_span(now_ms() - build.timestamp)
            items.append(
                f"<li><a href='{job_url(job.name)}{ref}/'>{esc(title)} (#{build.number})</a>, {esc(ago)} ago</li>"
            )
    return "".join(items)


def parameters_page(app: JenkinsLite, request: Request, auth: Auth, name: str) -> Response:
    """GET job/N/build of a parameterized job: ParametersDefinitionProperty's form (index.jelly)."""
    ctx = PageContext.of(app, request, auth)
    with app.lock:
        job = app.jobs.get(name)
        if job is None:
            return not_found()
        defs = params.definitions(job.config)
        config = job.config
    if not defs:  # Jenkins asks for POST on a job without parameters
        return html_page(405, "This URL requires POST", "<h1>This URL requires POST</h1>")
    url = job_url(name)
    fields = "".join(_param_field(d, _choices(config, d.name)) for d in defs)
    body = (
        f"<h1>Project {esc(name)}</h1><p>This build requires parameters:</p>"
        f"<form class='params card' method='post' action='{url}build?delay=0sec' data-follow='{url}'>"
        f"{ctx.crumb_input()}{fields}<p><button type='submit' class='button' id='build-submit'>Build</button></p>"
        "</form><p id='post-problem' class='error' hidden></p>"
    )
    return page(app, ctx, name, body, crumbs=[(name, url), ("Build with Parameters", f"{url}build?delay=0sec")])


def _param_field(d: params.ParamDef, choices: list[str]) -> str:
    kind = d.kind.rsplit(".", 1)[-1]
    attrs = f"name='value' data-param='{esc(d.name)}' id='param-{esc(d.name)}'"
    if kind == "BooleanParameterDefinition":
        checked = " checked" if d.default == "true" else ""
        control = f"<input type='checkbox' {attrs}{checked}>"
    elif kind == "TextParameterDefinition":
        control = f"<textarea rows='4' {attrs}>{esc(d.default)}</textarea>"
    elif kind == "ChoiceParameterDefinition":
        options = "".join(f"<option value='{esc(c)}'>{esc(c)}</option>" for c in choices)
        control = f"<select {attrs}>{options}</select>"
    elif kind == "PasswordParameterDefinition":
        control = f"<input type='password' {attrs} value='{esc(d.default)}'>"
    else:
        control = f"<input type='text' {attrs} value='{esc(d.default)}'>"
    description = f"<div class='desc'>{esc(d.description)}</div>" if d.description else ""
    return f"<label for='param-{esc(d.name)}'>{esc(d.name)}</label>{control}{description}"


def _choices(config: bytes, name: str) -> list[str]:
    try:
        root = ET.fromstring(config)
    except ET.ParseError:
        return []
    for element in root.iter("hudson.model.ChoiceParameterDefinition"):
        if element.findtext("name") == name:
            return [choice.text or "" for choice in element.iter("string")]
    return []


def build_page(app: JenkinsLite, request: Request, auth: Auth, name: str, ref: str) -> Response:
    """A build's status, cause, parameters and console; while it runs the console follows it."""
    ctx = PageContext.of(app, request, auth)
    with app.lock:
        job = app.jobs.get(name)
        build = job.find_build(ref) if job else None
        if job is None or build is None:
            return not_found()
        snapshot = Build(**vars(build))
        secret = {d.name for d in params.definitions(job.config) if d.kind.endswith("PasswordParameterDefinition")}
    try:
        log = (app.home.job_dir(name) / "builds" / str(snapshot.number) / "log").read_bytes()
    except OSError:
        log = b""
    return page(
        app,
        ctx,
        f"{name} #{snapshot.number}",
        _build_body(name, snapshot, log, secret, ctx, auth),
        crumbs=[(name, job_url(name)), (f"#{snapshot.number}", f"{job_url(name)}{snapshot.number}/")],
    )


def _build_body(name: str, build: Build, log: bytes, secret: set[str], ctx: PageContext, auth: Auth) -> str:
    url = f"{job_url(name)}{build.number}/"
    color = "notbuilt_anime" if build.building else RESULT_COLORS.get(build.result or "", "notbuilt")
    state = "In progress" if build.building else (build.result or "")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(build.timestamp / 1000))
    took = time_span(now_ms() - build.timestamp) if build.building else time_span(build.duration)
    parameters = "".join(
        f"<dt>{esc(key)}</dt><dd>{'********' if key in secret else esc(value)}</dd>" for key, value in build.params
    )
    stop = ""
    if build.building and auth.has(Permission.CANCEL):
        stop = post_button(f"{url}stop", "Abort", ctx, "button small danger", follow=url)
    follow = f" data-follow='{url}logText/progressiveText' data-start='{len(log)}'" if build.building else ""
    return (
        f"<h1>{ball(color, 'big')} Build #{build.number} <span class='muted' id='build-state'>{esc(state)}</span> "
        f"{stop}</h1><p id='post-problem' class='error' hidden></p>"
        "<div class='card'><dl class='facts'>"
        f"<dt>Started</dt><dd>{esc(started)}</dd><dt>{'Running for' if build.building else 'Took'}</dt>"
        f"<dd>{esc(took)}</dd>"
        + (f"<dt>Cause</dt><dd>Started by user {esc(build.user)}</dd>" if build.user else "")
        + "</dl></div>"
        + (f"<h2>Parameters</h2><div class='card'><dl class='facts'>{parameters}</dl></div>" if parameters else "")
        + f"<h2>Console Output <a class='muted' href='{url}consoleText'>(plain text)</a></h2>"
        + f"<pre class='console' id='console'{follow}>{esc(log.decode('utf-8', 'replace'))}</pre>"
        + "<p id='follow-problem' class='error' hidden></p>"
    )
