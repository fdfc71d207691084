#!/usr/bin/env python3
"""labgen controller: automatic promotion of a standby Jenkins master behind HAProxy.

A Jenkins master keeps its jobs in memory and reads JENKINS_HOME from disk only at start
and on ``POST /reload``, so a standby on the shared JENKINS_HOME is stale. This controller
makes sure a stale master never serves:

1. Exactly one master serves: the *active*. Every other master (a *standby*) is held in
   ``maint`` in HAProxy, even the ``backup`` one. This is re-asserted on every poll (HAProxy
   may have restarted and re-read its config). The active comes from the state file, else
   it is the first master of LABGEN_MASTERS that HAProxy reports UP (only the very first one
   during LABGEN_ELECT_GRACE_S after the start, so that a fresh lab always starts on it).
2. When HAProxy reports the active DOWN (its status starts with DOWN, or its address no
   longer resolves), the controller fails over to the first standby whose ``GET /login``
   answers 200: old active to ``maint``, ``POST /reload`` on the new one, wait until its
   ``GET /api/json`` answers 200 after the reload (after a 503, or after a quiet period
   when no 503 was seen), ``clear table`` on every stick table that routes to the masters,
   then ``set server <backend>/<new> state ready``, and record the new active in the state
   file. The controller's own probe of the active only makes it poll faster: HAProxy decides.
3. A master that comes back stays in ``maint`` as a standby (no flapping back); it is
   reloaded by rule 2 before it ever serves again.

Usage: ``labgen_controller.py [run]`` (the daemon) or ``labgen_controller.py promote NAME``
(one-shot manual switchover to NAME, exit 0 on success, 1 on failure, 2 on bad usage).
Python 3.11 standard library only.

Environment
-----------
LABGEN_MASTERS               comma list of HAProxy server names, in order of preference (required)
LABGEN_HAPROXY_SOCKET        runtime API unix socket (default /var/run/haproxy/admin.sock)
LABGEN_HAPROXY_ADDR          host:port of a TCP runtime API socket (wins over the unix socket)
LABGEN_HTTP_BACKEND          HAProxy backend of the masters (default jenkins)
LABGEN_MASTER_URL_TEMPLATE   direct URL of a master (default http://{name}:8080)
LABGEN_MASTER_URLS           JSON map name -> URL, overrides the template per master
JENKINS_ADMIN_USER           admin user (default admin)
JENKINS_ADMIN_TOKEN          its API token (basic auth; no crumb needed)
LABGEN_POLL_MS               poll period (default 200)
LABGEN_STATE_FILE            where the active is recorded (default /var/run/haproxy/controller-state.json);
                             ``<state file>.lock`` serialises the daemon and ``promote``
LABGEN_SERVER_STATE_FILE     where ``show servers state`` is saved after every change, for HAProxy's
                             ``server-state-file`` (default /var/run/haproxy/server-state; empty: off)
LABGEN_RELOAD_TIMEOUT_S      how long a reload may take (default 120)
LABGEN_RELOAD_QUIET_S        200s without any 503 for this long after the POST also mean reloaded (default 2)
LABGEN_PROBE_TIMEOUT_S       timeout of the controller's own HTTP probes (default 1)
LABGEN_UP_TIMEOUT_S          how long to wait for HAProxy to report the new active UP (default 10)
LABGEN_ELECT_GRACE_S         with no state file, how long only the first master may become the active;
                             after that, the first master HAProxy reports UP (default 120; 0: at once)

Events
------
One JSON object per line on stdout, each with ``ts`` (wall clock, float seconds since the
epoch) and ``event``. Names and fields are stable (labgen verify parses them):

controller.start  masters, backend, haproxy, state_file, poll_ms, command ("run" or "promote")
controller.stop   reason
active.elect      name, source ("state-file" or "haproxy"): the active the controller enforces
state.assert      set ({server: "ready"|"maint"}), active, cleared (stick tables cleared)
active.suspect    name, detail: the direct probe of the active failed (HAProxy still decides)
active.down       name, status, check_status, since_s (seconds since HAProxy's last status change)
active.back       name, seconds: the active came back before any failover happened
failover.start    from, to, reason ("down" or "promote")
reload.sent       name, status (HTTP status of POST /reload)
reload.done       name, seconds (since reload.sent), saw_503
failover.done     from, to, reason, seconds (since active.down; since failover.start for promote), tables
standby.down      name, detail: a standby does not answer the controller's probe (first seen so, or no more)
standby.back      name: a standby answers again after standby.down or a failover (it stays in maint)
error             what, detail (plus context fields); the same error is logged at most once per 10 s
                  (with ``repeated``: how many were left out). what: usage, haproxy, elect, no-standby,
                  failover, assert, promote, state-file, server-state-file, loop
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import fcntl
import http.client
import io
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

ADMIN_FORCED_MAINT = 0x01  # srv_admin_state bits (HAProxy's SRV_ADMF_*): set by "state maint"
ADMIN_RESOLUTION_MAINT = 0x20  # the server's name no longer resolves
ERROR_REPEAT_S = 10.0

# --------------------------------------------------------------------------- logging

_OUT_LOCK = threading.Lock()
_OUT: TextIO = sys.stdout


def emit(event: str, **fields: Any) -> dict[str, Any]:
    """Write one JSON event line on stdout."""
    record = {"ts": round(time.time(), 6), "event": event, **fields}
    line = json.dumps(record, default=str, separators=(",", ":"))
    with _OUT_LOCK:
        _OUT.write(line + "\n")
        _OUT.flush()
    return record


class ErrorLog:
    """`error` events, each distinct (what, detail) at most once per ERROR_REPEAT_S."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], tuple[float, int]] = {}

    def __call__(self, what: str, detail: object, **fields: Any) -> None:
        key = (what, str(detail))
        now = time.monotonic()
        last, suppressed = self._last.get(key, (-ERROR_REPEAT_S, 0))
        if now - last < ERROR_REPEAT_S:
            self._last[key] = (last, suppressed + 1)
            return
        extra = {"repeated": suppressed} if suppressed else {}
        emit("error", what=what, detail=str(detail), **fields, **extra)
        self._last[key] = (now, 0)


