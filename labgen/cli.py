"""The labgen command line. The only module that prints."""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import jinja2
import typer
from rich.console import Console

from labgen import __version__
from labgen.errors import EXIT_USAGE, LabgenError, SpecError
from labgen.events import Emitter, Event
from labgen.lint import article_config, lint_text
from labgen.render import generate as render_lab
from labgen.render import render_files
from labgen.spec import DEFAULT_SPEC_FILE, Lab, load_lab, parse_override

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


# ---- options shared by the commands that read a spec -------------------------------------------

SpecOpt = Annotated[
    Path | None, typer.Option("--spec", "-f", help=f"Lab spec file (default: ./{DEFAULT_SPEC_FILE} if present).")
]
SetOpt = Annotated[
    list[str] | None, typer.Option("--set", help="Override any spec field: --set haproxy.check.rise=2 (repeatable).")
]
NameOpt = Annotated[str | None, typer.Option("--name", help="Lab name.")]
ProfileOpt = Annotated[str | None, typer.Option("--profile", help="HAProxy profile: ha or article.")]
HAProxyVersionOpt = Annotated[str | None, typer.Option("--haproxy-version", help="2.0.x or 2.6.x.")]
FlavourOpt = Annotated[str | None, typer.Option("--jenkins-flavour", help="auto, real or lite.")]
MastersOpt = Annotated[int | None, typer.Option("--masters", help="Number of Jenkins masters (2-4).")]
BindOpt = Annotated[str | None, typer.Option("--bind", help="Address the published ports bind to.")]
HttpPortOpt = Annotated[int | None, typer.Option("--http-port", help="Host port for Jenkins through HAProxy.")]
StatsPortOpt = Annotated[int | None, typer.Option("--stats-port", help="Host port for HAProxy's stats page.")]
AgentPortOpt = Annotated[int | None, typer.Option("--agent-port", help="Host port for inbound agents.")]
InterOpt = Annotated[int | None, typer.Option("--check-inter", help="Health-check interval in ms.")]
RiseOpt = Annotated[int | None, typer.Option("--rise", help="Checks to mark a master UP.")]
FallOpt = Annotated[int | None, typer.Option("--fall", help="Checks to mark a master DOWN.")]
StatsUserOpt = Annotated[str | None, typer.Option("--stats-user", help="Stats page user.")]
StatsPasswordOpt = Annotated[
    str | None, typer.Option("--stats-password", help="Stats page password (default: generated).")
]

_OPTION_FIELDS = {
    "name": "name",
    "profile": "profile",
    "haproxy_version": "haproxy.version",
    "jenkins_flavour": "jenkins.flavour",
    "masters": "jenkins.masters",
    "bind": "ports.bind",
    "http_port": "ports.http",
    "stats_port": "ports.stats",
    "agent_port": "ports.agent",
    "check_inter": "haproxy.check.inter_ms",
    "rise": "haproxy.check.rise",
    "fall": "haproxy.check.fall",
    "stats_user": "stats.user",
    "stats_password": "stats.password",
}


def _lab_from(spec: Path | None, sets: list[str] | None, **options: Any) -> Lab:
    if spec is None and Path(DEFAULT_SPEC_FILE).exists():
        spec = Path(DEFAULT_SPEC_FILE)
    overrides = dict(parse_override(item) for item in sets or [])
    overrides.update({_OPTION_FIELDS[key]: value for key, value in options.items() if value is not None})
    return load_lab(spec, overrides)


def _print_event(event: Event) -> None:
    style = {"warn": "bold yellow", "step": "cyan", "done": "green"}.get(event.level, "dim")
    prefix = "!" if event.level == "warn" else "•"
    err.print(f"[{style}]{prefix}[/] {event.message}", highlight=False)


def _emitter(quiet: bool = False) -> Emitter:
    emitter = Emitter()
    if not quiet:
        emitter.subscribe(_print_event)
    return emitter


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# ---- init / generate / lint ----------------------------------------------------------------------


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the spec.")] = Path(DEFAULT_SPEC_FILE),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing spec.")] = False,
    sets: SetOpt = None,
    name: NameOpt = None,
    profile: ProfileOpt = None,
    haproxy_version: HAProxyVersionOpt = None,
    jenkins_flavour: FlavourOpt = None,
    masters: MastersOpt = None,
) -> None:
    """Write a lab spec with every field spelled out and explained."""
    if path.exists() and not force:
        raise LabgenError(f"{path} already exists", hint="use --force to overwrite it", exit_code=EXIT_USAGE)
    lab = load_lab(
        None,
        _overrides(
            sets,
            name=name,
            profile=profile,
            haproxy_version=haproxy_version,
            jenkins_flavour=jenkins_flavour,
            masters=masters,
        ),
    )
    env = jinja2.Environment(loader=jinja2.PackageLoader("labgen", "templates"), undefined=jinja2.StrictUndefined)
    path.write_text(env.get_template("labgen.yaml.j2").render(lab=lab), encoding="utf-8")
    out.print(f"wrote {path}: edit it, then run `labgen generate` or `labgen up`")


