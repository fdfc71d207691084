"""Options shared by commands, declared once.

`@spec_options(...)` adds `--spec`, `--set` and the named spec options to a command and hands
it one `SpecArgs`, which loads the lab spec (file, overrides, named options) in one way."""

from __future__ import annotations

import functools
import inspect
import math
import os
import signal
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from labgen.errors import BadOptionValue, BadPath, LabNotChosen, NoSuchLab
from labgen.lab import docker as lab_docker
from labgen.lab.docker import running_labs
from labgen.lab.folder import known_labs, labs_on_disk
from labgen.model.grammar import check_lab_name, excerpt
from labgen.model.spec import DEFAULT_SPEC_FILE, LabSpec, load_lab, parse_override
from labgen.paths import check_output_folder, user_path

F = TypeVar("F", bound=Callable[..., Any])

SpecOpt = Annotated[
    str | None, typer.Option("--spec", "-f", help=f"Lab spec file (default: ./{DEFAULT_SPEC_FILE} if present).")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override any spec field: --set haproxy.check.rise=2 (repeatable).")
]
LabOpt = Annotated[
    str | None, typer.Option("--lab", help="Lab name (default: the spec's, or the only lab on this machine).")
]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help='Print the result as JSON on stdout; errors too, as {"error", "hint", "exit_code"} on stdout.',
    ),
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show every build line.")]

# Named spec options: option name -> (the spec field it sets, its typer annotation)
SPEC_FIELDS: dict[str, tuple[str, Any]] = {
    "name": ("name", Annotated[str | None, typer.Option("--name", help="Lab name.")]),
    "profile": ("profile", Annotated[str | None, typer.Option("--profile", help="HAProxy profile: ha or article.")]),
    "haproxy_version": (
        "haproxy.version",
        Annotated[str | None, typer.Option("--haproxy-version", help="2.0.x or 2.6.x.")],
    ),
    "jenkins_flavour": (
        "jenkins.flavour",
        Annotated[str | None, typer.Option("--jenkins-flavour", help="auto, real or lite.")],
    ),
    "masters": (
        "jenkins.masters",
        Annotated[int | None, typer.Option("--masters", help="Number of Jenkins masters (2-4).")],
    ),
    "bind": ("ports.bind", Annotated[str | None, typer.Option("--bind", help="Address the published ports bind to.")]),
    "http_port": (
        "ports.http",
        Annotated[int | None, typer.Option("--http-port", help="Host port for Jenkins through HAProxy.")],
    ),
    "stats_port": (
        "ports.stats",
        Annotated[int | None, typer.Option("--stats-port", help="Host port for HAProxy's stats page.")],
    ),
    "agent_port": (
        "ports.agent",
        Annotated[int | None, typer.Option("--agent-port", help="Host port for inbound agents.")],
    ),
    "check_inter": (
        "haproxy.check.inter_ms",
        Annotated[int | None, typer.Option("--check-inter", help="Health-check interval in ms.")],
    ),
    "rise": ("haproxy.check.rise", Annotated[int | None, typer.Option("--rise", help="Checks to mark a master UP.")]),
    "fall": ("haproxy.check.fall", Annotated[int | None, typer.Option("--fall", help="Checks to mark a master DOWN.")]),
    "stats_user": ("stats.user", Annotated[str | None, typer.Option("--stats-user", help="Stats page user.")]),
    "stats_password": (
        "stats.password",
        Annotated[str | None, typer.Option("--stats-password", help="Stats page password (default: generated).")],
    ),
}
ALL_SPEC_OPTIONS = tuple(SPEC_FIELDS)
RUN_SPEC_OPTIONS = tuple(k for k in SPEC_FIELDS if k not in ("stats_user", "stats_password"))


@dataclass
class SpecArgs:
    """What a command was told about the spec: a file, --set assignments, named options."""

    file: str | None = None
    sets: list[str] = field(default_factory=list)
    named: dict[str, Any] = field(default_factory=dict)

    def overrides(self) -> dict[str, Any]:
        overrides = dict(parse_override(item) for item in self.sets)
        overrides.update({SPEC_FIELDS[key][0]: value for key, value in self.named.items() if value is not None})
        return overrides

    def spec_file(self) -> Path | None:
        if self.file is None:
            return Path(DEFAULT_SPEC_FILE) if Path(DEFAULT_SPEC_FILE).exists() else None
        return user_path(self.file, "--spec")

    def load(self, *, read_file: bool = True) -> LabSpec:
        return load_lab(self.spec_file() if read_file else None, self.overrides())


def extend_command(
    command: F, into: str, extra: list[inspect.Parameter], collect: Callable[[dict[str, Any]], Any]
) -> F:
    """`command` with the options `extra` added to its signature (for typer); it receives what they
    were given as one argument, `into`, made by `collect` from {option name: value}."""
    hints = typing.get_type_hints(command, include_extras=True)
    signature = inspect.signature(command)
    params = [
        p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values() if p.name != into
    ]
    names = [p.name for p in extra]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in names}
        return command(**kwargs, **{into: collect(given)})

    wrapper.__signature__ = signature.replace(parameters=params + extra)  # type: ignore[attr-defined]
    del wrapper.__wrapped__  # typer must read the new signature, not the command's
    wrapper.__annotations__ = {}
    return typing.cast(F, wrapper)


