"""`labgen verify failover`: the experiment, a table, and the reports."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labgen.cli.app import app, out
from labgen.cli.options import JsonOpt, LabOpt, SpecArgs, resolve_lab_name, spec_options
from labgen.cli.output import print_json, progress
from labgen.errors import EXIT_FAILED, LabgenError
from labgen.paths import lab_dir
from labgen.verify import VerifyResult, run_failover
from labgen.verify.report import aggregate, to_json, write_reports
from labgen.wire.files import format_seconds

verify_app = typer.Typer(help="Prove a failover with numbers.", no_args_is_help=True)
app.add_typer(verify_app, name="verify", rich_help_panel="break and prove")


@verify_app.command("failover")
@spec_options(sets=False)
def verify_failover(
    lab_name: LabOpt = None,
    target: Annotated[str | None, typer.Option("--target", help="Master to break (default: the active one).")] = None,
    action: Annotated[str, typer.Option("--action", help="kill, stop, pause or partition.")] = "kill",
    trials: Annotated[int, typer.Option("--trials", help="Number of trials (each targets the active master).")] = 1,
    rate: Annotated[float, typer.Option("--rate", help="Probe requests per second through HAProxy.")] = 20.0,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for recovery per trial.")] = 60.0,
    report: Annotated[Path | None, typer.Option("--report", help="Folder for JSON, JUnit XML and HTML.")] = None,
    keep_jobs: Annotated[
        bool, typer.Option("--keep-jobs", help="Keep the jobs a trial wrote (default: deleted once checked).")
    ] = False,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Break the active master while probing and writing through HAProxy; report detection, recovery,
    failed requests and lost writes. Exit 1 when a trial fails."""
    name = resolve_lab_name(lab_name, spec_args)
    with progress(quiet=json_output) as emitter:
        result = run_failover(
            name,
            target=target,
            action=action,
            trials=trials,
            rate=rate,
            timeout=timeout,
            keep_jobs=keep_jobs,
            emitter=emitter,
        )
    folder = report or lab_dir(name) / "reports" / time.strftime("%Y%m%d-%H%M%S")
    paths = write_reports(result, folder)
    if json_output:
        trials_summary = [t.summary() for t in result.trials]
        print_json({**to_json(result), "trials": trials_summary, "reports": {k: str(v) for k, v in paths.items()}})
    else:
        _print_result(name, result, paths["html"])
    if not result.passed:
        summary = aggregate(result)
        raise LabgenError(
            f"failover verdict: FAIL ({summary['passed']}/{summary['trials']} trials passed)", exit_code=EXIT_FAILED
        )


def _print_result(name: str, result: VerifyResult, html: Path) -> None:
    table = Table(
        "#",
        "fault",
        "DOWN",
        "first 200",
        "consistent",
        "failed req",
        "lost/acked",
        "agent",
        "verdict",
        title=f"lab {name}: failover ({result.profile} profile, {result.flavour or '?'} Jenkins)",
    )
    for t in result.trials:
        table.add_row(
            str(t.number),
            f"{t.action} {t.target}",
            format_seconds(t.detection_s),
            format_seconds(t.first_success_s),
            format_seconds(t.consistent_s),
            f"{t.failed_requests}/{t.requests}",
            f"{len(t.lost)}/{t.acknowledged}",
            format_seconds(t.agent_s),
            "[green]pass[/]" if t.verdict == "pass" else "[red]fail[/]",
        )
    out.print(table)
    for t in result.trials:
        for reason in t.reasons:
            out.print(f"  trial {t.number}: {reason}")
    summary = aggregate(result)
    out.print(
        f"verdict: {'[green]PASS[/]' if result.passed else '[red]FAIL[/]'} "
        f"({summary['passed']}/{summary['trials']} trials); report: {html}"
    )
