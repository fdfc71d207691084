"""A handle on one running lab: its topology, folder, credentials, containers and HAProxy's view.

Rebuilt from the lab's name (lab.json and the Docker labels), so every command works from any
folder and after a crash. chaos and verify take a handle; nobody else reads the lab folder."""

from __future__ import annotations

import json
import socket
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docker.errors import APIError

from labgen.errors import LabNotRunning
from labgen.generate import secrets as secret_keys
from labgen.generate.secrets import read_secrets
from labgen.lab import docker
from labgen.lab.folder import load_topology
from labgen.lab.jenkins_client import JenkinsClient
from labgen.model.names import (
    FLAVOUR_LABEL,
    KEEPALIVED_STATE_FILE,
    LOGIN_PATH,
    NODE_HEADER,
    PROMOTER_STATE_PATH,
    PROMOTER_SWITCHOVER_PATH,
    SERVED_BY_HEADER,
    STATS_PATH,
    SWITCHOVER_ANSWER_MS,
)
from labgen.model.topology import Topology
from labgen.paths import lab_dir
from labgen.wire import http
from labgen.wire.haproxy import ServerState, server_states

SWITCHOVER_TIMEOUT_S = SWITCHOVER_ANSWER_MS / 1000 + 20  # the promoter's own bound, and time to answer

AGENT_BANNER = b"Jenkins-Agent-Protocols"
HOME_CHECK_COMMAND = ["python3", "-m", "labgen_homecheck", "ask"]  # in a master (images/jenkins/homecheck)
HOME_UP = "up"


@dataclass(frozen=True)
class BalancerView:
    """What one load balancer of a pair says: its container's state, keepalived's VRRP state (its
    notify script's file), and whether the VIP is on its interface (`ip -4 addr`)."""

    name: str
    container: str  # running, paused, exited, missing
    vrrp: str | None  # MASTER, BACKUP, FAULT, INIT, STOPPED; None when it cannot be asked
    holds_vip: bool