def _keyword(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def spec_options(*names: str, file: bool = True, sets: bool = True) -> Callable[[F], F]:
    """Add the spec options to a command; it receives them as `spec_args: SpecArgs`."""
    extra = [
        *([_keyword("spec", SpecOpt)] if file else []),
        *([_keyword("sets", SetOpt)] if sets else []),
        *(_keyword(n, SPEC_FIELDS[n][1]) for n in names),
    ]

    def collect(given: dict[str, Any]) -> SpecArgs:
        return SpecArgs(given.pop("spec", None), given.pop("sets", None) or [], given)

    return lambda command: extend_command(command, "spec_args", extra, collect)


def option_group(into: str, options: dict[str, tuple[Any, Any]]) -> Callable[[F], F]:
    """Add a group of options shared by several commands ({name: (annotation, default)}); the
    command receives them as one dict, `into`."""
    extra = [_keyword(name, annotation, default) for name, (annotation, default) in options.items()]
    return lambda command: extend_command(command, into, extra, dict)


def resolve_lab_name(lab_name: str | None, spec_args: SpecArgs) -> str:
    """--lab, else the spec's name, else the only (running) lab on this machine; a lab that
    exists (on disk or in Docker). `--lab ""` is an error, never "not given"."""
    if lab_name is not None or spec_args.spec_file() is not None:
        name = check_lab_name(lab_name) if lab_name is not None else spec_args.load().name
        if name in labs_on_disk() or name in lab_docker.lab_names():  # lab_names(): Docker must answer (else exit 3)
            return name
        known = known_labs()
        raise NoSuchLab(
            f"no lab named {name!r} on this machine",
            hint=f"known labs: {', '.join(known)}" if known else "start one with `labgen up`",
        )
    running = running_labs()
    if len(running) == 1:
        return running[0]
    labs = running or known_labs()
    if not labs:
        raise NoSuchLab("no lab found on this machine", hint="start one with `labgen up`")
    state = "running" if running else "known (none running)"
    raise LabNotChosen(f"several labs {state}: {', '.join(labs)}", hint="choose one with --lab NAME")


# ---- numbers and names from the command line, checked before anything runs ---------------------------


def check_number(option: str, value: float, *, minimum: float, maximum: float, exclusive: bool = False) -> None:
    """`value` within [minimum, maximum] ((minimum, maximum] when `exclusive`), finite."""
    low_ok = value > minimum if exclusive else value >= minimum
    if not (math.isfinite(value) and low_ok and value <= maximum):
        low = f"more than {minimum:g}" if exclusive else f"at least {minimum:g}"
        raise BadOptionValue(f"{option} {value:g}: allowed: {low} and at most {maximum:g}")


def check_choice(option: str, value: str, allowed: typing.Iterable[str]) -> str:
    choices = list(allowed)
    if value not in choices:
        raise BadOptionValue(f"{option} {excerpt(value)}: allowed values are {', '.join(choices)}")
    return value


def check_signal(value: str) -> str:
    """A signal as Docker takes it: a name from Python's signal module (SIGKILL, KILL) or a number."""
    text = value.strip().upper()
    if text.isdigit() and int(text) in {int(s) for s in signal.valid_signals()}:
        return text
    name = text if text.startswith("SIG") else f"SIG{text}"
    if name in signal.Signals.__members__:
        return name
    raise BadOptionValue(
        f"--signal {excerpt(value)}: not a signal; allowed: a name such as SIGKILL, SIGTERM, SIGINT, SIGHUP "
        "(with or without SIG) or its number"
    )


def check_tail(value: str) -> int | str:
    """`--tail`: "all" or a number of lines."""
    text = value.strip().lower()
    if text == "all":
        return "all"
    if text.isdigit() and text.isascii():
        return int(text)
    raise BadOptionValue(f"--tail {excerpt(value)}: allowed: a number of lines (0 or more) or all")


def input_file(option: str, raw: str | None) -> Path | None:
    """A file the user gives us to read: it exists and is a readable file."""
    if raw is None:
        return None
    path = user_path(raw, option)
    if not path.exists():
        raise BadPath(f"{option} {raw}: no such file", hint="check the path")
    if path.is_dir():
        raise BadPath(f"{option} {raw}: is a folder, not a file")
    if not path.is_file():
        raise BadPath(f"{option} {raw}: not a regular file (a pipe or a device?)")
    if not os.access(path, os.R_OK):
        raise BadPath(f"{option} {raw}: not readable for you", hint="fix its permissions")
    return path


def report_folder(raw: str | None) -> Path | None:
    """`--report`: a folder the reports can be written to (None: the lab's own reports folder).
    Read as text, not as a Path, so that an empty value is refused rather than taken as "."."""
    if raw is None:
        return None
    folder = user_path(raw, "--report")
    check_output_folder(folder, "--report")
    return folder


def check_verify_options(*, trials: int, rate: float, timeout: float) -> None:
    """`verify failover`'s numbers, before the lab is touched."""
    check_number("--trials", trials, minimum=1, maximum=100)
    check_number("--rate", rate, minimum=1, maximum=100)  # requests per second
    check_number("--timeout", timeout, minimum=0, maximum=3600, exclusive=True)
