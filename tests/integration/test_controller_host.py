"""The failover controller on the host, no Docker: Debian's HAProxy, two jenkins-lite masters.

HAProxy runs the lab's own `ha` configuration (rendered by labgen, with addresses, ports and
the runtime socket moved to loopback and the privileged bits removed); both masters share one
temporary JENKINS_HOME, like the lab's NFS export. The controller runs as a subprocess, exactly
as in its container, and its JSON event lines are read back from its log file.
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
from labgen.model.spec import Lab
from labgen.model.topology import Topology

ROOT = Path(__file__).resolve().parents[2]
CONTROLLER = ROOT / "images" / "controller" / "labgen_controller"  # run as python3 -m labgen_controller
JENKINS_LITE = ROOT / "images" / "jenkins" / "lite" / "labgen_lite"  # run as python3 -m labgen_lite
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
MASTERS = ("jenkins01", "jenkins02")
ADMIN = ("admin", "admin-password")
TOKEN = "11aa22bb33cc44dd55ee66ff77889900"
RELOAD_SECONDS = 1.0
FREESTYLE = b"<?xml version='1.1' encoding='UTF-8'?><project><builders/></project>"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(HAPROXY), reason="needs HAProxy on the host (apt-get install haproxy)"),
    pytest.mark.skipif(not JENKINS_LITE.is_dir(), reason="needs images/jenkins/lite/labgen_lite/"),
]


# --------------------------------------------------------------------------- helpers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    body: bytes

    def jobs(self) -> set[str]:
        return {job["name"] for job in json.loads(self.body).get("jobs", [])}


def request(port: int, method: str = "GET", path: str = "/api/json", body: bytes | None = None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    token = base64.b64encode(f"{ADMIN[0]}:{TOKEN}".encode()).decode()
    headers = {"Authorization": f"Basic {token}", "Content-Type": "application/xml"}
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return Reply(
            time.monotonic(),
            response.status,
            response.getheader("X-Labgen-Node"),
            response.getheader("X-Labgen-Served-By"),
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


def haproxy_config(sock: Path, ports: dict[int, int], masters: dict[str, tuple[int, int]]) -> str:
    """The lab's `ha` haproxy.cfg, moved to loopback and made runnable without root."""
    text = render_files(Topology.resolve(Lab.model_validate({"haproxy": {"version": "2.6.12"}})))["haproxy/haproxy.cfg"]
    text = re.sub(r"(?ms)^resolvers \S+\n.*?(?=^\S|\Z)", "", text)  # the resolvers section
    text = re.sub(r"(?m)^\s*(uid|gid|chroot|user|group)\s.*\n", "", text)
    text = text.replace(" resolvers docker", "")
    substitutions = [("/var/run/haproxy/admin.sock", str(sock))]
    substitutions += [(f"bind *:{public}\n", f"bind 127.0.0.1:{port}\n") for public, port in ports.items()]
    for name, (http_port, agent_port) in masters.items():
        substitutions += [
            (f" {name}:8080 ", f" 127.0.0.1:{http_port} "),
            (f" {name}:8181 ", f" 127.0.0.1:{agent_port} "),
        ]
    for old, new in substitutions:
        assert old in text, f"the rendered haproxy.cfg changed: no {old.strip()!r} in it"
        text = text.replace(old, new)
    for needed in ("backend jenkins", "stick on dst", "check backup", "track jenkins/jenkins02 backup"):
        assert needed in text, f"the rendered haproxy.cfg changed: no {needed!r}"
    return text


def with_server_state_file(config: str, path: Path) -> str:
    """HAProxy's server-state-file, which the controller keeps up to date (LABGEN_SERVER_STATE_FILE)."""
    config = config.replace("\nglobal\n", f"\nglobal\n  server-state-file {path}\n", 1)
    return config.replace("\ndefaults\n", "\ndefaults\n  load-server-state-from-file global\n", 1)


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


