"""The promoter (Lua inside HAProxy) on the host, no Docker: Debian's HAProxy, two jenkins-lite masters.

HAProxy runs the lab's own `ha` configuration (rendered by labgen, with addresses, ports and the
runtime socket moved to loopback, the privileged bits removed and `lua-load` pointed at a copy of
images/haproxy/promoter.lua and its modules, with names.lua rendered as `labgen build` does);
both masters share one temporary JENKINS_HOME, like the lab's NFS export. The promoter's event
lines are read back from HAProxy's log.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from labgen.generate.render import render_files
from labgen.model import names
from labgen.model.lua import LUA_NAMES_FILE, names_lua
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from labgen.wire.net import listen_port

ROOT = Path(__file__).resolve().parents[2]
PROMOTER_DIR = ROOT / "images" / "haproxy"
PROMOTER_MODULES = "labgen"  # images/haproxy/labgen/*.lua: `require "labgen.x"`
JENKINS_LITE = ROOT / "images" / "jenkins" / "lite" / "labgen_lite"  # run as python3 -m labgen_lite
HAPROXY = os.environ.get("LABGEN_TEST_HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"  # e.g. a 2.0 build
MASTERS = ("jenkins01", "jenkins02")
ADMIN = ("admin", "admin-password")
TOKEN = "11aa22bb33cc44dd55ee66ff77889900"
STATS = ("stats", "stats-password")
RELOAD_SECONDS = 1.0
FREESTYLE = b"<?xml version='1.1' encoding='UTF-8'?><project><builders/></project>"


def _series() -> str:
    """The HAProxy version to render the config for: 2.0.8 for a 2.0 binary, else 2.6.12."""
    out = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True, check=False).stdout
    return "2.0.8" if re.search(r"version 2\.0\.", out) else "2.6.12"


def _has_lua() -> bool:
    if not os.path.exists(HAPROXY):
        return False
    return "+LUA" in subprocess.run([HAPROXY, "-vv"], capture_output=True, text=True, check=False).stdout


pytestmark = [
    pytest.mark.skipif(not _has_lua(), reason="needs HAProxy with Lua on the host (apt-get install haproxy)"),
    pytest.mark.skipif(not JENKINS_LITE.is_dir(), reason="needs images/jenkins/lite/labgen_lite/"),
]


# --------------------------------------------------------------------------- helpers


def wait_for(what: str, check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException, ValueError, KeyError):
            last = check()
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


@dataclass
class Reply:
    at: float  # time.monotonic()
    status: int
    node: str | None
    served_by: str | None
    flavour: str | None
    held_ms: int | None  # how long HAProxy held the request (names.HELD_HEADER)
    body: bytes

    def jobs(self) -> set[str]:
        return {job["name"] for job in json.loads(self.body).get("jobs", [])}


def request(
    port: int, method: str = "GET", path: str = "/api/json", body: bytes | None = None, timeout: float = 10
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)  # held requests take longer
    token = base64.b64encode(f"{ADMIN[0]}:{TOKEN}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/xml"}
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return Reply(
            time.monotonic(),
            response.status,
            response.getheader(names.NODE_HEADER),
            response.getheader(names.SERVED_BY_HEADER),
            response.getheader(names.FLAVOUR_HEADER),
            int(response.getheader(names.HELD_HEADER) or -1),
            response.read(),
        )
    finally:
        conn.close()


def runtime(sock_path: Path, command: str) -> str:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(3)
        sock.connect(str(sock_path))
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def promoter_folder(target: Path) -> Path:
    """promoter.lua and its modules as HAProxy's image holds them (names.lua rendered from the
    model, as `labgen build` puts it into the build context); the path of promoter.lua."""
    target.mkdir()
    shutil.copy(PROMOTER_DIR / "promoter.lua", target / "promoter.lua")
    shutil.copytree(PROMOTER_DIR / PROMOTER_MODULES, target / PROMOTER_MODULES)
    (target / LUA_NAMES_FILE).write_text(names_lua())
    return target / "promoter.lua"


def haproxy_config(
    sock: Path,
    ports: dict[int, int],
    masters: dict[str, tuple[int, int]],
    hold: int,
    promoter: Path,
    haproxy_spec: dict[str, Any] | None = None,
    decision: int | None = None,
    peers: dict[str, int] | None = None,
    hosts: dict[str, str] | None = None,
) -> str:
    """The lab's `ha` haproxy.cfg, moved to loopback and made runnable without root. `peers`: the
    decision's peers section (peer name -> its port on loopback; default: the one HAProxy's)."""
    lab = LabSpec.model_validate({"haproxy": {"version": _series(), **(haproxy_spec or {})}})
    text = render_files(Topology.resolve(lab))["haproxy/haproxy.cfg"]
    peer_lines = "".join(f"  peer {name} 127.0.0.1:{port}\n" for name, port in (peers or {}).items())
    text, count = re.subn(r"(?m)^  peer \S+ \S+\n", lambda _m: "", text)
    assert count >= 1, "the rendered haproxy.cfg changed: no peer line in it"
    text = re.sub(rf"(?m)^peers {names.PEERS_SECTION}\n", lambda m: m.group(0) + peer_lines, text)
    text = re.sub(r"(?ms)^resolvers \S+\n.*?(?=^\S|\Z)", "", text)  # the resolvers section
    text = re.sub(r"(?m)^\s*(uid|gid|chroot)\s.*\n", "", text)  # not the userlist's `user` line
    text = text.replace(" resolvers docker", "")
    # the home check agent (issue 12) runs in the master containers only: not here
    text = re.sub(r"(?m)^\s*setenv LABGEN_HOMECHECK_PORT .*\n", "", text)
    text = re.sub(r" agent-check agent-port \d+( agent-inter \S+)?", "", text)
    substitutions = [("/var/run/haproxy/admin.sock", str(sock)), (names.PROMOTER_LUA, str(promoter))]
    substitutions += [(f"bind *:{public}\n", f"bind 127.0.0.1:{port}\n") for public, port in ports.items()]
    substitutions += [(f"127.0.0.1:{names.HOLD_PORT}", f"127.0.0.1:{hold}")]
    decision = decision or listen_port()
    substitutions += [
        (f"bind 127.0.0.1:{names.DECISION_PORT}\n", f"bind 127.0.0.1:{decision}\n"),
        (f"setenv {names.DECISION_PORT_ENV} {names.DECISION_PORT}\n", f"setenv {names.DECISION_PORT_ENV} {decision}\n"),
    ]
    for name, (http_port, agent_port) in masters.items():
        host = (hosts or {}).get(name, "127.0.0.1")  # a pair's test: one loopback address per master
        substitutions += [
            (f" {name}:8080 ", f" {host}:{http_port} "),
            (f" {name}:8181 ", f" {host}:{agent_port} "),
        ]
    for old, new in substitutions:
        assert old in text, f"the rendered haproxy.cfg changed: no {old.strip()!r} in it"
        text = text.replace(old, new)
    return text


class Process:
    """A child process in its own session, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(5)

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(signum)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL to its process group; returns the exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own group: HAProxy's workers
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(5)
        return self.proc.returncode


