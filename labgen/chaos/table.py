"""The fault table: every chaos action once, with what it does, what it needs first, what to try
instead when that is not met (the undo hint), and which action heals it.

`labgen chaos` applies one row; verify holds the rows that have a heal (the faults: kill, stop,
pause, partition) for a while and then applies their heal. Nobody else spells an action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from labgen import engine
from labgen.errors import ActionFailed, LabNotRunning
from labgen.generate import secrets as secret_keys
from labgen.lab.handle import LabHandle
from labgen.model.names import HAPROXY, JENKINS_HTTP_PORT


@dataclass
class Call:
    """One action about to be applied: the lab, the target's container (fresh), and the options."""

    handle: LabHandle
    container: Any
    target: str
    signal: str = "SIGKILL"
    stop_timeout: int = 10

    @property
    def state(self) -> dict[str, Any]:
        return dict(self.container.attrs["State"])

    @cached_property
    def network(self) -> Any:
        """The lab's network (looked up once per call)."""
        networks = engine.client().networks.list(names=[self.handle.topology.network])
        if not networks:
            raise LabNotRunning(f"lab {self.handle.name} has no network: is it up?", hint="`labgen up`")
        return networks[0]

    @property
    def connected(self) -> bool:
        return bool(self.network.name in self.container.attrs["NetworkSettings"]["Networks"])


@dataclass(frozen=True)
class Precondition:
    """What must hold before the action; else `target problem`, and `labgen chaos instead target` is the hint."""

    holds: Callable[[Call], bool]
    problem: str
    instead: str


@dataclass(frozen=True)
class Action:
    name: str
    run: Callable[[Call], str]  # does it; returns what was done, for the event log
    heal: str | None = None  # the action that undoes this fault (verify heals with it)
    precondition: Precondition | None = None
    masters_only: bool = False
    haproxy_too: bool = False  # with masters_only: HAProxy (every load balancer) is a target too
    instant: bool = False  # a fault verify measures without healing it (nothing stays broken)

    @property
    def is_fault(self) -> bool:
        """A fault verify can hold and heal."""
        return self.heal is not None


def _kill(call: Call) -> str:
    call.container.kill(signal=call.signal)
    return f"sent {call.signal}"


def _stop(call: Call) -> str:
    call.container.stop(timeout=call.stop_timeout)
    return f"stopped (SIGTERM, SIGKILL after {call.stop_timeout} s)"


def _start(call: Call) -> str:
    call.container.start()
    return "started"


def _restart(call: Call) -> str:
    call.container.restart(timeout=call.stop_timeout)
    return "restarted"


def _pause(call: Call) -> str:
    call.container.pause()
    return "frozen (cgroup freezer): connections stay open, nothing answers"


def _unpause(call: Call) -> str:
    call.container.unpause()
    return "thawed"


def _partition(call: Call) -> str:
    call.network.disconnect(call.container, force=True)
    return f"disconnected from {call.network.name}"


def _heal(call: Call) -> str:
    if call.connected:
        return "already connected: nothing to heal"
    call.network.connect(call.container, aliases=[call.target])
    return f"reconnected to {call.network.name} as {call.target}"


# Runs inside the master's container (labgen.wire is there, /opt/labgen on PYTHONPATH).
RELOAD_SCRIPT = f"""
import os
from labgen.wire import http
auth = (os.environ["{secret_keys.ADMIN_USER}"], os.environ["{secret_keys.ADMIN_TOKEN}"])
print(http.request("127.0.0.1", {JENKINS_HTTP_PORT}, "POST", "/reload", auth=auth, timeout=30).status)
"""


def is_load_balancer(handle: LabHandle, target: str) -> bool:
    return target == HAPROXY or target in {lb.name for lb in handle.topology.load_balancers}


def _reload(call: Call) -> str:
    """On a master, the article's manual step: POST /reload, as its admin, from inside its container.
    On HAProxy, a soft reload: SIGUSR2 to its master process (PID 1, master-worker mode `-W`), which
    starts a new worker with the config re-read; the old one finishes its sessions and exits."""
    if is_load_balancer(call.handle, call.target):
        call.container.kill(signal="SIGUSR2")
        return "sent SIGUSR2 to HAProxy's master process: a new worker, the old one finishes its sessions"
    keys = (secret_keys.ADMIN_USER, secret_keys.ADMIN_TOKEN)
    env = {key: call.handle.secrets[key] for key in keys}
    result = call.container.exec_run(["python3", "-c", RELOAD_SCRIPT], environment=env)
    answer = result.output.decode().strip()
    if result.exit_code != 0 or answer not in ("200", "302"):
        raise ActionFailed(f"POST /reload on {call.container.name} failed: {answer or 'no answer'}")
    return f"POST /reload answered {answer}: the master re-reads JENKINS_HOME"


def _running(call: Call) -> bool:
    return bool(call.state["Running"])


def _running_unpaused(call: Call) -> bool:
    return bool(call.state["Running"] and not call.state["Paused"])


def _paused(call: Call) -> bool:
    return bool(call.state["Paused"])


TABLE: tuple[Action, ...] = (
    Action("kill", _kill, heal="start", precondition=Precondition(_running, "is not running", "start")),
    Action("stop", _stop, heal="start"),
    Action("start", _start),
    Action("restart", _restart),
    Action(
        "pause",
        _pause,
        heal="unpause",
        precondition=Precondition(_running_unpaused, "is not running or already paused", "unpause"),
    ),
    Action("unpause", _unpause, precondition=Precondition(_paused, "is not paused", "pause")),
    Action(
        "partition",
        _partition,
        heal="heal",
        precondition=Precondition(lambda call: call.connected, "is already cut off", "heal"),
    ),
    Action("heal", _heal),
    Action("reload", _reload, masters_only=True, haproxy_too=True, instant=True),
)
BY_NAME = {action.name: action for action in TABLE}
ACTIONS = tuple(BY_NAME)  # every chaos action, in the table's order
FAULTS = tuple(action.name for action in TABLE if action.is_fault)  # the faults verify holds and heals
HEAL = {action.name: action.heal for action in TABLE if action.heal is not None}
# what verify can measure: the faults it holds and heals, and those that heal themselves (a reload)
VERIFIABLE = FAULTS + tuple(action.name for action in TABLE if action.instant and not action.is_fault)
