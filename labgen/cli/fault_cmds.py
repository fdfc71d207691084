"""`labgen verify fault` and `labgen verify matrix`: any service's fault, held, healed and measured."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labgen.chaos import FAULTS, VERIFIABLE
from labgen.cli.app import out
from labgen.cli.options import JsonOpt, LabOpt, SpecArgs, check_number, report_folder, resolve_lab_name, spec_options
from labgen.cli.output import print_json, progress
from labgen.cli.verify_cmds import ProbeTimeoutOpt, ReportOpt, verify_app
from labgen.errors import BadOptionValue, CheckFailed
from labgen.paths import lab_dir
from labgen.verify.experiment import DEFAULT_PROBE_TIMEOUT
from labgen.verify.faults import FaultPlan, matrix_plans, matrix_services, run_faults
from labgen.verify.model import FaultResult
from labgen.verify.report import FAULT_COLUMNS, fault_rows, write_fault_reports

TrialsOpt = Annotated[int, typer.Option("--trials", help="Trials of each (service, fault).")]
HoldOpt = Annotated[float, typer.Option("--hold", help="Seconds the fault lasts before it is healed.")]
FaultRateOpt = Annotated[float, typer.Option("--rate", help="Probe requests per second through HAProxy.")]
RecoverOpt = Annotated[
    float, typer.Option("--timeout", help="Seconds after the heal for the lab to serve consistently again.")
]


ServicesArg = Annotated[
    list[str] | None,
    typer.Argument(help="nfs, haproxy (also the promoter), a master, or active / standby (a master by its role)."),
]
ActionsOpt = Annotated[
    list[str] | None, typer.Option("--action", help="kill, stop, pause, partition or reload; repeat for several.")
]
FAULT_HELP = (
    "Break a service (nfs, haproxy, a master) while probing and writing through HAProxy, hold the fault, heal "
    "it, and report what clients saw (ok, failed, hung), how long after the heal the lab served (consistently) "
    "again, and lost writes. Default --action kill. Exit 1 when a trial fails."
)
MATRIX_HELP = (
    "Every (service x fault): nfs, haproxy, the active and the standby master (or the SERVICEs given), each "
    "killed, stopped, paused and partitioned (or the --actions given), healed and measured; one report (JSON, "
    "JUnit XML, HTML). Exit 1 when a trial fails."
)


def _command(matrix: bool) -> Callable[..., None]:
    @spec_options(sets=False)
    def command(
        services: ServicesArg = None,
        lab_name: LabOpt = None,
        actions: ActionsOpt = None,
        trials: TrialsOpt = 1,
        hold: HoldOpt = 10.0,
        rate: FaultRateOpt = 10.0,
        timeout: RecoverOpt = 60.0,
        report: ReportOpt = None,
        probe_timeout: ProbeTimeoutOpt = DEFAULT_PROBE_TIMEOUT,
        json_output: JsonOpt = False,
        *,
        spec_args: SpecArgs,
    ) -> None:
        if not services and not matrix:
            raise BadOptionValue("name the service to break", hint="e.g. `labgen verify fault nfs`")
        if matrix and not services and not actions:
            plans = matrix_plans(hold, rate, timeout)
        else:
            chosen = services or matrix_services()
            kinds = actions or (list(FAULTS) if matrix else ["kill"])
            plans = [FaultPlan(service, action, hold, rate, timeout) for service in chosen for action in kinds]
        _run(lab_name, spec_args, plans, trials, probe_timeout, report, json_output)

    return command


verify_app.command("fault", help=FAULT_HELP)(_command(matrix=False))
verify_app.command("matrix", help=MATRIX_HELP)(_command(matrix=True))


def _run(
    lab_name: str | None,
    spec_args: SpecArgs,
    plans: list[FaultPlan],
    trials: int,
    probe_timeout: float | None,
    report_raw: str | None,
    json_output: bool,
) -> None:
    report = report_folder(report_raw)
    check_number("--trials", trials, minimum=1, maximum=100)
    check_number("--hold", plans[0].hold, minimum=1, maximum=600)
    check_number("--rate", plans[0].rate, minimum=1, maximum=100)
    check_number("--timeout", plans[0].timeout, minimum=5, maximum=600)
    unknown = sorted({plan.action for plan in plans} - set(VERIFIABLE))
    if unknown:
        raise BadOptionValue(f"unknown --action {unknown[0]!r}; valid: {', '.join(VERIFIABLE)}")
    if probe_timeout is not None:
        check_number("--probe-timeout", probe_timeout, minimum=0.5, maximum=120)
    name = resolve_lab_name(lab_name, spec_args)
    with progress(quiet=json_output) as emitter:
        result = run_faults(name, plans, trials=trials, probe_timeout=probe_timeout, emitter=emitter)
    folder = report or lab_dir(name) / "reports" / time.strftime("fault-%Y%m%d-%H%M%S")
    paths = write_fault_reports(result, folder)
    if json_output:
        trials_summary = [t.summary() for t in result.trials]
        print_json({"lab": name, "verdict": "pass" if result.passed else "fail", "trials": trials_summary})
    else:
        _print(name, result, paths["html"])
    if not result.passed:
        failed = sum(t.verdict == "fail" for t in result.trials)
        raise CheckFailed(f"fault verdict: FAIL ({failed}/{len(result.trials)} trials failed)")


def _print(name: str, result: FaultResult, html: Path) -> None:
    table = Table(
        "#",
        *(column for column, _meaning in FAULT_COLUMNS),
        "verdict",
        title=f"lab {name}: faults ({result.profile} profile, {result.flavour or '?'} Jenkins)",
    )
    for t, cells in zip(result.trials, fault_rows(result), strict=True):
        table.add_row(str(t.number), *cells, "[green]pass[/]" if t.verdict == "pass" else "[red]fail[/]")
    out.print(table)
    for t in result.trials:
        for reason in t.reasons:
            out.print(f"  trial {t.number}: {reason}")
    out.print(f"verdict: {'[green]PASS[/]' if result.passed else '[red]FAIL[/]'}; report: {html}")