EVENT = re.compile(r"labgen-promoter: (\S+)(.*)$")


@dataclass
class HostLab:
    tmp: Path
    front: int = field(default_factory=listen_port)
    stats: int = field(default_factory=listen_port)
    agent: int = field(default_factory=listen_port)
    hold: int = field(default_factory=listen_port)
    ports: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {m: (listen_port(), listen_port()) for m in MASTERS}
    )
    procs: list[Process] = field(default_factory=list)
    masters: dict[str, Process] = field(default_factory=dict)
    haproxy: Process | None = None
    master_env: dict[str, str] = field(default_factory=dict)  # extra environment of every master
    env_of: dict[str, dict[str, str]] = field(default_factory=dict)  # extra environment of one master
    haproxy_spec: dict[str, Any] = field(default_factory=dict)  # the spec's haproxy section
    haproxy_env: dict[str, str] = field(default_factory=dict)  # extra environment of HAProxy
    decision: int = field(default_factory=listen_port)  # the decision's recording listener
    peer_name: str = names.HAPROXY  # this HAProxy's name in the decision's peers section (haproxy -L)
    peers: dict[str, int] = field(default_factory=dict)  # the peers section: name -> port (default: one)
    hosts: dict[str, str] = field(default_factory=dict)  # master -> its loopback address (default 127.0.0.1)

    def __post_init__(self) -> None:
        self.tmp.mkdir(exist_ok=True)
        self.peers = self.peers or {self.peer_name: listen_port()}
        self.home = self.tmp / "jenkins_home"
        self.home.mkdir()
        self.sock = self.tmp / "admin.sock"
        self.haproxy_log = self.tmp / "haproxy.log"
        ports = {80: self.front, 8001: self.stats, 8181: self.agent}
        promoter = promoter_folder(self.tmp / "promoter")
        self.config = haproxy_config(
            self.sock, ports, self.ports, self.hold, promoter, self.haproxy_spec, self.decision, self.peers, self.hosts
        )
        self.config_file = self.tmp / "haproxy.cfg"
        self.config_file.write_text(self.config)

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1"}
        proc = Process(name, argv, {**base, **env}, self.tmp / f"{name}.log").start()
        self.procs.append(proc)
        return proc

    def start_master(self, name: str) -> Process:
        http_port, agent_port = self.ports[name]
        env = {
            "JENKINS_HOME": str(self.home),
            "JENKINS_HTTP_PORT": str(http_port),
            "JENKINS_SLAVE_AGENT_PORT": str(agent_port),
            "JENKINS_ADMIN_USER": ADMIN[0],
            "JENKINS_ADMIN_PASSWORD": ADMIN[1],
            "JENKINS_ADMIN_TOKEN": TOKEN,
            "JENKINS_NODE_NAME": name,
            "JENKINS_RELOAD_SECONDS": str(RELOAD_SECONDS),
            **self.master_env,
            **self.env_of.get(name, {}),
        }
        env["PYTHONPATH"] = str(JENKINS_LITE.parent)
        self.masters[name] = self._spawn(name, [sys.executable, "-m", "labgen_lite"], env)
        wait_for(f"{name} /login", lambda: request(http_port, path="/login").status == 200)
        return self.masters[name]

    def start_haproxy(self, wait_active: str | None = "jenkins01") -> Process:
        env = {
            "LABGEN_STATS_USER": STATS[0],
            "LABGEN_STATS_PASSWORD": STATS[1],
            "JENKINS_ADMIN_USER": ADMIN[0],
            "JENKINS_ADMIN_TOKEN": TOKEN,
            "LABGEN_ELECT_GRACE_MS": "3000",
            **self.haproxy_env,
        }
        argv = [HAPROXY, "-W", "-db", "-L", self.peer_name, "-f", str(self.config_file)]
        self.haproxy = self._spawn("haproxy", argv, env)
        self.wait_started(self.haproxy, "HAProxy's runtime socket", lambda: "pxname" in runtime(self.sock, "show stat"))
        if wait_active:
            wait_for(f"{wait_active} UP", lambda: self.status(wait_active).startswith("UP"), timeout=20)
        return self.haproxy

    def wait_started(self, proc: Process, what: str, check: Callable[[], Any], timeout: float = 20.0) -> None:
        """wait_for(what), failing at once if `proc` exits; either failure carries the tail of its log."""

        def started() -> Any:
            if not proc.running:
                raise AssertionError(f"{proc.name} exited before {what} answered")
            return check()

        try:
            wait_for(what, started, timeout=timeout)
        except AssertionError as e:
            tail = proc.log.read_text(errors="replace")[-3000:] if proc.log.exists() else "(no log)"
            raise AssertionError(f"{e}\n--- {proc.log}\n{tail}") from None

    def kill_into_a_promotion(self) -> int:
        """Both masters and HAProxy started, jenkins01 killed: returns once jenkins02's promotion began,
        with the log mark from before the kill."""
        for name in MASTERS:
            self.start_master(name)
        self.start_haproxy()
        mark = self.log_mark()
        self.masters["jenkins01"].kill()
        self.wait_event("promote.start", after=mark, timeout=10, new="jenkins02")
        return mark

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    # ---- observations

    def stat(self) -> dict[tuple[str, str], dict[str, str]]:
        text = runtime(self.sock, "show stat").lstrip("# ")
        return {(row["pxname"], row["svname"]): row for row in csv.DictReader(io.StringIO(text))}

    def status(self, server: str, proxy: str = "jenkins") -> str:
        return self.stat()[(proxy, server)]["status"]

    def events(self, kind: str | None = None, after: int = 0) -> list[dict[str, str]]:
        """The promoter's log lines, from line `after` of HAProxy's log on."""
        found = []
        lines = self.haproxy_log.read_text(errors="replace").splitlines() if self.haproxy_log.exists() else []
        for number, line in enumerate(lines):
            match = EVENT.search(line)
            if number >= after and match and (kind is None or match.group(1) == kind):
                fields = dict(item.split("=", 1) for item in match.group(2).split() if "=" in item)
                found.append({"event": match.group(1), "line": str(number), **fields})
        return found

    def log_mark(self) -> int:
        return len(self.haproxy_log.read_text(errors="replace").splitlines()) if self.haproxy_log.exists() else 0

    def wait_event(self, kind: str, after: int = 0, timeout: float = 15.0, **match: str) -> dict[str, str]:
        def check() -> dict[str, str] | None:
            return next((e for e in self.events(kind, after) if all(e.get(k) == v for k, v in match.items())), None)

        found: dict[str, str] = wait_for(f"promoter event {kind} {match}", check, timeout)
        return found

    def through_haproxy(
        self, method: str = "GET", path: str = "/api/json", body: bytes | None = None, timeout: float = 10
    ) -> Reply:
        return request(self.front, method, path, body, timeout)

    def create_job(self, name: str) -> None:
        reply = self.through_haproxy("POST", f"/createItem?name={name}", FREESTYLE)
        assert reply.status == 200, reply

    def promoter(self, method: str, path: str) -> tuple[int, dict[str, Any]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.stats, timeout=60)
        token = base64.b64encode(f"{STATS[0]}:{STATS[1]}".encode()).decode()
        try:
            conn.request(method, path, headers={"Authorization": f"Basic {token}"})
            response = conn.getresponse()
            return response.status, json.loads(response.read())
        finally:
            conn.close()