@dataclass
class HostLab:
    tmp: Path
    front: int = field(default_factory=free_port)
    stats: int = field(default_factory=free_port)
    agent: int = field(default_factory=free_port)
    ports: dict[str, tuple[int, int]] = field(default_factory=lambda: {m: (free_port(), free_port()) for m in MASTERS})
    procs: list[Process] = field(default_factory=list)
    masters: dict[str, Process] = field(default_factory=dict)
    haproxy: Process | None = None
    controller: Process | None = None

    def __post_init__(self) -> None:
        self.home = self.tmp / "jenkins_home"
        self.home.mkdir()
        self.sock = self.tmp / "admin.sock"
        self.state_file = self.tmp / "run" / "controller-state.json"
        self.server_state = self.tmp / "run" / "server-state"
        self.controller_log = self.tmp / "controller.log"
        self.config = haproxy_config(self.sock, {80: self.front, 8001: self.stats, 8181: self.agent}, self.ports)
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
        }
        env["PYTHONPATH"] = str(JENKINS_LITE.parent)
        self.masters[name] = self._spawn(name, [sys.executable, "-m", "labgen_lite"], env)
        wait_for(f"{name} /login", lambda: request(http_port, path="/login").status == 200)
        return self.masters[name]

    def start_haproxy(self, config: str | None = None) -> Process:
        if config is not None:
            self.config_file.write_text(config)
        env = {"LABGEN_STATS_USER": "stats", "LABGEN_STATS_PASSWORD": "stats-password"}
        self.haproxy = self._spawn("haproxy", [HAPROXY, "-W", "-db", "-f", str(self.config_file)], env)
        wait_for("HAProxy's runtime socket", lambda: "pxname" in runtime(self.sock, "show stat"))
        return self.haproxy

    def start_controller(self, *args: str, wait: bool = True) -> Process:
        env = {
            "LABGEN_MASTERS": ",".join(MASTERS),
            "LABGEN_HAPROXY_SOCKET": str(self.sock),
            "LABGEN_HTTP_BACKEND": "jenkins",
            "LABGEN_MASTER_URLS": json.dumps({m: f"http://127.0.0.1:{p[0]}" for m, p in self.ports.items()}),
            "JENKINS_ADMIN_USER": ADMIN[0],
            "JENKINS_ADMIN_TOKEN": TOKEN,
            "LABGEN_POLL_MS": "200",
            "LABGEN_STATE_FILE": str(self.state_file),
            "LABGEN_SERVER_STATE_FILE": str(self.server_state),
            "LABGEN_RELOAD_TIMEOUT_S": "30",
        }
        env["PYTHONPATH"] = str(CONTROLLER.parent)  # labgen (for labgen.wire) is installed
        proc = Process("controller", [sys.executable, "-m", "labgen_controller", *args], env, self.controller_log)
        self.procs.append(proc)
        if args:
            return proc
        self.controller = proc.start()
        if wait:
            wait_for("the controller to hold the standby in maint", lambda: self.status("jenkins02") == "MAINT")
        return proc

    def promote(self, name: str) -> int:
        proc = self.start_controller("promote", name).start()
        assert proc.proc is not None
        return proc.proc.wait(30)

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()

    # ---- observations

    def stat(self) -> dict[tuple[str, str], dict[str, str]]:
        text = runtime(self.sock, "show stat").lstrip("# ")
        return {(row["pxname"], row["svname"]): row for row in csv.DictReader(io.StringIO(text))}

    def status(self, server: str, proxy: str = "jenkins") -> str:
        return self.stat()[(proxy, server)]["status"]

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        if not self.controller_log.exists():
            return []
        found = []
        for line in self.controller_log.read_text().splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                event = json.loads(line)
                if isinstance(event, dict) and (kind is None or event.get("event") == kind):
                    found.append(event)
        return found

    def wait_event(self, kind: str, after: float = 0.0, timeout: float = 15.0, **match: Any) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            for event in self.events(kind):
                if event["ts"] >= after and all(event.get(k) == v for k, v in match.items()):
                    return event
            return None

        found: dict[str, Any] = wait_for(f"controller event {kind} {match}", check, timeout)
        return found

    def through_haproxy(self, method: str = "GET", path: str = "/api/json", body: bytes | None = None) -> Reply:
        return request(self.front, method, path, body)

    def create_job(self, name: str) -> None:
        reply = self.through_haproxy("POST", f"/createItem?name={name}", FREESTYLE)
        assert reply.status == 200, reply


class Watcher:
    """Probes through HAProxy continuously (every 10 ms) and keeps every reply."""

    def __init__(self, lab: HostLab) -> None:
        self.lab = lab
        self.replies: list[Reply] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.replies.append(self.lab.through_haproxy(path="/api/json?tree=jobs[name]"))
            except (OSError, http.client.HTTPException):
                self.failures += 1
            self._stop.wait(0.01)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[HostLab]:
    host_lab = HostLab(tmp_path)
    try:
        for name in MASTERS:
            host_lab.start_master(name)
        host_lab.start_haproxy()
        wait_for("both masters UP in HAProxy", lambda: {host_lab.status(m) for m in MASTERS} == {"UP"})
        yield host_lab
    finally:
        host_lab.stop_all()