@dataclass
class LabHandle:
    topology: Topology
    folder: Path
    secrets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, name: str) -> LabHandle:
        folder = lab_dir(name)
        return cls(load_topology(name), folder, read_secrets(folder))

    @property
    def name(self) -> str:
        return self.topology.name

    # ---- containers ------------------------------------------------------------------------------------
    def containers(self, service: str | None = None, all_states: bool = True) -> list[Any]:
        return docker.lab_containers(self.name, service, all_states)

    def container(self, service: str) -> Any:
        """The service's container, fresh; a clear error when the lab is not up."""
        found = self.containers(service)
        if not found:
            raise LabNotRunning(f"{service} has no container: is lab {self.name} up?", hint="`labgen up`")
        container = found[0]
        container.reload()
        return container

    def health(self, service: str) -> str:
        return docker.container_health(self.name, service)

    def jenkins_flavour(self) -> str | None:
        """What the masters' image says it is (the lite stand-in always says so)."""
        found = self.containers(self.topology.masters[0])
        return found[0].image.labels.get(FLAVOUR_LABEL) if found and found[0].image else None

    # ---- through HAProxy -------------------------------------------------------------------------------
    def jenkins(self, timeout: float = 3.0) -> JenkinsClient:
        """A Jenkins client through HAProxy, as the lab's admin with its API token."""
        return JenkinsClient(
            self.topology.front_host,
            self.topology.front_ports["http"],
            self.secrets.get(secret_keys.ADMIN_USER, ""),
            self.secrets.get(secret_keys.ADMIN_TOKEN, ""),
            timeout=timeout,
        )

    def _stats_port(self, method: str, path: str, timeout: float) -> http.Response:
        """A request to HAProxy's stats port with the stats login (the stats page, the promoter)."""
        auth = (self.secrets.get(secret_keys.STATS_USER, ""), self.secrets.get(secret_keys.STATS_PASSWORD, ""))
        host, port = self.topology.front_host, self.topology.front_ports["stats"]
        return http.request(host, port, method, path, auth=auth, timeout=timeout)

    def promoter_state(self, timeout: float = 2.0) -> dict[str, Any] | None:
        """The promoter's state (ha profile: Lua in HAProxy): active, phase, servers; None if it does not answer."""
        reply = self._stats_port("GET", PROMOTER_STATE_PATH, timeout)
        if reply.status != 200:
            return None
        try:
            state = json.loads(reply.body)
        except ValueError:
            return None
        return state if isinstance(state, dict) else None

    def switchover(self, target: str, timeout: float = SWITCHOVER_TIMEOUT_S) -> tuple[int, dict[str, Any]]:
        """Ask the promoter for a planned switchover to `target`; it answers when done or refused
        (within names.SWITCHOVER_ANSWER_MS: the reload's and the drain's timeouts and a margin)."""
        path = f"{PROMOTER_SWITCHOVER_PATH}?{urllib.parse.urlencode({'to': target})}"
        reply = self._stats_port("POST", path, timeout)
        try:
            answer = json.loads(reply.body) if reply.body else {}
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        answer.setdefault("message", reply.error or f"HTTP {reply.status}")
        return reply.status, answer

    def haproxy_servers(self, timeout: float = 2.0) -> list[ServerState] | None:
        """HAProxy's view of every server (stats page CSV); None when it does not answer."""
        reply = self._stats_port("GET", f"{STATS_PATH};csv;norefresh", timeout)
        if reply.status != 200:
            return None
        try:
            return server_states(reply.body.decode("utf-8", "replace"))
        except ValueError:
            return None

    def http_servers(self, servers: list[ServerState] | None) -> list[ServerState]:
        """The HTTP backend's servers, from HAProxy's view."""
        return [s for s in servers or [] if s.proxy == self.topology.http_backend]

    def server_status(self, master: str) -> str | None:
        """HAProxy's status of a master's HTTP server (UP, DOWN, MAINT, ...); None if unknown."""
        wanted = self.topology.http_server(master)
        return next((s.status for s in self.http_servers(self.haproxy_servers()) if s.server == wanted), None)

    def probe_login(self, timeout: float = 2.0) -> str | None:
        """GET /login through HAProxy: the master that answered 200 (or "a master"), or None."""
        reply = http.request(
            self.topology.front_host, self.topology.front_ports["http"], "GET", LOGIN_PATH, timeout=timeout
        )
        if reply.status != 200:
            return None
        return reply.headers.get(SERVED_BY_HEADER.lower()) or reply.headers.get(NODE_HEADER.lower()) or "a master"

    def active_master(self, servers: list[ServerState] | None) -> str | None:
        """The master HAProxy sends traffic to: the one that answers through it, else HAProxy's view."""
        served = self.probe_login()
        if served in self.topology.masters:
            return served
        up = [s.server for s in self.http_servers(servers) if s.up]
        if self.topology.lab.profile == "article":
            return ",".join(self.topology.master_of_server(s) or s for s in up) or None  # round robin: all serve
        return self.topology.master_of_server(up[0]) if up else None

    def agent_port_answers(self, timeout: float = 2.0) -> bool:
        """The agent port, through HAProxy, answers like Jenkins' TCP agent listener."""
        try:
            with socket.create_connection(
                (self.topology.front_host, self.topology.front_ports["agent"]), timeout=timeout
            ) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                conn.settimeout(timeout)
                data = b""
                while AGENT_BANNER not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return AGENT_BANNER in data
        except OSError:
            return False

    def home_check(self, master: str) -> str | None:
        """What the master's home check says of its JENKINS_HOME (`up`, `down #why`, `no answer: ...`),
        asked inside its container; None when the container does not run (or is paused)."""
        found = self.containers(master, all_states=False)
        if not found:
            return None
        try:
            result = found[0].exec_run(HOME_CHECK_COMMAND)
        except APIError:
            return None  # paused, or gone meanwhile
        return result.output.decode("utf-8", "replace").strip() or f"no answer (exit {result.exit_code})"

    def balancer_views(self) -> list[BalancerView]:
        """Each load balancer's view of the VIP (a pair); one HAProxy holds no VIP."""
        views = []
        vip = self.topology.vip
        for name in self.topology.load_balancer_names:
            found = self.containers(name)
            if not found:
                views.append(BalancerView(name, "missing", None, False))
                continue
            container = found[0]
            container.reload()
            state = container.attrs["State"]
            label = "paused" if state.get("Paused") else str(state.get("Status"))
            if label != "running" or vip is None:
                views.append(BalancerView(name, label, None, False))
                continue
            try:
                result = container.exec_run(["sh", "-c", f"cat {KEEPALIVED_STATE_FILE}; ip -4 -o addr show"])
            except APIError:
                views.append(BalancerView(name, label, None, False))
                continue
            lines = result.output.decode("utf-8", "replace").splitlines()
            vrrp = lines[0].strip() if lines and " " not in lines[0].strip() else None
            holds = any(f" {vip}/" in line for line in lines)
            views.append(BalancerView(name, label, vrrp, holds))
        return views

    def vip_holders(self) -> list[str]:
        """The load balancers whose interface has the VIP (one, normally; two in a split brain)."""
        return [view.name for view in self.balancer_views() if view.holds_vip]

    def exec_in(self, service: str, command: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
        result = self.container(service).exec_run(command, environment=env)
        return int(result.exit_code), result.output.decode("utf-8", "replace")