# --------------------------------------------------------------------------- settings


class UsageError(Exception):
    """Bad configuration or command line."""


@dataclass(frozen=True)
class Settings:
    masters: tuple[str, ...]
    haproxy: str | tuple[str, int]  # unix socket path, or (host, port)
    backend: str
    urls: Mapping[str, str]
    admin_user: str
    admin_token: str
    poll_s: float
    state_file: Path
    server_state_file: Path | None
    reload_timeout_s: float
    reload_quiet_s: float
    probe_timeout_s: float
    up_timeout_s: float
    elect_grace_s: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        masters = tuple(name.strip() for name in env.get("LABGEN_MASTERS", "").split(",") if name.strip())
        if len(masters) < 2 or len(set(masters)) != len(masters):
            raise UsageError("LABGEN_MASTERS: expected two or more distinct server names, comma separated")
        return cls(
            masters=masters,
            haproxy=_haproxy_address(env),
            backend=env.get("LABGEN_HTTP_BACKEND") or "jenkins",
            urls=_master_urls(env, masters),
            admin_user=env.get("JENKINS_ADMIN_USER") or "admin",
            admin_token=env.get("JENKINS_ADMIN_TOKEN") or "",
            poll_s=_number(env, "LABGEN_POLL_MS", 200) / 1000.0,
            state_file=Path(env.get("LABGEN_STATE_FILE") or "/var/run/haproxy/controller-state.json"),
            server_state_file=_optional_path(env.get("LABGEN_SERVER_STATE_FILE", "/var/run/haproxy/server-state")),
            reload_timeout_s=_number(env, "LABGEN_RELOAD_TIMEOUT_S", 120),
            reload_quiet_s=_number(env, "LABGEN_RELOAD_QUIET_S", 2),
            probe_timeout_s=_number(env, "LABGEN_PROBE_TIMEOUT_S", 1),
            up_timeout_s=_number(env, "LABGEN_UP_TIMEOUT_S", 10),
            elect_grace_s=_number(env, "LABGEN_ELECT_GRACE_S", 120, allow_zero=True),
        )

    def describe_haproxy(self) -> str:
        return self.haproxy if isinstance(self.haproxy, str) else f"{self.haproxy[0]}:{self.haproxy[1]}"


