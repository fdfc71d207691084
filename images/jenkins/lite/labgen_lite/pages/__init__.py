"""The pages a person sees in a browser: login and logout, the dashboard, jobs and builds (HTML)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from labgen_lite.app import JenkinsLite
from labgen_lite.jobs import PERMALINKS
from labgen_lite.pages import login, views
from labgen_lite.security import Auth, Permission
from labgen_lite.web import Request, Response

PageHandler = Callable[[JenkinsLite, Request, Auth], Response]
# (handler, permission it needs or None for anyone, POST only): the fields of api.routes.Route
PageRoute = tuple[PageHandler, Permission | None, bool]


def page_route(segments: list[str], method: str) -> PageRoute | None:
    """The HTML pages' URLs; None for the rest (the API's)."""
    read = Permission.READ
    match segments:
        case []:
            return views.dashboard, read, False
        case ["login"]:
            return login.page_login, None, False
        case [login.ERROR_URL]:
            return login.page_login_error, None, False
        case ["logout"]:
            return login.logout, None, False
        case ["job", name]:
            return partial(views.job_page, name=name), read, False
        case ["job", name, "build"] if method in ("GET", "HEAD"):
            return partial(views.parameters_page, name=name), Permission.BUILD, False
        case ["job", name, ref] | ["job", name, ref, "console"] if is_build_ref(ref):
            return partial(views.build_page, name=name, ref=ref), read, False
    return None


def is_build_ref(ref: str) -> bool:
    return ref.isdigit() or ref == "firstBuild" or ref in PERMALINKS
