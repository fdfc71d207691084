"""`labgen chaos`: faults on one service of a running lab, each recorded in the lab's event log."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from docker.errors import APIError

from labgen import engine
from labgen.errors import EXIT_USAGE, LabgenError
from labgen.generate import secrets as secret_keys
from labgen.lab import journal
from labgen.lab.handle import LabHandle
from labgen.model.names import JENKINS_HTTP_PORT, NETWORK
from labgen.model.topology import Topology

ACTIONS = ("kill", "stop", "start", "restart", "pause", "unpause", "partition", "heal", "reload")


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


def targets(topology: Topology) -> list[str]:
    return topology.services


def validate(topology: Topology, action: str, target: str) -> None:
    if action not in ACTIONS:
        raise LabgenError(f"unknown chaos action {action!r}; valid: {', '.join(ACTIONS)}", exit_code=EXIT_USAGE)
    if target not in targets(topology):
        raise LabgenError(
            f"unknown target {target!r} in lab {topology.name}; valid: {', '.join(targets(topology))}",
            exit_code=EXIT_USAGE,
        )
    if action == "reload" and target not in topology.masters:
        raise LabgenError(f"reload applies to a master ({', '.join(topology.masters)})", exit_code=EXIT_USAGE)


def _lab_network(handle: LabHandle) -> Any:
    networks = engine.client().networks.list(names=[handle.topology.network])
    if not networks:
        raise LabgenError(f"lab {handle.name} has no network: is it up?", hint="`labgen up`")
    return networks[0]


def apply(
    handle: LabHandle, action: str, target: str, *, signal: str = "SIGKILL", stop_timeout: int = 10
) -> FaultResult:
    """Apply one fault. Validates before touching anything."""
    validate(handle.topology, action, target)
    container = handle.container(target)
    at = time.time()
    detail = _do(handle, container, action, target, signal=signal, stop_timeout=stop_timeout)
    journal.record(handle.name, f"chaos.{action}", f"{action} {target}: {detail}", target=target, at=at)
    return FaultResult(action, target, container.name, at, detail)


def _do(handle: LabHandle, container: Any, action: str, target: str, *, signal: str, stop_timeout: int) -> str:
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
            network = _lab_network(handle)
            connected = network.name in container.attrs["NetworkSettings"]["Networks"]
            _require(connected, target, "is already cut off", "heal")
            network.disconnect(container, force=True)
            return f"disconnected from {network.name}"
        if action == "heal":
            network = _lab_network(handle)
            if network.name in container.attrs["NetworkSettings"]["Networks"]:
                return "already connected: nothing to heal"
            network.connect(container, aliases=[target])
            return f"reconnected to {network.name} as {target}"
        if action == "reload":
            return _reload(handle, container)
    except APIError as exc:
        raise LabgenError(f"{action} {target} failed: {exc.explanation or exc}") from None
    raise AssertionError(action)


def _require(condition: bool, target: str, problem: str, instead: str) -> None:
    if not condition:
        raise LabgenError(f"{target} {problem}", hint=f"try `labgen chaos {instead} {target}`", exit_code=EXIT_USAGE)


# Runs inside the master's container (labgen.wire is there, /opt/labgen on PYTHONPATH).
RELOAD_SCRIPT = f"""
import os
from labgen.wire import http
auth = (os.environ["{secret_keys.ADMIN_USER}"], os.environ["{secret_keys.ADMIN_TOKEN}"])
print(http.request("127.0.0.1", {JENKINS_HTTP_PORT}, "POST", "/reload", auth=auth, timeout=30).status)
"""


def _reload(handle: LabHandle, container: Any) -> str:
    """The article's manual step: POST /reload on a master, as its admin, from inside its container."""
    keys = (secret_keys.ADMIN_USER, secret_keys.ADMIN_TOKEN)
    env = {key: handle.secrets[key] for key in keys}
    result = container.exec_run(["python3", "-c", RELOAD_SCRIPT], environment=env)
    answer = result.output.decode().strip()
    if result.exit_code != 0 or answer not in ("200", "302"):
        raise LabgenError(f"POST /reload on {container.name} failed: {answer or 'no answer'}")
    return f"POST /reload answered {answer}: the master re-reads JENKINS_HOME"


def list_targets(handle: LabHandle) -> list[TargetState]:
    states = []
    for target in targets(handle.topology):
        found = handle.containers(target)
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
