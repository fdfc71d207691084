"""The typer application, the consoles, and the one place errors become messages and exit codes."""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text
from typer.exceptions import TyperException

from labgen import __version__
from labgen.errors import EXIT_USAGE, LabgenError, os_problem

app = typer.Typer(
    name="labgen",
    help="Generate, run, break and verify a Jenkins HA lab: HAProxy in front of two masters sharing "
    "JENKINS_HOME over NFS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
LOG_WIDTH = 160


def _console(stderr: bool = False) -> Console:
    """Rich gives a pipe or a log file 80 columns, which squeezes verify's tables into unreadable
    stacks; a CI log has no right edge, so it gets LOG_WIDTH (COLUMNS, when set, still wins)."""
    stream = sys.stderr if stderr else sys.stdout
    wide = not (getattr(stream, "isatty", lambda: False)() or os.environ.get("COLUMNS"))
    return Console(stderr=stderr, width=LOG_WIDTH if wide else None)


out = _console()
err = _console(stderr=True)
_debug = {"on": False}
stdout_json = {"written": False}  # set by output.print_json: with --json, stdout holds one document


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
    """Run the CLI and return its exit status; errors become one message (tracebacks with --debug).

    With --json an error is JSON on stdout, where the result would have been:
    {"error": ..., "hint": ..., "exit_code": ...}; without it, text on stderr."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    stdout_json["written"] = False
    try:
        code = app(args=args, prog_name="labgen", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except typer.Exit as exc:  # --version, --help, typer.Exit(n)
        return int(getattr(exc, "exit_code", 0))
    except typer.Abort as exc:  # click turns an EOFError into Abort too: a truncated file is bad input
        if isinstance(exc.__cause__, EOFError):
            problem = LabgenError(f"a file ended early (truncated?): {exc.__cause__}", exit_code=EXIT_USAGE)
            return _report(problem, as_json)
        err.print("interrupted")
        return 130
    except TyperException as exc:  # usage errors: unknown option, a number that is not one, ...
        code = int(getattr(exc, "exit_code", EXIT_USAGE))
        if as_json:
            return _error_json(exc.format_message(), "see `labgen COMMAND --help`", code)
        show = getattr(exc, "show", None)  # usage line, then the error, on stderr
        if callable(show):
            show()
        else:
            err.print(exc.format_message(), markup=False)
        return code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except LabgenError as exc:
        return _report(exc, as_json)
    except OSError as exc:  # a path or the machine: one line, never a traceback
        return _report(os_problem(exc, "use"), as_json)
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    except Exception as exc:
        if _debug["on"]:
            raise
        message = f"{type(exc).__name__}: {exc}"
        if as_json:
            return _error_json(f"internal error: {message}", "run with --debug for the traceback, and report it", 1)
        err.print(Text.assemble(("internal error:", "bold red"), f" {message} (run with --debug for the traceback)"))
        return 1


def _report(exc: LabgenError, as_json: bool) -> int:
    if _debug["on"]:
        traceback.print_exc()
    if as_json:
        return _error_json(exc.message, exc.hint, exc.exit_code)
    err.print(Text.assemble(("error:", "bold red"), " ", exc.message), highlight=False)  # Text: no markup
    if exc.hint:
        err.print(Text.assemble(("hint:", "dim"), " ", exc.hint), highlight=False)
    return exc.exit_code


def _error_json(message: str, hint: str | None, exit_code: int) -> int:
    if stdout_json["written"]:  # the result is on stdout already (e.g. a failed verdict): the error goes to stderr
        err.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)
        return exit_code
    stdout_json["written"] = True
    sys.stdout.write(json.dumps({"error": message, "hint": hint, "exit_code": exit_code}, indent=2) + "\n")
    return exit_code


def main() -> None:
    sys.exit(run())
