"""`labgen chaos ACTION TARGET`: one fault on one service of a running lab."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from labgen import chaos as faults
from labgen.cli.app import app, out
from labgen.cli.options import (
    JsonOpt,
    LabOpt,
    SpecArgs,
    check_number,
    check_signal,
    resolve_lab_name,
    spec_options,
)
from labgen.cli.output import print_json
from labgen.errors import BadOptionValue, NoSuchTarget
from labgen.lab.handle import LabHandle
from labgen.model.grammar import excerpt


@app.command(rich_help_panel="break and prove")
@spec_options(sets=False)
def chaos(
    action: Annotated[str, typer.Argument(help=f"list, {', '.join(faults.ACTIONS)}.")],
    target: Annotated[
        str | None,
        typer.Argument(help="A service: nfs, jenkins01, ..., haproxy (in the ha profile also the promoter)."),
    ] = None,
    lab_name: LabOpt = None,
    signal: Annotated[str, typer.Option("--signal", help="Signal for kill.")] = "SIGKILL",
    stop_time: Annotated[int, typer.Option("--time", help="Seconds stop/restart wait before SIGKILL.")] = 10,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Break the lab: one fault on one service, recorded in the lab's event log."""
    if action != "list" and action not in faults.ACTIONS:
        raise BadOptionValue(f"unknown chaos action {excerpt(action)}; valid: {', '.join(faults.ACTIONS)}")
    signal = check_signal(signal)
    check_number("--time", stop_time, minimum=0, maximum=3600)
    handle = LabHandle.open(resolve_lab_name(lab_name, spec_args))
    if action == "list":
        states = faults.list_targets(handle)
        if json_output:
            print_json([asdict(s) for s in states])
            return
        table = Table("target", "container", "state", title=f"lab {handle.name}: chaos targets")
        for state in states:
            table.add_row(state.target, state.container or "-", state.state)
        out.print(table)
        out.print(f"actions: {', '.join(faults.ACTIONS)}")
        return
    if target is None:
        valid = ", ".join(faults.targets(handle.topology))
        raise NoSuchTarget(f"chaos {action} needs a TARGET; valid: {valid}")
    result = faults.apply(handle, action, target, signal=signal, stop_timeout=stop_time)
    if json_output:
        print_json(asdict(result))
    else:
        out.print(f"{action} {target} ({result.container}): {result.detail}")
