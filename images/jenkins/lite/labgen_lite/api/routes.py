"""URL -> (handler, permission it needs, whether it takes POST only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from labgen_lite.api import builds, computer, jobs, misc, plugins, queue, reload, system, users, views
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


API = ("json", "python", "xml")  # hudson.model.Api: doJson, doPython, doXml, wherever there is an `api/`


def route(app: JenkinsLite, segments: list[str], method: str) -> Route | None:
    """The API's routes; the HTML pages (the dashboard, /login, a job's and a build's page) are
    labgen_lite.pages'."""
    read = Permission.READ
    if (page := page_route(segments, method)) is not None:  # the HTML pages (labgen_lite.pages)
        return Route(*page)
    match segments:
        case ["api", kind] if kind in API:
            return Route(misc.api_root, read)
        case ["tcpSlaveAgentListener"]:
            return Route(misc.page_agent_listener, None) if app.agent_port > 0 else None
        case ["whoAmI", "api", kind] if kind in API:
            return Route(misc.api_whoami, None)
        case ["me", *rest]:
            return _user_route(None, rest)
        case ["user", name, *rest]:
            return _user_route(name, rest)
        case ["crumbIssuer", "api", kind] if kind in API:
            return Route(misc.api_crumb, read)
        case ["script" | "scriptText"] | ["computer", _, "script" | "scriptText"]:
            return Route(misc.script_console, read)
        case ["createItem"]:
            return Route(jobs.post_create_item, Permission.CREATE, post_only=True)
        case ["createView"]:
            return Route(views.post_create_view, Permission.CREATE, post_only=True)
        case [action] if action in ADMIN_POSTS:
            return Route(ADMIN_POSTS[action], Permission.ADMINISTER, post_only=True)
        case ["queue", "api", kind] if kind in API:
            return Route(queue.api_queue, read)
        case ["queue", "item", item_id, "api", kind] if item_id.isdigit() and kind in API:
            return Route(partial(queue.api_queue_item, item_id=int(item_id)), read)
        case ["queue", "cancelItem"]:
            return Route(queue.post_cancel_item, read, post_only=True)
        case ["computer", "api", kind] if kind in API:
            return Route(computer.api_computers, read)
        case ["computer", "(master)", "api", kind] if kind in API:
            return Route(computer.api_computer, read)
        case ["computer", "(master)"]:
            return Route(computer.page_computer, read)
        case ["computer", "(master)", "toggleOffline" | "changeOfflineCause" as what]:
            offline = partial(computer.post_offline, toggle=what == "toggleOffline")
            return Route(offline, Permission.ADMINISTER, post_only=True)
        case ["pluginManager", "api", kind] if kind in API:
            return Route(plugins.api_plugins, read)
        case ["view", name, *rest]:
            return _view_route(name, rest, method)
        case ["job", name, *rest]:
            return _job_route(name, rest, method)
    return None


def _user_route(name: str | None, rest: list[str]) -> Route | None:
    read = Permission.READ
    match rest:
        case ["api", kind] if kind in API:
            return Route(partial(users.api_user, name=name), read)
        case ["descriptorByName", "jenkins.security.ApiTokenProperty", "generateNewToken"]:
            return Route(partial(users.post_generate_token, name=name), read, post_only=True)
        case ["descriptorByName", "jenkins.security.ApiTokenProperty", "revoke"]:
            return Route(partial(users.post_revoke_token, name=name), read, post_only=True)
    return None


def _view_route(name: str, rest: list[str], method: str) -> Route | None:
    match rest:
        case [] | ["configure"]:
            return Route(partial(views.page_view, name=name), Permission.READ)
        case ["api", kind] if kind in API:
            return Route(partial(views.api_view, name=name), Permission.READ)
        case ["config.xml"]:  # View.doConfigDotXml: READ to read it, CONFIGURE to change it
            permission = Permission.READ if method == "GET" else Permission.CONFIGURE
            return Route(partial(views.view_config, name=name), permission)
        case ["addJobToView" | "removeJobFromView" as what]:
            change = partial(views.post_job_in_view, name=name, add=what == "addJobToView")
            return Route(change, Permission.CONFIGURE, post_only=True)
        case ["doDelete"]:
            return Route(partial(views.post_delete_view, name=name), Permission.DELETE, post_only=True)
    return None


def _job_route(name: str, rest: list[str], method: str) -> Route | None:
    read = Permission.READ
    match rest:
        case ["api", kind] if kind in API:
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
        case ["doWipeOutWorkspace"]:
            return Route(partial(builds.post_wipe_out_workspace, name=name), Permission.BUILD, post_only=True)
        case ["doRename" | "confirmRename"]:
            return Route(partial(jobs.post_rename, name=name), Permission.CONFIGURE, post_only=True)
        case [ref, "api", kind] if kind in API:
            return Route(partial(builds.api_build, name=name, ref=ref), read)
        case [ref, "buildNumber"]:
            return Route(partial(builds.build_number, name=name, ref=ref), read)
        case [ref, "doDelete"]:
            return Route(partial(builds.post_delete_build, name=name, ref=ref), Permission.DELETE, post_only=True)
        case [ref, "submitDescription" | "toggleLogKeep" as what]:
            setting = partial(builds.post_build_setting, name=name, ref=ref, what=what.removeprefix("submit").lower())
            return Route(setting, Permission.CONFIGURE, post_only=True)
        case [ref, "consoleText"]:
            return Route(partial(builds.console_text, name=name, ref=ref), read)
        case [ref, "logText", "progressiveText"]:
            return Route(partial(builds.progressive_text, name=name, ref=ref), read)
        case [ref, "stop"]:
            return Route(partial(builds.post_stop, name=name, ref=ref), Permission.CANCEL, post_only=True)
    return None