class Watcher:
    """Reads (every 10 ms) and writes (a new job every 100 ms) through HAProxy; keeps every reply."""

    def __init__(self, lab: HostLab, timeout: float = 10) -> None:
        self.lab = lab
        self.timeout = timeout  # of each request: a held one takes as long as the promotion
        self.replies: list[Reply] = []
        self.writes: dict[str, tuple[float, int]] = {}  # job -> (sent at, status; 0: no answer)
        self.held: list[int] = []  # of the writes, ms
        self.failures = 0
        self.errors: list[str] = []  # the reads that raised, and why
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=fn, daemon=True) for fn in (self._read, self._write)]

    def _read(self) -> None:
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                self.replies.append(self.lab.through_haproxy(path="/api/json?tree=jobs[name]", timeout=self.timeout))
            except (OSError, http.client.HTTPException) as exc:
                self.failures += 1
                self.errors.append(f"GET sent at {sent:.3f}: {exc!r}")
            self._stop.wait(0.01)

    def _write(self) -> None:
        while not self._stop.wait(0.1):
            job, sent = f"w-{uuid.uuid4().hex[:8]}", time.monotonic()
            try:
                reply = self.lab.through_haproxy("POST", f"/createItem?name={job}", FREESTYLE, self.timeout)
                self.writes[job] = (sent, reply.status)
                self.held.append(reply.held_ms or 0)
            except (OSError, http.client.HTTPException):
                self.writes[job] = (sent, 0)

    def failed(self, in_flight_at: float | None = None) -> list[str]:
        """Failed requests. A write sent before `in_flight_at` may end unknown: no answer, or the 502
        HAProxy gives when the promoter fences a frozen master's sessions (it may still apply it)."""
        bad = [f"GET {r.status}" for r in self.replies if r.status != 200]
        for job, (sent, status) in self.writes.items():
            unknown = status in (0, 502) and in_flight_at is not None and sent < in_flight_at
            if status != 200 and not unknown:
                bad.append(f"POST {job} {status}")
        return bad

    def __enter__(self) -> Watcher:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(15)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[HostLab]:
    host_lab = HostLab(tmp_path)
    try:
        for name in MASTERS:
            host_lab.start_master(name)
        host_lab.start_haproxy()
        yield host_lab
    finally:
        host_lab.stop_all()


