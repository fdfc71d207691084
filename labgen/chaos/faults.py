"""`labgen chaos`: faults on one service of a running lab, each recorded in the lab's event log.
What each action does, needs and is healed by is the fault table (`labgen.chaos.table`)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from docker.errors import APIError

from labgen.chaos.table import ACTIONS, BY_NAME, Call
from labgen.errors import ActionFailed, ActionRefused, BadOptionValue, NoSuchTarget
from labgen.lab import journal
from labgen.lab.handle import LabHandle
from labgen.model.names import HAPROXY, NETWORK
from labgen.model.topology import Topology


@dataclass(frozen=True)
class AppliedFault:
    """One chaos action as applied: what, to whom, when, and what it did."""

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
    """Every service; with a pair also `haproxy`: whichever load balancer holds the VIP now."""
    return [*topology.services, *([HAPROXY] if topology.pair else [])]


def resolve_target(handle: LabHandle, target: str) -> str:
    """A pair's `haproxy` is the load balancer that holds the VIP now; any other target is itself."""
    if not (handle.topology.pair and target == HAPROXY):
        return target
    holders = handle.vip_holders()
    if len(holders) != 1:
        said = "no load balancer" if not holders else " and ".join(holders)
        raise ActionRefused(
            f"{HAPROXY} means the VIP's holder, but {said} holds the VIP {handle.topology.vip}",
            hint=f"name one: {', '.join(handle.topology.load_balancer_names)}",
        )
    return holders[0]


def validate(topology: Topology, action: str, target: str) -> None:
    if action not in BY_NAME:
        raise BadOptionValue(f"unknown chaos action {action!r}; valid: {', '.join(ACTIONS)}")
    if target not in targets(topology):
        raise NoSuchTarget(f"unknown target {target!r} in lab {topology.name}; valid: {', '.join(targets(topology))}")
    row = BY_NAME[action]
    if row.masters_only and target not in topology.masters:
        if not row.haproxy_too:
            raise ActionRefused(f"{action} applies to a master ({', '.join(topology.masters)})")
        balancers = topology.load_balancer_names
        if target != HAPROXY and target not in balancers:
            raise ActionRefused(f"{action} applies to a master or HAProxy ({', '.join(topology.masters + balancers)})")
    if row.pair_only and not (topology.pair and target in [HAPROXY, *topology.load_balancer_names]):
        if not topology.pair:
            raise ActionRefused(f"{action} applies to a load balancer of a pair (haproxy.replicas 2)")
        raise ActionRefused(f"{action} applies to a load balancer ({', '.join(topology.load_balancer_names)})")


def apply(
    handle: LabHandle, action: str, target: str, *, signal: str = "SIGKILL", stop_timeout: int = 10
) -> AppliedFault:
    """Apply one action of the fault table. Validates before touching anything."""
    validate(handle.topology, action, target)
    target = resolve_target(handle, target)
    container = handle.container(target)
    at = time.time()
    detail = _do(Call(handle, container, target, signal, stop_timeout), action)
    journal.record(handle.name, f"chaos.{action}", f"{action} {target}: {detail}", target=target, at=at)
    return AppliedFault(action, target, container.name, at, detail)


def _do(call: Call, action: str) -> str:
    row = BY_NAME[action]
    try:
        if row.precondition is not None and not row.precondition.holds(call):
            raise ActionRefused(
                f"{call.target} {row.precondition.problem}",
                hint=f"try `labgen chaos {row.precondition.instead} {call.target}`",
            )
        return row.run(call)
    except APIError as exc:
        raise ActionFailed(f"{action} {call.target} failed: {exc.explanation or exc}") from None


def list_targets(handle: LabHandle) -> list[TargetState]:
    states = []
    for target in handle.topology.services:
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
