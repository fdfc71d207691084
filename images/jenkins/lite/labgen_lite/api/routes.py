"""URL -> (handler, permission it needs, whether it takes POST only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from labgen_lite.api import builds, computer, jobs, misc, plugins, queue, reload, system
from labgen_lite.app import JenkinsLite
from labgen_lite.pages import page_route
from labgen_lite.security import Auth, Permission
from labgen_lite.web import Request, Response

# (app, request, auth) -> response; path parameters are bound with functools.partial
Handler = Callable[[JenkinsLite, Request, Auth], Response]


@dataclass(frozen=True)
class Route:
    handler: Handler
    permission: Permission | None  # None: readable by anyone (/login, ...)
    post_only: bool = False


# POST-only actions on the master itself that need Overall/Administer
ADMIN_POSTS: dict[str, Handler] = {
    "reload": reload.post_reload,
    "quietDown": system.post_quiet_down,
    "cancelQuietDown": system.post_cancel_quiet_down,
}


def route(app: JenkinsLite, segments: list[str], method: str) -> Route | None:
    read = Permission.READ
    if (page := page_route(segments, method)) is not None:  # the HTML pages (labgen_lite.pages)
        return Route(*page)
    match segments:
        case []:
            return Route(misc.page_root, read)
        case ["api", "json"]:
            return Route(misc.api_root, read)
        case ["login"]:
            return Route(misc.page_login, None)
        case ["tcpSlaveAgentListener"]:
            return Route(misc.page_agent_listener, None) if app.agent_port > 0 else None
        case ["whoAmI", "api", "json"]:
            return Route(misc.api_whoami, None)
        case ["me", "api", "json"]:
            return Route(misc.api_me, read)
        case ["crumbIssuer", "api", "json" | "xml" as kind]:
            return Route(partial(misc.api_crumb, kind=kind), read)
        case ["createItem"]:
            return Route(jobs.post_create_item, Permission.CREATE, post_only=True)
        case [action] if action in ADMIN_POSTS:
            return Route(ADMIN_POSTS[action], Permission.ADMINISTER, post_only=True)
        case ["queue", "api", "json"]:
            return Route(queue.api_queue, read)
        case ["queue", "item", item_id, "api", "json"] if item_id.isdigit():
            return Route(partial(queue.api_queue_item, item_id=int(item_id)), read)
        case ["queue", "cancelItem"]:
            return Route(queue.post_cancel_item, read, post_only=True)
        case ["computer", "api", "json"]:
            return Route(computer.api_computers, read)
        case ["computer", "(master)", "api", "json"]:
            return Route(computer.api_computer, read)
        case ["pluginManager", "api", "json"]:
            return Route(plugins.api_plugins, read)
        case ["job", name, *rest]:
            return _job_route(name, rest, method)
    return None


def _job_route(name: str, rest: list[str], method: str) -> Route | None:
    read = Permission.READ
    match rest:
        case []:
            return Route(partial(jobs.page_job, name=name), read)
        case ["api", "json"]:
            return Route(partial(jobs.api_job, name=name), read)
        case ["config.xml"] if method == "POST":
            return Route(partial(jobs.update_config, name=name), Permission.CONFIGURE)
        case ["config.xml"]:
            return Route(partial(jobs.job_config, name=name), read)
        case ["build" | "buildWithParameters" as how]:
            post_build = partial(builds.post_build, name=name, with_params=how == "buildWithParameters")
            return Route(post_build, Permission.BUILD, post_only=True)
        case ["doDelete"]:
            return Route(partial(jobs.post_delete, name=name), Permission.DELETE, post_only=True)
        case ["disable" | "enable" as what]:
            enable = partial(jobs.post_enable, name=name, disabled=what == "disable")
            return Route(enable, Permission.CONFIGURE, post_only=True)
        case ["doRename" | "confirmRename"]:
            return Route(partial(jobs.post_rename, name=name), Permission.CONFIGURE, post_only=True)
        case [ref]:
            return Route(partial(builds.page_build, name=name, ref=ref), read)
        case [ref, "api", "json"]:
            return Route(partial(builds.api_build, name=name, ref=ref), read)
        case [ref, "consoleText"]:
            return Route(partial(builds.console_text, name=name, ref=ref), read)
        case [ref, "logText", "progressiveText"]:
            return Route(partial(builds.progressive_text, name=name, ref=ref), read)
        case [ref, "stop"]:
            return Route(partial(builds.post_stop, name=name, ref=ref), Permission.CANCEL, post_only=True)
    return None