def served_by(lab: HostLab, count: int = 10) -> set[str | None]:
    return {lab.through_haproxy().node for _ in range(count)}


def assert_consistent(lab: HostLab, watcher: Watcher, jobs: set[str], in_flight_at: float | None = None) -> None:
    """No failed request, every acknowledged write (and `jobs`) visible through HAProxy."""
    failed = watcher.failed(in_flight_at)
    assert not failed, f"{len(failed)} failed requests: {failed[:10]}"
    assert watcher.failures == 0, watcher.errors
    acknowledged = {job for job, (_sent, status) in watcher.writes.items() if status == 200}
    assert (acknowledged | jobs) <= lab.through_haproxy().jobs()


# --------------------------------------------------------------------------- tests


def test_starts_with_the_first_master_reloaded_and_the_others_in_maint(lab: HostLab) -> None:
    lab.wait_event("promote.done", new="jenkins01", reason="elect")
    assert served_by(lab) == {"jenkins01"}
    assert lab.through_haproxy().flavour == "lite"  # lite always says what it is
    assert lab.status("jenkins02") == "MAINT"
    assert lab.status("jenkins02", names.WRITE_BACKEND).startswith("MAINT")
    assert lab.status("jenkins02", names.AGENT_PROXY).startswith("MAINT")
    code, state = lab.promoter("GET", names.PROMOTER_STATE_PATH)
    assert code == 200 and state["active"] == "jenkins01" and state["phase"] == "serving"
    assert not lab.events("error")


@pytest.mark.parametrize("action", ["kill", "pause"])
def test_failover_without_a_failed_request(lab: HostLab, action: str) -> None:
    job = f"p-{uuid.uuid4().hex[:8]}"
    lab.create_job(job)
    assert job not in request(lab.ports["jenkins02"][0]).jobs(), "jenkins02 should be stale before the failover"
    mark = lab.log_mark()
    with Watcher(lab) as watcher:
        time.sleep(0.5)
        fault_at = time.monotonic()
        if action == "kill":
            lab.masters["jenkins01"].kill()
        else:
            lab.masters["jenkins01"].signal(signal.SIGSTOP)
        lab.wait_event("promote.done", after=mark, timeout=20, new="jenkins02")
        promoted_at = time.monotonic()
        wait_for("answers from jenkins02", lambda: sum(r.node == "jenkins02" for r in watcher.replies) >= 20)
    after = [r for r in watcher.replies if r.at >= fault_at]
    slowest = max(r.at - fault_at for r in after if r.node == "jenkins02")
    print(f"\n{action}: {len(after)} reads and {len(watcher.writes)} writes, none failed; slowest {slowest:.2f} s")
    # A write sent to a paused master before HAProxy saw it down gets no answer: unknown, since the
    # master may still apply it when it wakes up. Reads are retried; no request fails.
    assert_consistent(lab, watcher, {job}, promoted_at if action == "pause" else None)
    assert not [r for r in watcher.replies if r.node == "jenkins02" and job not in r.jobs()], "stale answers"
    assert lab.status("jenkins01") == "MAINT"  # the old active is a standby now

    # the old active comes back: a standby in MAINT, no flapping back
    if action == "kill":
        lab.start_master("jenkins01")
    else:
        lab.masters["jenkins01"].signal(signal.SIGCONT)
    time.sleep(1.5)
    assert lab.status("jenkins01") == "MAINT"
    assert served_by(lab, 20) == {"jenkins02"}
    assert not lab.events("error")


def test_switchover_without_a_failed_request(lab: HostLab) -> None:
    job = f"p-{uuid.uuid4().hex[:8]}"
    lab.create_job(job)
    with Watcher(lab) as watcher:
        time.sleep(0.5)
        started = time.monotonic()
        code, answer = lab.promoter("POST", names.PROMOTER_SWITCHOVER_PATH + "?to=jenkins02")
        took = time.monotonic() - started
        time.sleep(0.5)
    print(f"\nswitchover: {took:.2f} s; {answer['message']}")
    assert code == 200 and answer["ok"], answer
    assert answer["state"]["active"] == "jenkins02"
    assert took < 5
    assert_consistent(lab, watcher, {job})
    assert served_by(lab) == {"jenkins02"}
    assert lab.status("jenkins01") == "MAINT"

    # refused, nothing changed: the target does not answer
    lab.masters["jenkins01"].kill()
    code, answer = lab.promoter("POST", names.PROMOTER_SWITCHOVER_PATH + "?to=jenkins01")
    assert code == 409 and not answer["ok"] and "GET /login" in answer["message"]
    code, answer = lab.promoter("POST", names.PROMOTER_SWITCHOVER_PATH + "?to=nobody")
    assert code == 400
    assert served_by(lab) == {"jenkins02"}