def _number(env: Mapping[str, str], name: str, default: float, allow_zero: bool = False) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else float(default)
    except ValueError:
        raise UsageError(f"{name}: expected a number, got {raw!r}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise UsageError(f"{name}: expected a positive number, got {raw!r}")
    return value


def _optional_path(raw: str) -> Path | None:
    return Path(raw) if raw.strip() else None


def _haproxy_address(env: Mapping[str, str]) -> str | tuple[str, int]:
    addr = env.get("LABGEN_HAPROXY_ADDR", "").strip()
    if not addr:
        return env.get("LABGEN_HAPROXY_SOCKET") or "/var/run/haproxy/admin.sock"
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit():
        raise UsageError(f"LABGEN_HAPROXY_ADDR: expected host:port, got {addr!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _master_urls(env: Mapping[str, str], masters: Sequence[str]) -> dict[str, str]:
    template = env.get("LABGEN_MASTER_URL_TEMPLATE") or "http://{name}:8080"
    urls = {name: template.format(name=name) for name in masters}
    raw = env.get("LABGEN_MASTER_URLS", "").strip()
    if raw:
        try:
            overrides = json.loads(raw)
        except json.JSONDecodeError as error:
            raise UsageError(f"LABGEN_MASTER_URLS: not JSON: {error}") from None
        if not isinstance(overrides, dict):
            raise UsageError("LABGEN_MASTER_URLS: expected a JSON object name -> URL")
        urls.update({str(name): str(url) for name, url in overrides.items() if name in urls})
    return {name: url.rstrip("/") for name, url in urls.items()}


# --------------------------------------------------------------------------- HAProxy runtime API


class HAProxyError(Exception):
    """The runtime API could not be reached or refused a command."""


class RuntimeAPI:
    """HAProxy's runtime API: one command per connection."""

    def __init__(self, address: str | tuple[str, int], timeout: float = 2.0) -> None:
        self.address = address
        self.timeout = timeout

    def command(self, line: str) -> str:
        family = socket.AF_UNIX if isinstance(self.address, str) else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.address)
                sock.sendall(line.encode() + b"\n")
                return _read_all(sock).decode("utf-8", "replace")
        except OSError as error:
            raise HAProxyError(f"{line!r}: {error}") from None

    def action(self, line: str) -> None:
        """A command that answers nothing when it succeeds."""
        reply = self.command(line).strip()
        if reply:
            raise HAProxyError(f"{line!r}: {reply}")


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_show_stat(text: str) -> list[dict[str, str]]:
    """`show stat` CSV (header `# pxname,svname,...`) -> one dict per row, by header name."""
    body = text.lstrip()
    if not body.startswith("# pxname"):
        raise HAProxyError(f"show stat: unexpected answer {body[:80]!r}")
    return list(csv.DictReader(io.StringIO(body[2:])))


def parse_servers_state(text: str) -> list[dict[str, str]]:
    """`show servers state`: a version line, `# name name ...`, then space-separated rows."""
    lines = [line for line in text.splitlines() if line.strip()]
    headers = next((line[1:].split() for line in lines if line.startswith("#")), None)
    if headers is None:
        raise HAProxyError(f"show servers state: unexpected answer {text[:80]!r}")
    rows = [line.split() for line in lines if not line.startswith("#") and " " in line.strip()]
    return [dict(zip(headers, row, strict=False)) for row in rows]


@dataclass(frozen=True)
class ServerView:
    """One server of the HTTP backend, as HAProxy sees it."""

    name: str
    status: str  # UP, DOWN, MAINT, "DOWN 1/2", "MAINT (resolution)", ...
    check_status: str
    since_s: int  # seconds since the last status change
    admin_state: int

    @property
    def forced_maint(self) -> bool:
        return bool(self.admin_state & ADMIN_FORCED_MAINT)

    @property
    def down(self) -> bool:
        return self.status.startswith("DOWN") or bool(self.admin_state & ADMIN_RESOLUTION_MAINT)

    @property
    def up(self) -> bool:
        return (self.status.startswith("UP") or self.status == "no check") and not self.forced_maint


@dataclass
class HAProxyView:
    """What one poll learnt: the backend's servers and the proxies that route to the masters."""

    servers: dict[str, ServerView]
    proxies: set[str]


class HAProxy:
    """The few runtime API operations the controller needs."""

    def __init__(self, api: RuntimeAPI, backend: str, masters: Sequence[str]) -> None:
        self.api = api
        self.backend = backend
        self.masters = tuple(masters)

    def view(self) -> HAProxyView:
        rows = parse_show_stat(self.api.command("show stat"))
        admin = {
            row.get("srv_name", ""): _int(row.get("srv_admin_state"))
            for row in parse_servers_state(self.api.command(f"show servers state {self.backend}"))
        }
        servers = {}
        proxies = set()
        for row in rows:
            if row.get("svname") in self.masters:
                proxies.add(row.get("pxname", ""))
            if row.get("pxname") == self.backend and row.get("svname") in self.masters:
                name = row["svname"]
                servers[name] = ServerView(
                    name=name,
                    status=row.get("status", ""),
                    check_status=row.get("check_status", ""),
                    since_s=_int(row.get("lastchg")),
                    admin_state=admin.get(name, 0),
                )
        missing = [name for name in self.masters if name not in servers]
        if missing:
            raise HAProxyError(f"backend {self.backend!r} has no server {', '.join(missing)}")
        return HAProxyView(servers, proxies)

    def set_state(self, server: str, state: str) -> None:
        self.api.action(f"set server {self.backend}/{server} state {state}")

    def clear_tables(self, proxies: set[str]) -> list[str]:
        """Clear the stick tables of `proxies` (those that route to the masters)."""
        existing = {
            line.split(":", 1)[1].split(",", 1)[0].strip()
            for line in self.api.command("show table").splitlines()
            if line.startswith("# table:")
        }
        cleared = sorted(existing & (proxies | {self.backend}))
        for table in cleared:
            self.api.action(f"clear table {table}")
        return cleared

    def servers_state(self) -> str:
        return self.api.command("show servers state")


def _int(raw: str | None) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        return 0


# --------------------------------------------------------------------------- Jenkins over HTTP


@dataclass(frozen=True)
class HttpResult:
    status: int | None  # None: no HTTP answer
    detail: str

    @property
    def ok(self) -> bool:
        return self.status == 200


def http_call(url: str, method: str, path: str, timeout: float, auth: tuple[str, str] | None = None) -> HttpResult:
    """One request, no redirects followed, never raises."""
    parts = urlsplit(url)
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(parts.hostname or "localhost", parts.port, timeout=timeout)
    headers = {"Connection": "close"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    try:
        conn.request(method, parts.path.rstrip("/") + path, body=b"" if method == "POST" else None, headers=headers)
        response = conn.getresponse()
        response.read(65536)
        return HttpResult(response.status, f"HTTP {response.status}")
    except (OSError, http.client.HTTPException) as error:
        return HttpResult(None, f"{type(error).__name__}: {error}")
    finally:
        conn.close()


class Jenkins:
    """The masters' own HTTP API, reached directly (not through HAProxy)."""

    def __init__(self, settings: Settings) -> None:
        self.urls = settings.urls
        self.auth = (settings.admin_user, settings.admin_token)
        self.timeout = settings.probe_timeout_s

    def login(self, name: str) -> HttpResult:
        return http_call(self.urls[name], "GET", "/login", self.timeout)

    def reload(self, name: str) -> HttpResult:
        return http_call(self.urls[name], "POST", "/reload", max(self.timeout, 5.0), self.auth)

    def api(self, name: str) -> HttpResult:
        return http_call(self.urls[name], "GET", "/api/json?tree=mode", max(self.timeout, 2.0), self.auth)


@dataclass(frozen=True)
class ReloadOutcome:
    ok: bool
    seconds: float
    saw_503: bool
    detail: str


def wait_reloaded(
    poll: Callable[[], HttpResult],
    *,
    saw_503: bool,
    timeout_s: float,
    quiet_s: float,
    stop: threading.Event,
    interval_s: float = 0.1,
) -> ReloadOutcome:
    """Until `poll` answers 200 after a 503, or only 200s for `quiet_s` when no 503 came."""
    start = time.monotonic()
    last = "no answer yet"
    while not stop.is_set():
        elapsed = time.monotonic() - start
        result = poll()
        last = result.detail
        if result.status == 503:
            saw_503 = True
        elif result.status in (401, 403):
            return ReloadOutcome(False, elapsed, saw_503, f"GET /api/json: {result.detail} (admin credentials?)")
        elif result.ok and (saw_503 or elapsed >= quiet_s):
            return ReloadOutcome(True, time.monotonic() - start, saw_503, result.detail)
        if elapsed >= timeout_s:
            return ReloadOutcome(False, elapsed, saw_503, f"not reloaded after {timeout_s:g} s (last: {last})")
        stop.wait(interval_s)
    return ReloadOutcome(False, time.monotonic() - start, saw_503, "stopped")


# --------------------------------------------------------------------------- direct probes


@dataclass(frozen=True)
class Probe:
    ok: bool
    detail: str
    started: float  # time.monotonic() when the probe began


class Prober:
    """One thread per master: GET /login every poll period; the loop reads the latest result."""

    def __init__(self, jenkins: Jenkins, masters: Sequence[str], period_s: float, stop: threading.Event) -> None:
        self.jenkins = jenkins
        self.period_s = period_s
        self.stop = stop
        self.latest: dict[str, Probe] = {}
        self.threads = [
            threading.Thread(target=self._run, args=(name,), name=f"probe-{name}", daemon=True) for name in masters
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _run(self, name: str) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            result = self.jenkins.login(name)
            self.latest[name] = Probe(result.ok, result.detail, started)
            self.stop.wait(max(0.0, self.period_s - (time.monotonic() - started)))

    def since(self, name: str, moment: float) -> Probe | None:
        """The latest result of a probe that began at or after `moment`."""
        probe = self.latest.get(name)
        return probe if probe is not None and probe.started >= moment else None


# --------------------------------------------------------------------------- state file


def write_atomic(path: Path, data: bytes) -> None:
    """Temporary file beside `path`, fsync, rename over `path`, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_active(path: Path) -> str | None:
    """The active recorded in the state file; None if there is none. Raises ValueError if unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: {error}") from None
    active = data.get("active") if isinstance(data, dict) else None
    return active if isinstance(active, str) else None


def write_active(path: Path, active: str, previous: str | None, how: str) -> None:
    record = {"active": active, "previous": previous, "since": time.time(), "by": how}
    write_atomic(path, (json.dumps(record, indent=2) + "\n").encode())


@contextlib.contextmanager
def state_lock(path: Path, wait_s: float, stop: threading.Event | None = None) -> Iterator[bool]:
    """flock `<state file>.lock`; yields False if it could not be taken within `wait_s`."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as handle:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                    yield False
                    return
                time.sleep(0.05)
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- the controller


@dataclass
class Health:
    """What the controller believes about a standby's direct reachability."""

    ok: bool | None = None  # None: not known yet
    since: float = field(default_factory=time.monotonic)  # ignore probes older than this


class Controller:
    def __init__(self, settings: Settings, stop: threading.Event) -> None:
        self.s = settings
        self.stop = stop
        self.haproxy = HAProxy(RuntimeAPI(settings.haproxy), settings.backend, settings.masters)
        self.jenkins = Jenkins(settings)
        self.error = ErrorLog()
        self.prober = Prober(self.jenkins, settings.masters, settings.poll_s, stop)
        self.active: str | None = None
        self.active_since = time.monotonic()
        self.down_at: float | None = None  # monotonic time of active.down, until a failover is done
        self.retry_at = 0.0  # no new failover attempt before this monotonic time
        self.suspect = False
        self.health = {name: Health() for name in settings.masters}
        self.started = time.monotonic()

    # ---- daemon

    def run(self) -> None:
        self.prober.start()
        while not self.stop.is_set():
            try:
                with state_lock(self.s.state_file, 0.0) as locked:
                    if locked:
                        self.poll()
            except Exception as error:  # the loop must survive anything
                self.error("loop", f"{type(error).__name__}: {error}")
            self.stop.wait(self.s.poll_s / 4 if self.suspect else self.s.poll_s)

    def poll(self) -> None:
        self.adopt_state_file()
        try:
            view = self.haproxy.view()
        except HAProxyError as error:
            self.error("haproxy", error)
            return
        if self.active is None and not self.elect(view):
            return
        assert self.active is not None
        self.track_standbys()
        active = view.servers[self.active]
        if active.down:
            self.on_active_down(view, active)
        else:
            self.on_active_serving(active)
            self.enforce(view)

    def adopt_state_file(self) -> None:
        """Follow the state file when someone else (``promote``) changed it."""
        try:
            recorded = read_active(self.s.state_file)
        except ValueError as error:
            self.error("state-file", error)
            return
        if recorded is None or recorded == self.active:
            return
        if recorded not in self.s.masters:
            self.error("state-file", f"active {recorded!r} is not one of LABGEN_MASTERS; ignored")
            return
        self.set_active(recorded)
        emit("active.elect", name=recorded, source="state-file")

    def elect(self, view: HAProxyView) -> bool:
        """No state file: the first master HAProxy reports UP becomes the active.

        For LABGEN_ELECT_GRACE_S after the start only the first master may be elected, so that a
        lab whose masters start together always begins on the same one.
        """
        electable = self.s.masters
        if time.monotonic() - self.started < self.s.elect_grace_s:
            electable = self.s.masters[:1]
        name = next((m for m in electable if view.servers[m].up), None)
        if name is None:
            waiting = f"no master of {', '.join(electable)} is UP in HAProxy yet; waiting"
            self.error("elect", waiting, statuses={m: view.servers[m].status for m in self.s.masters})
            return False
        self.set_active(name)
        emit("active.elect", name=name, source="haproxy")
        self.save_active(name, None, "elect")
        return True

    def set_active(self, name: str) -> None:
        self.active = name
        self.active_since = time.monotonic()
        self.down_at = None
        self.suspect = False

    def on_active_down(self, view: HAProxyView, active: ServerView) -> None:
        if self.down_at is None:
            self.down_at = time.monotonic()
            emit(
                "active.down",
                name=active.name,
                status=active.status,
                check_status=active.check_status,
                since_s=active.since_s,
            )
        self.enforce(view, include_active=False)
        if time.monotonic() < self.retry_at:
            return
        candidate = self.pick_standby()
        if candidate is None:
            self.error("no-standby", "the active is DOWN and no standby answers GET /login with 200; retrying")
            return
        if not self.switch(active.name, candidate, "down", self.down_at):
            self.retry_at = time.monotonic() + max(1.0, self.s.poll_s)

    def on_active_serving(self, active: ServerView) -> None:
        if self.down_at is not None and active.up:
            emit("active.back", name=active.name, seconds=round(time.monotonic() - self.down_at, 3))
            self.down_at = None
        assert self.active is not None
        probe = self.prober.since(self.active, self.active_since)
        if probe is not None and not probe.ok and not self.suspect:
            emit("active.suspect", name=self.active, detail=probe.detail)
        self.suspect = probe is not None and not probe.ok

    def standbys(self) -> list[str]:
        return [name for name in self.s.masters if name != self.active]

    def track_standbys(self) -> None:
        for name in self.standbys():
            health = self.health[name]
            probe = self.prober.since(name, health.since)
            if probe is None or probe.ok == health.ok:
                continue
            if not probe.ok:
                emit("standby.down", name=name, detail=probe.detail)
            elif health.ok is False:
                emit("standby.back", name=name)
            health.ok = probe.ok

    def pick_standby(self) -> str | None:
        for name in self.standbys():
            if self.jenkins.login(name).ok:
                return name
        return None

    def enforce(self, view: HAProxyView, include_active: bool = True) -> None:
        """Active ready, every standby in maint; a correction also clears the stick tables."""
        changes: dict[str, str] = {}
        for name in self.s.masters:
            server = view.servers[name]
            if name == self.active:
                if include_active and server.forced_maint:
                    changes[name] = "ready"
            elif not server.forced_maint:
                changes[name] = "maint"
        if not changes:
            return
        # Standbys out first, so that no moment has a stale master in rotation.
        try:
            for name, state in sorted(changes.items(), key=lambda item: item[1] != "maint"):
                self.haproxy.set_state(name, state)
            cleared = self.haproxy.clear_tables(view.proxies)
        except HAProxyError as error:
            self.error("assert", error, wanted=changes)
            return
        emit("state.assert", set=changes, active=self.active, cleared=cleared)
        self.save_servers_state()

    # ---- failover (also the one-shot promote)

    def switch(self, old: str | None, new: str, reason: str, started: float | None = None) -> bool:
        """Rule 2: old (and every other standby) out, reload new, clear tables, new in."""
        started = time.monotonic() if started is None else started
        emit("failover.start", **{"from": old, "to": new, "reason": reason})
        try:
            for name in self.s.masters:
                if name != new:
                    self.haproxy.set_state(name, "maint")
            self.haproxy.set_state(new, "maint")
        except HAProxyError as error:
            return self.abort(old, new, f"maint: {error}")
        outcome = self.reload(new)
        if not outcome.ok:
            return self.abort(old, new, f"reload: {outcome.detail}")
        try:
            view = self.haproxy.view()
            tables = self.haproxy.clear_tables(view.proxies)
            self.haproxy.set_state(new, "ready")
        except HAProxyError as error:
            return self.abort(old, new, f"ready: {error}")
        self.set_active(new)
        self.wait_up(new)
        if old is not None:
            self.health[old] = Health(ok=False)
        self.save_active(new, old, reason)
        self.save_servers_state()
        seconds = round(time.monotonic() - started, 3)
        emit("failover.done", **{"from": old, "to": new, "reason": reason, "seconds": seconds, "tables": tables})
        return True

    def reload(self, name: str) -> ReloadOutcome:
        sent = self.jenkins.reload(name)
        emit("reload.sent", name=name, status=sent.status)
        if sent.status is None or (sent.status >= 400 and sent.status != 503):
            return ReloadOutcome(False, 0.0, False, f"POST /reload: {sent.detail}")
        outcome = wait_reloaded(
            lambda: self.jenkins.api(name),
            saw_503=sent.status == 503,
            timeout_s=self.s.reload_timeout_s,
            quiet_s=self.s.reload_quiet_s,
            stop=self.stop,
        )
        if outcome.ok:
            emit("reload.done", name=name, seconds=round(outcome.seconds, 3), saw_503=outcome.saw_503)
        return outcome

    def abort(self, old: str | None, new: str, detail: str) -> bool:
        """A failed switch: the candidate stays a standby, the old active is put back."""
        self.error("failover", detail, **{"from": old, "to": new})
        with contextlib.suppress(HAProxyError):
            self.haproxy.set_state(new, "maint")
            if old is not None:
                self.haproxy.set_state(old, "ready")
        return False

    def wait_up(self, name: str) -> None:
        """HAProxy may keep a server DOWN until its next check: do not mistake that for a failure."""
        deadline = time.monotonic() + self.s.up_timeout_s
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                if self.haproxy.view().servers[name].up:
                    return
            except HAProxyError as error:
                self.error("haproxy", error)
            self.stop.wait(0.05)
        self.error("failover", f"HAProxy does not report {name} UP after {self.s.up_timeout_s:g} s")

    def save_active(self, name: str, previous: str | None, how: str) -> None:
        try:
            write_active(self.s.state_file, name, previous, how)
        except OSError as error:
            self.error("state-file", error)

    def save_servers_state(self) -> None:
        """For HAProxy's `server-state-file`: a restarted HAProxy then starts with the standbys in maint."""
        if self.s.server_state_file is None:
            return
        try:
            write_atomic(self.s.server_state_file, self.haproxy.servers_state().encode())
        except (OSError, HAProxyError) as error:
            self.error("server-state-file", error)

    # ---- manual switchover

    def promote(self, target: str) -> bool:
        with state_lock(self.s.state_file, self.s.reload_timeout_s + 30, self.stop) as locked:
            if not locked:
                self.error("promote", "the state file lock is held by someone else")
                return False
            try:
                current = read_active(self.s.state_file)
                view = self.haproxy.view()
            except (ValueError, HAProxyError) as error:
                self.error("promote", error)
                return False
            if current is None:
                current = next((m for m in self.s.masters if not view.servers[m].forced_maint), None)
            if current == target and not view.servers[target].forced_maint:
                print(f"{target} is already the active master: nothing to do", file=sys.stderr)
                return True
            probe = self.jenkins.login(target)
            if not probe.ok:
                self.error("promote", f"{target} does not answer GET /login with 200: {probe.detail}")
                return False
            return self.switch(current, target, "promote")


# --------------------------------------------------------------------------- entry point


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="labgen_controller.py", description="Keep one fresh Jenkins master in HAProxy's rotation."
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="the daemon (default)")
    promote = commands.add_parser("promote", help="reload NAME and switch the traffic to it, once")
    promote.add_argument("name")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    command = args.command or "run"
    try:
        settings = Settings.from_env(os.environ if env is None else env)
        if command == "promote" and args.name not in settings.masters:
            raise UsageError(f"unknown master {args.name!r}; expected one of {', '.join(settings.masters)}")
    except UsageError as error:
        emit("error", what="usage", detail=str(error))
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emit(
        "controller.start",
        masters=list(settings.masters),
        backend=settings.backend,
        haproxy=settings.describe_haproxy(),
        state_file=str(settings.state_file),
        poll_ms=round(settings.poll_s * 1000),
        command=command,
    )
    controller = Controller(settings, stop)
    if command == "promote":
        return 0 if controller.promote(args.name) else 1
    controller.run()
    emit("controller.stop", reason="signal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
