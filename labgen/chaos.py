"""`labgen chaos`: faults on one service of a running lab, each recorded in the lab's event log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from docker.errors import APIError

from labgen import docker_api, journal
from labgen.errors import EXIT_USAGE, LabgenError
from labgen.paths import lab_dir
from labgen.render import read_secrets
from labgen.runtime import load_saved_lab
from labgen.spec import Lab

ACTIONS = ("kill", "stop", "start", "restart", "pause", "unpause", "partition", "heal", "reload")
NETWORK = "lab"


@dataclass(frozen=True)
class FaultResult:
    action: str
    target: str
    container: str
    at: float
    detail: str


@dataclass(frozen=True)
class TargetState:
    target: str
    container: str | None
    state: str
    networks: list[str]


def targets(lab: Lab) -> list[str]:
    return ["nfs", *lab.masters, "haproxy", *(["controller"] if lab.profile == "ha" else [])]


def validate(lab: Lab, action: str, target: str) -> None:
    if action not in ACTIONS:
        raise LabgenError(f"unknown chaos action {action!r}; valid: {', '.join(ACTIONS)}", exit_code=EXIT_USAGE)
    if target not in targets(lab):
        raise LabgenError(
            f"unknown target {target!r} in lab {lab.name}; valid: {', '.join(targets(lab))}", exit_code=EXIT_USAGE
        )
    if action == "reload" and target not in lab.masters:
        raise LabgenError(f"reload applies to a master ({', '.join(lab.masters)})", exit_code=EXIT_USAGE)


def _container(lab: Lab, target: str) -> Any:
    found = docker_api.lab_containers(lab.name, target)
    if not found:
        raise LabgenError(f"{target} has no container: is lab {lab.name} up?", hint="`labgen up`")
    container = found[0]
    container.reload()
    return container


def _lab_network(lab: Lab) -> Any:
    networks = docker_api.client().networks.list(names=[f"{lab.project}_{NETWORK}"])
    if not networks:
        raise LabgenError(f"lab {lab.name} has no network: is it up?", hint="`labgen up`")
    return networks[0]


def apply(name: str, action: str, target: str, *, signal: str = "SIGKILL", stop_timeout: int = 10) -> FaultResult:
    """Apply one fault. Validates before touching anything."""
    lab = load_saved_lab(name)
    validate(lab, action, target)
    container = _container(lab, target)
    at = time.time()
    detail = _do(lab, container, action, target, signal=signal, stop_timeout=stop_timeout)
    journal.record(lab.name, f"chaos.{action}", f"{action} {target}: {detail}", target=target, at=at)
    return FaultResult(action, target, container.name, at, detail)


def _do(lab: Lab, container: Any, action: str, target: str, *, signal: str, stop_timeout: int) -> str:
    state = container.attrs["State"]
    try:
        if action == "kill":
            _require(state["Running"], target, "is not running", "start")
            container.kill(signal=signal)
            return f"sent {signal}"
        if action == "stop":
            container.stop(timeout=stop_timeout)
            return f"stopped (SIGTERM, SIGKILL after {stop_timeout} s)"
        if action == "start":
            container.start()
            return "started"
        if action == "restart":
            container.restart(timeout=stop_timeout)
            return "restarted"
        if action == "pause":
            _require(state["Running"] and not state["Paused"], target, "is not running or already paused", "unpause")
            container.pause()
            return "frozen (cgroup freezer): connections stay open, nothing answers"
        if action == "unpause":
            _require(state["Paused"], target, "is not paused", "pause")
            container.unpause()
            return "thawed"
        if action == "partition":
            network = _lab_network(lab)
            connected = network.name in container.attrs["NetworkSettings"]["Networks"]
            _require(connected, target, "is already cut off", "heal")
            network.disconnect(container, force=True)
            return f"disconnected from {network.name}"
        if action == "heal":
            network = _lab_network(lab)
            if network.name in container.attrs["NetworkSettings"]["Networks"]:
                return "already connected: nothing to heal"
            network.connect(container, aliases=[target])
            return f"reconnected to {network.name} as {target}"
        if action == "reload":
            return _reload(lab, container)
    except APIError as exc:
        raise LabgenError(f"{action} {target} failed: {exc.explanation or exc}") from None
    raise AssertionError(action)


def _require(condition: bool, target: str, problem: str, instead: str) -> None:
    if not condition:
        raise LabgenError(f"{target} {problem}", hint=f"try `labgen chaos {instead} {target}`", exit_code=EXIT_USAGE)


RELOAD_SCRIPT = """
import base64, os, sys, urllib.request
token = base64.b64encode(f"{os.environ['JENKINS_ADMIN_USER']}:{os.environ['JENKINS_ADMIN_TOKEN']}".encode()).decode()
request = urllib.request.Request("http://127.0.0.1:8080/reload", method="POST", data=b"")
request.add_header("Authorization", "Basic " + token)
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
try:
    response = urllib.request.build_opener(NoRedirect).open(request, timeout=30)
    print(response.status)
except urllib.error.HTTPError as exc:
    print(exc.code)
"""


def _reload(lab: Lab, container: Any) -> str:
    """The article's manual step: POST /reload on a master, as its admin, from inside its container."""
    secrets = read_secrets(lab_dir(lab.name))
    env = {"JENKINS_ADMIN_USER": secrets["JENKINS_ADMIN_USER"], "JENKINS_ADMIN_TOKEN": secrets["JENKINS_ADMIN_TOKEN"]}
    result = container.exec_run(["python3", "-c", RELOAD_SCRIPT], environment=env)
    answer = result.output.decode().strip()
    if result.exit_code != 0 or answer not in ("200", "302"):
        raise LabgenError(f"POST /reload on {container.name} failed: {answer or 'no answer'}")
    return f"POST /reload answered {answer}: the master re-reads JENKINS_HOME"


def list_targets(name: str) -> list[TargetState]:
    lab = load_saved_lab(name)
    states = []
    for target in targets(lab):
        found = docker_api.lab_containers(lab.name, target)
        if not found:
            states.append(TargetState(target, None, "missing", []))
            continue
        container = found[0]
        container.reload()
        state = container.attrs["State"]
        label = "paused" if state.get("Paused") else str(state.get("Status"))
        networks = list(container.attrs["NetworkSettings"]["Networks"])
        if state.get("Running") and not any(n.endswith(f"_{NETWORK}") for n in networks):
            label = "partitioned"
        states.append(TargetState(target, container.name, label, networks))
    return states