def test_a_spurious_down_right_after_a_switchover_does_not_send_traffic_back(lab: HostLab) -> None:
    # what a burst of released requests did at 100 requests/s: one failed connect marked the new
    # active DOWN (observe layer4, error-limit 1) and the promoter failed back to the old active
    code, answer = lab.promoter("POST", names.PROMOTER_SWITCHOVER_PATH + "?to=jenkins02")
    assert code == 200 and answer["state"]["active"] == "jenkins02", answer
    promotions = answer["state"]["promotions"]
    mark = lab.log_mark()
    runtime(lab.sock, "set server jenkins/jenkins02 health down")
    event = lab.wait_event("active.settled", mark, name="jenkins02")
    assert event["status"].startswith("DOWN")
    wait_for("jenkins02 UP again", lambda: lab.status("jenkins02").startswith("UP"))
    code, state = lab.promoter("GET", names.PROMOTER_STATE_PATH)
    assert state["active"] == "jenkins02" and state["promotions"] == promotions, state
    assert served_by(lab) == {"jenkins02"}
    assert lab.status("jenkins01") == "MAINT"


def test_haproxy_killed_mid_promotion_converges(lab: HostLab) -> None:
    job = f"p-{uuid.uuid4().hex[:8]}"
    lab.create_job(job)
    mark = lab.log_mark()
    lab.masters["jenkins01"].kill()
    lab.wait_event("promote.start", after=mark, new="jenkins02")
    assert lab.haproxy is not None
    lab.haproxy.kill()  # in the middle of the promotion: jenkins02 is reloading or about to
    lab.start_master("jenkins01")  # the old active is back, stale-free but not the one that was chosen
    second = f"p-{uuid.uuid4().hex[:8]}"
    lab.start_haproxy(wait_active=None)
    wait_for("a master UP", lambda: any(lab.status(m).startswith("UP") for m in MASTERS), timeout=30)
    active = next(m for m in MASTERS if lab.status(m).startswith("UP"))
    assert [m for m in MASTERS if m != active and lab.status(m) == "MAINT"]
    lab.create_job(second)
    assert {job, second} <= lab.through_haproxy().jobs()
    assert served_by(lab) == {active}


# --------------------------------------------------------------------------- issue 11: collisions and builds


def shell_job(command: str, parameter: str | None = None) -> bytes:
    """A freestyle job with one Shell step (and one String parameter)."""
    props = ""
    if parameter:
        props = (
            "<properties><hudson.model.ParametersDefinitionProperty><parameterDefinitions>"
            f"<hudson.model.StringParameterDefinition><name>{parameter}</name><defaultValue>d</defaultValue>"
            "</hudson.model.StringParameterDefinition></parameterDefinitions>"
            "</hudson.model.ParametersDefinitionProperty></properties>"
        )
    return (
        f"<?xml version='1.1' encoding='UTF-8'?><project>{props}<builders><hudson.tasks.Shell>"
        f"<command>{command}</command></hudson.tasks.Shell></builders></project>"
    ).encode()