def _overrides(sets: list[str] | None, **options: Any) -> dict[str, Any]:
    overrides = dict(parse_override(item) for item in sets or [])
    overrides.update({_OPTION_FIELDS[key]: value for key, value in options.items() if value is not None})
    return overrides


@app.command()
def generate(
    spec: SpecOpt = None,
    out_dir: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: ./<lab name>).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    sets: SetOpt = None,
    name: NameOpt = None,
    profile: ProfileOpt = None,
    haproxy_version: HAProxyVersionOpt = None,
    jenkins_flavour: FlavourOpt = None,
    masters: MastersOpt = None,
    bind: BindOpt = None,
    http_port: HttpPortOpt = None,
    stats_port: StatsPortOpt = None,
    agent_port: AgentPortOpt = None,
    check_inter: InterOpt = None,
    rise: RiseOpt = None,
    fall: FallOpt = None,
    stats_user: StatsUserOpt = None,
    stats_password: StatsPasswordOpt = None,
) -> None:
    """Render the lab (compose.yaml, haproxy.cfg, ganesha.conf, secrets.env) from the spec."""
    lab = _lab_from(
        spec,
        sets,
        name=name,
        profile=profile,
        haproxy_version=haproxy_version,
        jenkins_flavour=jenkins_flavour,
        masters=masters,
        bind=bind,
        http_port=http_port,
        stats_port=stats_port,
        agent_port=agent_port,
        check_inter=check_inter,
        rise=rise,
        fall=fall,
        stats_user=stats_user,
        stats_password=stats_password,
    )
    target = out_dir or Path(lab.name)
    result = render_lab(lab, target)
    if json_output:
        _print_json(
            {"lab": lab.name, "profile": lab.profile, "out": str(target), "files": [str(f) for f in result.files]}
        )
        return
    out.print(f"lab [bold]{lab.name}[/] (profile {lab.profile}, HAProxy {lab.haproxy.version}) rendered into {target}/")
    for file in result.files:
        out.print(f"  {file}")
    out.print(f"check it with: docker compose -f {target / 'compose.yaml'} config -q")


@app.command()
def lint(
    profile: Annotated[
        str, typer.Option("--profile", help="article (the article's config as published) or ha.")
    ] = "article",
    config: Annotated[Path | None, typer.Option("--config", help="Lint this haproxy.cfg instead.")] = None,
    spec: SpecOpt = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print findings as JSON.")] = False,
) -> None:
    """Explain, line by line, each defect of the article's HAProxy config and what `ha` does instead."""
    if config is not None:
        try:
            text, source = config.read_text(encoding="utf-8"), str(config)
        except OSError as exc:
            raise SpecError(f"{config}: cannot read: {exc.strerror}") from None
    elif profile == "article":
        text, source = article_config(), "the article's haproxy.cfg (as published)"
    elif profile == "ha":
        lab = _lab_from(spec, None, profile="ha")
        text, source = (
            render_files(lab)["haproxy/haproxy.cfg"],
            f"the ha profile's haproxy.cfg (HAProxy {lab.haproxy.version})",
        )
    else:
        raise SpecError(f"--profile {profile!r}: allowed values are article, ha")
    findings = lint_text(text)
    if json_output:
        _print_json({"source": source, "findings": [asdict(f) for f in findings]})
    else:
        _print_findings(source, findings)
    if any(f.severity == "error" for f in findings):
        raise typer.Exit(1)


def _print_findings(source: str, findings: list[Any]) -> None:
    if not findings:
        out.print(f"{source}: no defects found")
        return
    colours = {"error": "red", "warning": "yellow", "advice": "blue"}
    out.print(f"[bold]{source}[/]: {len(findings)} findings\n")
    for f in findings:
        out.print(f"[bold]{f.line:>3}[/]  {f.text}", highlight=False)
        out.print(f"     [{colours[f.severity]}]{f.severity}[/]: {f.problem}", highlight=False)
        out.print(f"     [green]ha profile[/]: {f.ha_fix}\n", highlight=False)


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
