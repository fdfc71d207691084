"""Sessions and crumbs across a fault: Jenkins keeps HTTP sessions, and the crumbs bound to them
(DefaultCrumbIssuer with a session), in each master's memory, so a client that logged in with a password
on the old active holds a crumb the new active refuses. Before the fault `log_in` makes a few such
clients (a session cookie and its crumb each); after it `check_after` sends each one crumb-protected POST
and counts who kept its session. API-token clients need no crumb and are not counted here."""

from __future__ import annotations

import json
from dataclasses import dataclass

from labgen.generate import secrets as secret_keys
from labgen.lab.handle import LabHandle
from labgen.wire import http

CRUMB_PATH = "/crumbIssuer/api/json"
# A POST every Jenkins refuses after its crumb check, with no effect: the crumb filter runs before the
# URL is resolved, so 404 means "crumb accepted", 403 "No valid crumb was included in the request".
PROBE_PATH = "/job/labgen-crumb-probe-no-such-job/doDelete"
NO_CRUMB = "No valid crumb"


@dataclass(frozen=True)
class CrumbClient:
    cookie: str  # "JSESSIONID.xxxx=node0...": the session the crumb is bound to
    field: str
    crumb: str


@dataclass(frozen=True)
class SessionsResult:
    clients: int  # password clients holding a session and a crumb before the fault
    kept: int  # whose crumb the lab still accepted after it
    lost: int  # refused: 403 "No valid crumb"
    failed: int  # no answer, or another error

    @property
    def line(self) -> str:
        return (
            f"sessions and crumbs lost: {self.lost} of {self.clients} password clients "
            f"({self.kept} kept, {self.failed} without an answer); API-token clients need no crumb"
        )


def _address(handle: LabHandle) -> tuple[str, int]:
    return handle.topology.front_host, handle.topology.front_ports["http"]


def _password(handle: LabHandle) -> tuple[str, str]:
    return handle.secrets.get(secret_keys.ADMIN_USER, ""), handle.secrets.get(secret_keys.ADMIN_PASSWORD, "")


def log_in(handle: LabHandle, count: int = 3, timeout: float = 5.0) -> list[CrumbClient]:
    """`count` password clients, each with its own session cookie and crumb (fewer if some got none)."""
    host, port = _address(handle)
    clients = []
    for _ in range(count):
        answer = http.request(host, port, "GET", CRUMB_PATH, auth=_password(handle), timeout=timeout)
        cookie = answer.headers.get("set-cookie", "").split(";", 1)[0]
        if answer.status != 200 or not cookie:
            continue
        data = json.loads(answer.body)
        clients.append(CrumbClient(cookie, str(data["crumbRequestField"]), str(data["crumb"])))
    return clients


def check_after(handle: LabHandle, clients: list[CrumbClient], timeout: float = 10.0) -> SessionsResult:
    """One crumb-protected POST per client, with its old cookie and crumb."""
    host, port = _address(handle)
    kept = lost = failed = 0
    for client in clients:
        headers = {"Cookie": client.cookie, client.field: client.crumb}
        answer = http.request(host, port, "POST", PROBE_PATH, auth=_password(handle), headers=headers, timeout=timeout)
        if answer.status == 403 and NO_CRUMB.encode() in answer.body:
            lost += 1
        elif answer.status in (200, 302, 404):
            kept += 1
        else:
            failed += 1
    return SessionsResult(len(clients), kept, lost, failed)