def queue_of(port: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = json.loads(request(port, path="/queue/api/json").body)["items"]
    return items


def running_on(port: int) -> list[str]:
    data = json.loads(request(port, path="/computer/api/json?depth=1").body)
    return [
        e["currentExecutable"]["url"] for c in data["computer"] for e in c["executors"] if e.get("currentExecutable")
    ]


def test_collisions_are_answered_without_a_failover(tmp_path: Path) -> None:
    """DoubleLaunchChecker every ~1 s on both masters: the promoter posts /ignore, no failover, no outage."""
    host_lab = HostLab(tmp_path, master_env={"JENKINS_OWNER_CHECK_SECONDS": "1"})
    try:
        for name in MASTERS:
            host_lab.start_master(name)
        host_lab.start_haproxy()
        with Watcher(host_lab) as watcher:
            ignored = wait_for(
                "both masters' collisions answered",
                lambda: {e["name"] for e in host_lab.events("collision.ignored") if e["ok"] == "true"} == set(MASTERS),
                timeout=30,
                interval=0.5,
            )
            time.sleep(3)  # later checks: ignored for good
        statuses = [r.status for r in watcher.replies]
        errors = [r for r in watcher.replies if r.status != 200]
        window = max(r.at for r in errors) - min(r.at for r in errors) if errors else 0.0
        print(
            f"\ncollisions answered: {ignored}; {len(errors)} of {len(statuses)} reads got 500, within {window:.2f} s"
        )
        assert not host_lab.events("promote.start", after=0) or all(
            e["reason"] == "elect" for e in host_lab.events("promote.start")
        ), "a collision caused a failover"
        _code, state = host_lab.promoter("GET", names.PROMOTER_STATE_PATH)
        assert state["active"] == "jenkins01" and state["promotions"] == 1
        assert {c["master"] for c in state["builds"]["collisions"]} == set(MASTERS)
        # the active's page is seen until its next health check or the promoter's watch: about 1 s
        assert {r.status for r in errors} <= {500} and window < 2.5, "the active served the 500 page for long"
        assert host_lab.through_haproxy().status == 200
        assert request(host_lab.ports["jenkins02"][0], path="/login").status == 200  # the standby too
    finally:
        host_lab.stop_all()


@pytest.mark.parametrize("requeue_interrupted", [False, True])
def test_queued_builds_survive_a_kill(tmp_path: Path, requeue_interrupted: bool) -> None:
    env = {"LABGEN_REQUEUE_INTERRUPTED": "1"} if requeue_interrupted else {}
    host_lab = HostLab(tmp_path, haproxy_env=env)
    try:
        for name in MASTERS:
            host_lab.start_master(name)
        host_lab.start_haproxy()
        tag = uuid.uuid4().hex[:6]
        running, waiting, param = f"run-{tag}", f"wait-{tag}", f"param-{tag}"
        for job, xml in (
            (running, shell_job("sleep 20")),
            (waiting, shell_job("true")),
            (param, shell_job("true", "P")),
        ):
            assert host_lab.through_haproxy("POST", f"/createItem?name={job}", xml).status == 200
        assert host_lab.through_haproxy("POST", f"/job/{running}/build?delay=0sec").status == 201
        assert host_lab.through_haproxy("POST", f"/job/{waiting}/build?delay=300sec").status == 201
        assert host_lab.through_haproxy("POST", f"/job/{param}/buildWithParameters?P=v1&delay=300sec").status == 201
        first = host_lab.ports["jenkins01"][0]
        wait_for("the build running", lambda: any(f"/job/{running}/1/" in u for u in running_on(first)), timeout=15)
        time.sleep(2.5)  # the promoter's watch sees it (every second)
        mark = host_lab.log_mark()
        host_lab.masters["jenkins01"].kill()
        host_lab.wait_event("promote.done", after=mark, timeout=20, new="jenkins02")
        host_lab.wait_event("build.requeued", after=mark, job=param)
        interrupted = host_lab.wait_event("build.interrupted", after=mark, job=running)
        assert interrupted["requeue"] == ("yes" if requeue_interrupted else "no")
        second = host_lab.ports["jenkins02"][0]
        time.sleep(0.5)

        def built_or_queued(job: str) -> dict[str, Any] | None:
            data: dict[str, Any] = json.loads(
                request(
                    second, path=f"/job/{job}/api/json?tree=builds[number,actions[parameters[name,value]]],inQueue"
                ).body
            )
            return data if data["builds"] or data["inQueue"] else None

        wait_for("the queued builds on jenkins02", lambda: built_or_queued(waiting) and built_or_queued(param))
        param_build = wait_for("the parameterized build", lambda: (built_or_queued(param) or {}).get("builds"))
        values = {p["name"]: p["value"] for a in param_build[0]["actions"] for p in a.get("parameters", [])}
        assert values == {"P": "v1"}
        time.sleep(0.5)
        assert bool(built_or_queued(running)) == requeue_interrupted
        _code, state = host_lab.promoter("GET", names.PROMOTER_STATE_PATH)
        kinds = {(r["job"], r["kind"]) for r in state["builds"]["requeued"]}
        assert {(waiting, "queued"), (param, "queued")} <= kinds
        assert state["builds"]["interrupted"][0]["job"] == running
        # the number of the vanished build stays used: the next one is #2
        job_data = json.loads(request(second, path=f"/job/{running}/api/json").body)
        assert job_data["nextBuildNumber"] >= 2
    finally:
        host_lab.stop_all()


def test_a_switchover_moves_the_queue(lab: HostLab) -> None:
    """The old active keeps its queue in memory and would build it once out of quiet down: the promoter
    cancels it there and posts it on the new active."""
    job = f"q-{uuid.uuid4().hex[:6]}"
    assert lab.through_haproxy("POST", f"/createItem?name={job}", shell_job("true")).status == 200
    assert lab.through_haproxy("POST", f"/job/{job}/build?delay=300sec").status == 201
    time.sleep(2.5)  # the promoter's watch sees it
    code, answer = lab.promoter("POST", names.PROMOTER_SWITCHOVER_PATH + "?to=jenkins02")
    assert code == 200, answer
    lab.wait_event("build.requeued", job=job, to="jenkins02")
    assert [i["task"]["name"] for i in queue_of(lab.ports["jenkins01"][0])] == []
    assert not lab.events("build.interrupted")
    wait_for(
        "the build on jenkins02",
        lambda: json.loads(request(lab.ports["jenkins02"][0], path=f"/job/{job}/api/json").body)["builds"],
    )


def test_a_paused_active_that_comes_back_does_not_build_its_old_queue(lab: HostLab) -> None:
    job = f"z-{uuid.uuid4().hex[:6]}"
    assert lab.through_haproxy("POST", f"/createItem?name={job}", shell_job("true")).status == 200
    assert lab.through_haproxy("POST", f"/job/{job}/build?delay=12sec").status == 201
    time.sleep(2.5)  # the promoter's watch sees it
    mark = lab.log_mark()
    lab.masters["jenkins01"].signal(signal.SIGSTOP)
    lab.wait_event("build.requeued", after=mark, timeout=20, job=job, to="jenkins02")
    lab.masters["jenkins01"].signal(signal.SIGCONT)  # its quiet period is not over: the item still waits there
    lab.wait_event("build.cancelled", after=mark, timeout=10, master="jenkins01")
    time.sleep(8)  # past the old item's quiet period
    old = json.loads(request(lab.ports["jenkins01"][0], path=f"/job/{job}/api/json").body)
    assert old["builds"] == [] and not old["inQueue"], "the old active built or kept its queue"
    new = json.loads(request(lab.ports["jenkins02"][0], path=f"/job/{job}/api/json").body)
    assert len(new["builds"]) == 1


# --------------------------------------------------------------------------- issue 17: held while it promotes

SLOW_RELOAD_SECONDS = 20.0


def agent_banner(port: int, timeout: float) -> bytes:
    """What the agent port answers (a master's agent listener answers a request with its headers)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
        return data


def test_a_slow_reload_holds_requests_and_agents_for_all_of_it(tmp_path: Path) -> None:
    """jenkins02 takes 20 s to reload: every read, write and agent connection made while it is
    promoted waits in HAProxy and is answered by it, none refused; the responses say how long."""
    host_lab = HostLab(tmp_path, env_of={"jenkins02": {"JENKINS_RELOAD_SECONDS": str(SLOW_RELOAD_SECONDS)}})
    try:
        for name in MASTERS:
            host_lab.start_master(name)
        host_lab.start_haproxy()
        job = f"p-{uuid.uuid4().hex[:8]}"
        host_lab.create_job(job)
        assert host_lab.through_haproxy().held_ms == 0  # a master serves: no wait
        mark = host_lab.log_mark()
        with Watcher(host_lab, timeout=90) as watcher:
            time.sleep(0.5)
            host_lab.masters["jenkins01"].kill()  # returns once it is dead
            # a write sent before then was in flight to a dying master: its outcome is unknown (502)
            killed_at = time.monotonic()
            host_lab.wait_event("promote.start", after=mark, timeout=10, new="jenkins02")
            started = time.monotonic()
            banner = agent_banner(host_lab.agent, timeout=90)  # opened while jenkins02 reloads
            agent_answered = time.monotonic() - started
            done = host_lab.wait_event("promote.done", after=mark, timeout=60, new="jenkins02")
            wait_for("answers from jenkins02", lambda: sum(r.node == "jenkins02" for r in watcher.replies) >= 20)
        held = [r.held_ms or 0 for r in watcher.replies] + watcher.held
        print(
            f"\nslow reload: promotion {done['ms']} ms, {len(watcher.replies)} reads and {len(watcher.writes)} "
            f"writes, longest held {max(held)} ms, agent answered after {agent_answered:.1f} s"
        )
        # a write jenkins01 had when it was killed has an unknown outcome (it may have applied it)
        assert_consistent(host_lab, watcher, {job}, killed_at)
        assert all(status == 200 for sent, status in watcher.writes.values() if sent > killed_at)
        assert b"Jenkins-Agent-Protocols" in banner and agent_answered >= SLOW_RELOAD_SECONDS / 2
        assert int(done["ms"]) >= SLOW_RELOAD_SECONDS * 1000
        assert max(held) >= (SLOW_RELOAD_SECONDS - 2) * 1000, "no request was held for the reload"
        assert all(r.node == "jenkins02" for r in watcher.replies if (r.held_ms or 0) > 1000)
    finally:
        host_lab.stop_all()


def test_the_requests_held_through_a_promotion_reach_the_new_master_a_few_at_a_time(tmp_path: Path) -> None:
    """Every request held while jenkins02 reloads is let go at once when it is ready: HAProxy sends it
    at most haproxy.master_maxconn of them at a time and queues the rest, so that the burst does not
    overflow its accept queue (a refused connection would mark it DOWN). Each response's held time is
    its own, never more than the request took."""
    maxconn, burst = 4, 40
    host_lab = HostLab(
        tmp_path, env_of={"jenkins02": {"JENKINS_RELOAD_SECONDS": "6"}}, haproxy_spec={"master_maxconn": maxconn}
    )
    try:
        host_lab.kill_into_a_promotion()
        answers: list[tuple[float, Reply]] = []

        def read() -> None:
            sent = time.monotonic()
            reply = host_lab.through_haproxy(path="/api/json?tree=jobs[name]", timeout=60)
            answers.append((time.monotonic() - sent, reply))

        readers = [threading.Thread(target=read) for _ in range(burst)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(90)
        stats = host_lab.stat()
        row, queue = stats[("jenkins", "jenkins02")], stats[("jenkins", "BACKEND")]
        print(f"\nburst of {burst}: at most {row['smax']} at once on jenkins02, {queue['qmax']} queued")
        assert len(answers) == burst and all(reply.status == 200 for _, reply in answers), answers
        assert all(reply.node == "jenkins02" for _, reply in answers)
        assert int(row["smax"]) <= maxconn and int(queue["qmax"]) > 0  # (balance first queues in the backend)
        assert host_lab.status("jenkins02").startswith("UP")
        assert all((reply.held_ms or 0) <= took * 1000 + 50 for took, reply in answers), answers
    finally:
        host_lab.stop_all()


def test_a_request_held_past_the_bound_gets_one_clear_503(tmp_path: Path) -> None:
    """haproxy.hold_timeout_s bounds the wait: past it, one 503 that says why; then service again."""
    host_lab = HostLab(
        tmp_path,
        env_of={"jenkins02": {"JENKINS_RELOAD_SECONDS": "30"}},
        haproxy_spec={"hold_timeout_s": 10},
    )
    try:
        mark = host_lab.kill_into_a_promotion()
        sent = time.monotonic()
        reply = host_lab.through_haproxy(timeout=60)
        waited = time.monotonic() - sent
        print(f"\nheld past the bound: HTTP {reply.status} after {waited:.1f} s: {reply.body.decode()!r}")
        assert reply.status == 503
        assert b"within 10 s (haproxy.hold_timeout_s)" in reply.body and b"jenkins02 is being promoted" in reply.body
        assert 9 <= waited <= 20
        host_lab.wait_event("promote.done", after=mark, timeout=60, new="jenkins02")
        assert host_lab.through_haproxy().status == 200
    finally:
        host_lab.stop_all()


# --------------------------------------------------------------------------- issue 20: the decision outlives a worker


def reloads(lab: HostLab) -> dict[str, int]:
    """How many times each master was asked to reload (POST /reload in its access log)."""
    return {name: (lab.tmp / f"{name}.log").read_text(errors="replace").count('"POST /reload"') for name in MASTERS}


def peers_synced(lab: HostLab) -> bool:
    """HAProxy's peers section has finished its start-up resync (measured on 2.6.12: `show peers`
    flags 0x11 for 5 s after a fresh start, then 0x33; 0x1103 in a worker an old one taught). Before
    that a soft reload does not hand the tables to the new worker."""
    head = runtime(lab.sock, "show peers").splitlines()[0]
    return int(head.split("flags=")[1].split()[0], 16) & 0x02 == 0x02


def held_ms(watcher: Watcher) -> list[int]:
    return [r.held_ms or 0 for r in watcher.replies] + watcher.held


def test_a_soft_reload_keeps_the_active_master_without_a_reload_or_a_held_request(lab: HostLab) -> None:
    lab.wait_event("promote.done", new="jenkins01", reason="elect")
    job = f"r-{uuid.uuid4().hex[:8]}"
    lab.create_job(job)
    before = reloads(lab)
    assert before == {"jenkins01": 1, "jenkins02": 0}
    assert lab.haproxy is not None
    for round_ in range(2):  # twice: the second new worker adopts what the first one adopted
        wait_for("the peers' start-up resync", lambda: peers_synced(lab), timeout=15, interval=0.2)
        mark = lab.log_mark()
        with Watcher(lab) as watcher:
            time.sleep(0.5)
            lab.haproxy.signal(signal.SIGUSR2)  # the master process starts a new worker, the old one stops
            adopted = lab.wait_event("adopt", after=mark, name="jenkins01")
            time.sleep(1.0)
        held = held_ms(watcher)
        print(
            f"\nsoft reload {round_ + 1}: adopted {adopted}; {len(watcher.replies)} reads, {len(watcher.writes)} "
            f"writes, longest held {max(held)} ms"
        )
        assert adopted["epoch"] == "1"
        assert not lab.events("promote.start", after=mark), "the new worker promoted a master"
        assert reloads(lab) == before, "a master was reloaded"
        assert_consistent(lab, watcher, {job})
        assert max(held) <= 100, f"requests were held up to {max(held)} ms"
        assert {r.node for r in watcher.replies} == {"jenkins01"}
        assert lab.status("jenkins02") == "MAINT"
    code, state = lab.promoter("GET", names.PROMOTER_STATE_PATH)
    assert code == 200 and state["active"] == "jenkins01" and state["epoch"] == 1, state
    assert state["adopted"] == "jenkins01 epoch 1"
    assert not lab.events("error")


def workers_logging(lab: HostLab, event: str, after: int) -> set[str]:
    """The HAProxy worker processes (pids) that logged the promoter's `event` from line `after` on."""
    lines = lab.haproxy_log.read_text(errors="replace").splitlines()[after:]
    pattern = re.compile(rf"\((\d+)\) : {re.escape(names.PROMOTER_LOG_PREFIX)}{re.escape(event)}\b")
    return {m.group(1) for line in lines if (m := pattern.search(line))}


