"""`labgen verify failover` and `labgen verify switchover`: the experiments, a table, and the reports."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labgen.cli.app import app, out
from labgen.cli.options import (
    JsonOpt,
    LabOpt,
    SpecArgs,
    check_number,
    check_verify_options,
    option_group,
    report_folder,
    resolve_lab_name,
    spec_options,
)
from labgen.cli.output import print_json, progress
from labgen.cli.switchover_cmds import ToOpt
from labgen.errors import CheckFailed
from labgen.paths import lab_dir
from labgen.verify import VerifyResult, run_failover, run_switchover
from labgen.verify.experiment import DEFAULT_PROBE_TIMEOUT
from labgen.verify.report import aggregate, to_json, write_reports
from labgen.wire.files import format_seconds

verify_app = typer.Typer(help="Prove a failover or a switchover with numbers.", no_args_is_help=True)
app.add_typer(verify_app, name="verify", rich_help_panel="break and prove")

TrialsOpt = Annotated[int, typer.Option("--trials", help="Number of trials (each targets the active master).")]
RateOpt = Annotated[float, typer.Option("--rate", help="Probe requests per second through HAProxy.")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for recovery per trial.")]
ReportOpt = Annotated[str | None, typer.Option("--report", help="Folder for JSON, JUnit XML and HTML.")]
KeepJobsOpt = Annotated[
    bool, typer.Option("--keep-jobs", help="Keep the jobs a trial wrote (default: deleted once checked).")
]
ProbeTimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--probe-timeout",
        help="Seconds a probe waits for its answer before it counts as unknown (default: the lab's "
        "haproxy.hold_timeout_s + 5, so that a request held through a whole promotion is measured).",
    ),
]


# The options every trial-based experiment takes: {name: (annotation, default)}
TRIAL_OPTIONS: dict[str, tuple[Any, Any]] = {
    "trials": (TrialsOpt, 1),
    "rate": (RateOpt, 20.0),
    "timeout": (TimeoutOpt, 60.0),
    "report": (ReportOpt, None),
    "keep_jobs": (KeepJobsOpt, False),
    "probe_timeout": (ProbeTimeoutOpt, DEFAULT_PROBE_TIMEOUT),
    "json_output": (JsonOpt, False),
}


@verify_app.command("failover")
@spec_options(sets=False)
@option_group("trial", TRIAL_OPTIONS)
def verify_failover(
    lab_name: LabOpt = None,
    target: Annotated[str | None, typer.Option("--target", help="Master to break (default: the active one).")] = None,
    action: Annotated[str, typer.Option("--action", help="kill, stop, pause or partition.")] = "kill",
    *,
    spec_args: SpecArgs,
    trial: dict[str, Any],
) -> None:
    """Break the active master while probing and writing through HAProxy; report detection, recovery,
    failed and unknown requests, latency and lost writes. Exit 1 when a trial fails."""
    _measure(run_failover, lab_name, spec_args, trial, target=target, action=action)


@verify_app.command("switchover")
@spec_options(sets=False)
@option_group("trial", TRIAL_OPTIONS)
def verify_switchover(
    lab_name: LabOpt = None,
    to: ToOpt = None,
    *,
    spec_args: SpecArgs,
    trial: dict[str, Any],
) -> None:
    """Planned switchovers (`labgen switchover`) while probing and writing through HAProxy, measured
    like a fault: a trial fails on any failed or unanswered request or lost write. Exit 1 then."""
    _measure(run_switchover, lab_name, spec_args, trial, to=to)


def _measure(
    runner: Callable[..., VerifyResult], lab_name: str | None, spec_args: SpecArgs, trial: dict[str, Any], **extra: Any
) -> None:
    """Check the options, run the experiment with a progress display, print and write the reports."""
    common = dict(trial)
    report, json_output = report_folder(common.pop("report")), common.pop("json_output")
    check_verify_options(trials=common["trials"], rate=common["rate"], timeout=common["timeout"])
    if common["probe_timeout"] is not None:
        check_number("--probe-timeout", common["probe_timeout"], minimum=0.5, maximum=120)
    name = resolve_lab_name(lab_name, spec_args)
    with progress(quiet=json_output) as emitter:
        result = runner(name, emitter=emitter, **common, **extra)
    _finish(name, result, report, json_output)


def _finish(name: str, result: VerifyResult, report: Path | None, json_output: bool) -> None:
    kind = result.trials[0].experiment if result.trials else "failover"
    folder = report or lab_dir(name) / "reports" / time.strftime("%Y%m%d-%H%M%S")
    paths = write_reports(result, folder)
    if json_output:
        trials_summary = [t.summary() for t in result.trials]
        print_json({**to_json(result), "trials": trials_summary, "reports": {k: str(v) for k, v in paths.items()}})
    else:
        _print_result(name, result, paths["html"])
    if not result.passed:
        summary = aggregate(result)
        raise CheckFailed(f"{kind} verdict: FAIL ({summary['passed']}/{summary['trials']} trials passed)")


def _print_result(name: str, result: VerifyResult, html: Path) -> None:
    table = Table(
        "#",
        "fault",
        "DOWN",
        "first 200",
        "consistent",
        "failed/unknown/req",
        "latency p50/p99/max",
        "lost/acked",
        "agent",
        "verdict",
        title=f"lab {name}: {result.trials[0].experiment if result.trials else 'failover'} "
        f"({result.profile} profile, {result.flavour or '?'} Jenkins; recovery timed by answer)",
    )
    for t in result.trials:
        table.add_row(
            str(t.number),
            f"{t.action} {t.target}",
            format_seconds(t.detection_s),
            format_seconds(t.first_success_s),
            format_seconds(t.consistent_s),
            f"{t.failed_requests}/{t.unknown_requests}/{t.requests}",
            f"{format_seconds(t.latency_p50_s)}/{format_seconds(t.latency_p99_s)}/{format_seconds(t.latency_max_s)}",
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
