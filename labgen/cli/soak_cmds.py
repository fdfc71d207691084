"""`labgen verify soak`: a long run that keeps the lab busy and reports every 500, collision and outage."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from labgen.cli.app import out
from labgen.cli.options import JsonOpt, LabOpt, SpecArgs, check_number, report_folder, resolve_lab_name, spec_options
from labgen.cli.output import print_json, progress
from labgen.cli.verify_cmds import ReportOpt, verify_app
from labgen.errors import CheckFailed
from labgen.paths import lab_dir
from labgen.verify.soak import SoakResult, run_soak
from labgen.wire.files import write_atomic


@verify_app.command("soak")
@spec_options(sets=False)
def verify_soak(
    duration: Annotated[float, typer.Option("--duration", help="Seconds to keep the lab busy.")],
    lab_name: LabOpt = None,
    report: ReportOpt = None,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Keep the lab busy through HAProxy (health probes, builds, job changes) for --duration seconds;
    report every answer that was not a 200 (Jenkins' 'more than one Jenkins' page apart), every outage
    and JENKINS-23152 build collision, with times. Exit 1 when the lab stopped serving."""
    folder = report_folder(report)
    check_number("--duration", duration, minimum=1, maximum=7 * 24 * 3600)
    name = resolve_lab_name(lab_name, spec_args)
    with progress(quiet=json_output) as emitter:
        result = run_soak(name, duration=duration, emitter=emitter)
    folder = folder or lab_dir(name) / "reports" / time.strftime("soak-%Y%m%d-%H%M%S")
    path = folder / "soak.json"
    write_atomic(path, (json.dumps(result.to_json(), indent=2) + "\n").encode())
    if json_output:
        print_json({**result.to_json(), "report": str(path)})
    else:
        _print(result, path)
    if not result.passed:
        raise CheckFailed(f"soak verdict: FAIL ({'; '.join(result.reasons)})")


def _print(result: SoakResult, path: Path) -> None:
    out.print(
        f"soak of lab {result.lab} ({result.profile}), {result.duration:g} s: {result.probes_ok}/{result.probes} "
        f"probes answered 200, {result.collision_pages} 'more than one Jenkins' pages, {result.errors} other "
        f"errors, {len(result.outages)} outages ({result.outage_seconds:g} s in all), "
        f"{len(result.build_collisions)} JENKINS-23152 build collisions, {len(result.owner_collisions)} "
        f".owner collisions logged by the masters, {result.builds_posted} builds posted"
    )
    for event in result.events:
        if event.kind in ("outage-start", "outage-end", "build-refused"):
            who = event.served_by or "-"
            out.print(f"  {event.t:8.2f} s  {event.kind}  HTTP {event.status}  {who}  {event.detail}")
    if result.promoter:
        answered = result.promoter.get("collisions") or []
        out.print(f"  the promoter answered {len(answered)} collision pages (POST /ignore)")
    out.print(f"verdict: {'PASS' if result.passed else 'FAIL'}; report: {path}")