def test_the_old_worker_of_a_soft_reload_promotes_nothing(lab: HostLab) -> None:
    """An agent's session keeps the old worker alive (up to an hour): when the active dies meanwhile,
    only the new worker fails over (one reload of jenkins02, not two)."""
    wait_for("the peers' start-up resync", lambda: peers_synced(lab), timeout=15, interval=0.2)
    with socket.create_connection(("127.0.0.1", lab.agent), timeout=5) as agent:
        agent.sendall(b"GET / HTTP/1.0\r\n")  # an agent connection held open through the reload
        mark = lab.log_mark()
        assert lab.haproxy is not None
        lab.haproxy.signal(signal.SIGUSR2)
        lab.wait_event("adopt", after=mark, name="jenkins01")
        lab.wait_event("worker.stopping", after=mark)
        lab.masters["jenkins01"].kill()
        lab.wait_event("promote.done", after=mark, timeout=20, new="jenkins02")
        time.sleep(2)
        promoting = workers_logging(lab, names.PROMOTE_START_EVENT, mark)
        stopping = workers_logging(lab, "worker.stopping", mark)
    assert len(promoting) == 1 and not promoting & stopping, (promoting, stopping)
    assert reloads(lab)["jenkins02"] == 1
    assert served_by(lab) == {"jenkins02"}
