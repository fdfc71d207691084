"""The typer application, the consoles, and the one place errors become messages and exit codes."""

from __future__ import annotations

import sys
import traceback
from typing import Annotated

import typer
from rich.console import Console

from labgen import __version__
from labgen.errors import LabgenError

app = typer.Typer(
    name="labgen",
    help="Generate, run, break and verify a Jenkins HA lab: HAProxy in front of two masters sharing "
    "JENKINS_HOME over NFS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)
_debug = {"on": False}


def _show_version(value: bool) -> None:
    if value:
        out.print(f"labgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Print labgen's version.", callback=_show_version, is_eager=True)
    ] = False,
) -> None:
    _debug["on"] = debug


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit status; errors become one message (tracebacks with --debug)."""
    try:
        app(args=argv, prog_name="labgen")
    except SystemExit as exc:  # typer's own exit: usage errors (2), typer.Exit(n), success
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except LabgenError as exc:
        if _debug["on"]:
            traceback.print_exc()
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err.print(f"[dim]hint:[/] {exc.hint}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:
        if _debug["on"]:
            raise
        err.print(f"[bold red]internal error:[/] {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1
    return 0


def main() -> None:
    sys.exit(run())
