"""`labgen switchover [--to MASTER]`: a planned switchover for maintenance, run by the promoter."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from labgen.cli.app import app, out
from labgen.cli.options import JsonOpt, LabOpt, SpecArgs, resolve_lab_name, spec_options
from labgen.cli.output import print_json
from labgen.errors import ActionFailed, ActionRefused, NoSuchTarget
from labgen.lab.handle import LabHandle
from labgen.model.grammar import excerpt

ToOpt = Annotated[
    str | None,
    typer.Option("--to", help="The master to switch to (default: the next one after the active)."),
]


def plan_switchover(handle: LabHandle, to: str | None) -> tuple[str, str]:
    """(active, target) of a switchover; a usage error, with nothing changed, when it cannot be."""
    topology = handle.topology
    if topology.promoter is None:
        raise ActionRefused(
            f"lab {handle.name} runs the {topology.lab.profile} profile: it has no promoter to switch over with",
            hint="the ha profile's HAProxy promotes standbys",
        )
    if to is not None and to not in topology.masters:
        raise NoSuchTarget(f"--to {excerpt(to)} is not a master; valid: {', '.join(topology.masters)}")
    state = handle.promoter_state()
    if state is None or state.get("active") not in topology.masters:
        raise ActionRefused(
            f"the promoter of lab {handle.name} does not say which master is active; nothing changed",
            hint=f"labgen status --lab {handle.name}",
        )
    active = str(state["active"])
    masters = topology.masters
    target = to or masters[(masters.index(active) + 1) % len(masters)]
    return active, target


@app.command(rich_help_panel="break and prove")
@spec_options(sets=False)
def switchover(
    to: ToOpt = None,
    lab_name: LabOpt = None,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Planned switchover: quiet down the active master (POST /quietDown), hold new requests in
    HAProxy while its last ones finish, reload the target, send traffic to it; the old active
    becomes a standby. Refused (exit 2, nothing changed) when the target does not answer."""
    handle = LabHandle.open(resolve_lab_name(lab_name, spec_args))
    active, target = plan_switchover(handle, to)
    if target == active:
        _report(json_output, {"ok": True, "from": active, "to": target, "message": f"{target} is already active"})
        return
    code, answer = handle.switchover(target)
    result = {"ok": code == 200, "from": active, "to": target, "status": code, **answer}
    if code == 200:
        _report(json_output, result)
        return
    if json_output:
        print_json(result)
    if code in (400, 409):
        raise ActionRefused(f"switchover to {target} refused, nothing changed: {answer['message']}")
    raise ActionFailed(f"switchover to {target} failed: {answer['message']}")


def _report(json_output: bool, result: dict[str, Any]) -> None:
    if json_output:
        print_json(result)
    else:
        out.print(f"switchover {result['from']} -> {result['to']}: {result['message']}")