def served_by(lab: HostLab, count: int = 10) -> set[str | None]:
    return {lab.through_haproxy().node for _ in range(count)}


# --------------------------------------------------------------------------- tests


def fault(lab: HostLab, name: str, action: str) -> None:
    if action == "kill":
        lab.masters[name].kill()
    else:
        lab.masters[name].signal(signal.SIGSTOP)


def recover(lab: HostLab, name: str, action: str) -> None:
    if action == "kill":
        lab.start_master(name)
    else:
        lab.masters[name].signal(signal.SIGCONT)


@pytest.mark.parametrize("action", ["kill", "pause"])
def test_failover_to_a_reloaded_standby(lab: HostLab, action: str) -> None:
    lab.start_controller()
    assert served_by(lab) == {"jenkins01"}
    assert lab.status("jenkins02") == "MAINT"
    assert lab.status("jenkins02", "jenkins_agent").startswith("MAINT")
    assert json.loads(lab.state_file.read_text())["active"] == "jenkins01"

    job = f"ctl-{uuid.uuid4().hex[:8]}"
    lab.create_job(job)
    assert job in lab.through_haproxy().jobs()
    assert job not in request(lab.ports["jenkins02"][0]).jobs(), "jenkins02 should be stale before the failover"

    with Watcher(lab) as watcher:
        time.sleep(0.3)
        killed_at_wall, killed_at = time.time(), time.monotonic()
        fault(lab, "jenkins01", action)
        done = lab.wait_event("failover.done", after=killed_at_wall, timeout=20, to="jenkins02")
        wait_for("20 answers from jenkins02", lambda: sum(r.node == "jenkins02" for r in watcher.replies) >= 20)

    down = lab.wait_event("active.down", after=killed_at_wall, name="jenkins01")
    reload_done = lab.wait_event("reload.done", after=killed_at_wall, name="jenkins02")
    after_kill = [r for r in watcher.replies if r.at >= killed_at]
    from_02 = [r for r in after_kill if r.status == 200 and r.node == "jenkins02"]
    stale = [r for r in watcher.replies if r.node == "jenkins02" and r.status == 200 and job not in r.jobs()]
    assert from_02, "no answer from jenkins02 after the failover"
    assert not stale, f"{len(stale)} answers from jenkins02 without {job}: stale data served"
    assert all(r.node == "jenkins02" for r in after_kill if r.status == 200 and r.at > from_02[0].at)
    assert done["seconds"] < 10
    statuses: dict[int, int] = {}
    for reply in after_kill:
        statuses[reply.status] = statuses.get(reply.status, 0) + 1
    print(
        f"\n{action}: fault -> active.down {down['ts'] - killed_at_wall:.3f} s (HAProxy status {down['status']} "
        f"{down['check_status']}); active.down -> failover.done {done['ts'] - down['ts']:.3f} s "
        f"(controller says {done['seconds']} s; reload {reload_done['seconds']} s, saw_503 {reload_done['saw_503']}); "
        f"fault -> first 200 from jenkins02 {from_02[0].at - killed_at:.3f} s; "
        f"answers after the fault by status {statuses}, connection failures {watcher.failures}"
    )

    # jenkins02 serves, with the job, without any manual reload
    assert served_by(lab) == {"jenkins02"}
    assert job in lab.through_haproxy().jobs()
    assert json.loads(lab.state_file.read_text())["active"] == "jenkins02"
    assert lab.status("jenkins01") == "MAINT"  # the old active is a standby now

    # jenkins01 comes back: a standby in maint, no flapping back
    back_at = time.time()
    recover(lab, "jenkins01", action)
    lab.wait_event("standby.back", after=back_at, name="jenkins01")
    time.sleep(1.5)
    assert lab.status("jenkins01") == "MAINT"
    assert served_by(lab, 20) == {"jenkins02"}
    assert not [e for e in lab.events("failover.start") if e["ts"] >= back_at]

    # a restarted controller keeps jenkins02 active (state file), promptly on SIGTERM
    assert lab.controller is not None
    stop_started = time.monotonic()
    assert lab.controller.stop() == 0
    assert time.monotonic() - stop_started < 3
    restarted_at = time.time()
    lab.start_controller(wait=False)
    lab.wait_event("active.elect", after=restarted_at, name="jenkins02", source="state-file")
    time.sleep(1.5)
    assert lab.status("jenkins01") == "MAINT"
    assert lab.status("jenkins02").startswith("UP")
    assert served_by(lab, 20) == {"jenkins02"}
    assert not [e for e in lab.events() if e["ts"] >= restarted_at and e["event"].startswith("failover")]
    assert not lab.events("error"), lab.events("error")


def test_promote_then_haproxy_restarts(lab: HostLab) -> None:
    lab.start_controller()
    job = f"ctl-{uuid.uuid4().hex[:8]}"
    lab.create_job(job)

    # manual switchover: jenkins02 is reloaded before it serves, jenkins01 goes to maint
    with Watcher(lab) as watcher:
        assert lab.promote("jenkins02") == 0
        wait_for("an answer from jenkins02", lambda: any(r.node == "jenkins02" for r in watcher.replies))
    assert not [r for r in watcher.replies if r.node == "jenkins02" and r.status == 200 and job not in r.jobs()]
    promoted = lab.wait_event("failover.done", to="jenkins02")
    lab.wait_event("active.elect", after=promoted["ts"], name="jenkins02", source="state-file")
    assert lab.status("jenkins01") == "MAINT"
    assert served_by(lab) == {"jenkins02"}
    second = f"ctl-{uuid.uuid4().hex[:8]}"
    lab.create_job(second)  # on jenkins02 only: jenkins01 is now stale

    # HAProxy restarts with the lab's config: both servers ready again; the controller re-asserts
    assert lab.haproxy is not None
    lab.haproxy.stop()
    restarted_at = time.time()
    with Watcher(lab) as watcher:
        lab.start_haproxy()
        lab.wait_event("state.assert", after=restarted_at, set={"jenkins01": "maint"})
        time.sleep(0.5)
    asserted = lab.wait_event("state.assert", after=restarted_at)
    stale = [r for r in watcher.replies if r.node == "jenkins01"]
    print(
        f"\nHAProxy restart without server-state-file: {len(stale)} answers from the stale jenkins01 "
        f"before the controller re-asserted ({asserted['ts'] - restarted_at:.3f} s after the restart)"
    )
    assert "jenkins" in asserted["cleared"]
    assert served_by(lab) == {"jenkins02"}
    assert lab.status("jenkins01") == "MAINT"

    # with `server-state-file` (kept up to date by the controller) HAProxy starts with jenkins01 in maint
    assert "jenkins01" in lab.server_state.read_text()
    lab.haproxy.stop()
    with Watcher(lab) as watcher:
        lab.start_haproxy(with_server_state_file(lab.config, lab.server_state))
        wait_for("answers through the restarted HAProxy", lambda: len(watcher.replies) > 30)
    assert lab.status("jenkins01") == "MAINT"
    assert [r.node for r in watcher.replies if r.node] and {r.node for r in watcher.replies if r.node} == {"jenkins02"}
    assert all(second in r.jobs() for r in watcher.replies if r.status == 200)


def test_no_healthy_standby_then_recovery(lab: HostLab) -> None:
    lab.start_controller()
    job = f"ctl-{uuid.uuid4().hex[:8]}"
    lab.create_job(job)

    # the standby dies: reported, nothing else changes
    lab.masters["jenkins02"].kill()
    lab.wait_event("standby.down", name="jenkins02")
    assert served_by(lab) == {"jenkins01"}

    # then the active: nowhere to go, the controller keeps trying and says so
    lost_at = time.time()
    lab.masters["jenkins01"].kill()
    lab.wait_event("active.down", after=lost_at, name="jenkins01")
    lab.wait_event("error", after=lost_at, what="no-standby")
    assert lab.through_haproxy().status == 503

    # the active comes back before any standby: it serves again, nothing was switched
    lab.start_master("jenkins01")
    lab.wait_event("active.back", after=lost_at, name="jenkins01")
    assert served_by(lab) == {"jenkins01"}
    second = f"ctl-{uuid.uuid4().hex[:8]}"
    lab.create_job(second)

    # a standby returns; the next failover reloads it before it serves
    back_at = time.time()
    lab.start_master("jenkins02")
    lab.wait_event("standby.back", after=back_at, name="jenkins02")
    assert lab.status("jenkins02") == "MAINT"
    with Watcher(lab) as watcher:
        lab.masters["jenkins01"].kill()
        lab.wait_event("failover.done", after=back_at, to="jenkins02")
        wait_for("answers from jenkins02", lambda: sum(r.node == "jenkins02" for r in watcher.replies) >= 5)
    answers = [r for r in watcher.replies if r.node == "jenkins02" and r.status == 200]
    assert answers and all({job, second} <= r.jobs() for r in answers)
    assert not [e for e in lab.events("failover.start") if e["ts"] < back_at]
