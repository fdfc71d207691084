"""The labgen command line. The only module that prints."""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import jinja2
import typer
from rich.console import Console
from rich.table import Table

from labgen import __version__, runtime
from labgen.errors import EXIT_ENVIRONMENT, EXIT_USAGE, LabgenError, SpecError
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


def _spec_options(values: dict[str, Any]) -> dict[str, Any]:
    """The spec options a command was given, from its `locals()`."""
    return {key: values[key] for key in _OPTION_FIELDS if key in values}


def _lab_from(spec: Path | None, sets: list[str] | None, **options: Any) -> Lab:
    if spec is None and Path(DEFAULT_SPEC_FILE).exists():
        spec = Path(DEFAULT_SPEC_FILE)
    return load_lab(spec, _overrides(sets, **options))


class _ProgressPrinter:
    """Prints events as lines; noisy progress (build output) only updates a live status line."""

    def __init__(self, verbose: bool = False) -> None:
        self.verbose = verbose
        self.status: Any = None

    def __call__(self, event: Event) -> None:
        if event.kind.endswith(".progress") and not self.verbose:
            text = event.message.strip()[:100]
            if self.status is None:
                self.status = err.status(text)
                self.status.start()
            else:
                self.status.update(text)
            return
        style = {"warn": "bold yellow", "step": "cyan", "done": "green"}.get(event.level, "dim")
        prefix = "!" if event.level == "warn" else "•"
        err.print(f"[{style}]{prefix}[/] {event.message}", highlight=False)

    def close(self) -> None:
        if self.status is not None:
            self.status.stop()
            self.status = None


@contextlib.contextmanager
def _progress(quiet: bool = False, verbose: bool = False) -> Iterator[Emitter]:
    emitter = Emitter()
    printer = _ProgressPrinter(verbose)
    if not quiet:
        emitter.subscribe(printer)
    try:
        yield emitter
    finally:
        printer.close()


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
    lab = load_lab(None, _overrides(sets, **_spec_options(locals())))
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
    lab = _lab_from(spec, sets, **_spec_options(locals()))
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


# ---- build / up / down / status / logs / doctor -------------------------------------------------

LabOpt = Annotated[
    str | None, typer.Option("--lab", help="Lab name (default: the spec's, or the only lab on this machine).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
JenkinsOpt = Annotated[
    str | None,
    typer.Option("--jenkins", help="auto (real when the war and a Java 8/11 JDK are available), real or lite."),
]
HAProxySourceOpt = Annotated[Path | None, typer.Option("--haproxy-source", help="HAProxy source tarball to build.")]
WarOpt = Annotated[Path | None, typer.Option("--jenkins-war", help="jenkins.war 2.190.2 (checked against its sha256).")]
JdkOpt = Annotated[Path | None, typer.Option("--jdk", help="A Java 8 or 11 JDK tarball for the real flavour.")]
MirrorOpt = Annotated[
    str, typer.Option("--mirror", help="Where to download the war from: official or tsinghua (the article's).")
]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Show every build line.")]


def _build_options(
    jenkins: str | None, haproxy_source: Path | None, jenkins_war: Path | None, jdk: Path | None, mirror: str
) -> dict[str, Any]:
    if jenkins is not None and jenkins not in ("auto", "real", "lite"):
        raise SpecError(f"--jenkins {jenkins!r}: allowed values are auto, real, lite")
    if mirror not in ("official", "tsinghua"):
        raise SpecError(f"--mirror {mirror!r}: allowed values are official, tsinghua")
    options: dict[str, Any] = {
        "haproxy_source": haproxy_source,
        "jenkins_war": jenkins_war,
        "jdk": jdk,
        "mirror": mirror,
    }
    if jenkins is not None:
        options["jenkins"] = jenkins
    return options


def _resolve_lab_name(lab_name: str | None, spec: Path | None = None) -> str:
    if lab_name:
        return lab_name
    if spec is not None or Path(DEFAULT_SPEC_FILE).exists():
        return load_lab(spec or Path(DEFAULT_SPEC_FILE)).name
    running = runtime.running_labs()
    if len(running) == 1:
        return running[0]
    labs = running or runtime.known_labs()
    if not labs:
        raise LabgenError("no lab found on this machine", hint="start one with `labgen up`", exit_code=EXIT_USAGE)
    state = "running" if running else "known (none running)"
    raise LabgenError(
        f"several labs {state}: {', '.join(labs)}", hint="choose one with --lab NAME", exit_code=EXIT_USAGE
    )


@app.command()
def build(
    spec: SpecOpt = None,
    jenkins: JenkinsOpt = None,
    haproxy_source: HAProxySourceOpt = None,
    jenkins_war: WarOpt = None,
    jdk: JdkOpt = None,
    mirror: MirrorOpt = "official",
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    sets: SetOpt = None,
    haproxy_version: HAProxyVersionOpt = None,
) -> None:
    """Build every image the lab needs, from Debian packages and sources (no registry); cached by content."""
    from labgen.images import build_images

    lab = _lab_from(spec, sets, haproxy_version=haproxy_version)
    with _progress(quiet=json_output, verbose=verbose) as emitter:
        result = build_images(lab, emitter=emitter, **_build_options(jenkins, haproxy_source, jenkins_war, jdk, mirror))
    if json_output:
        _print_json(result.to_json())
        return
    table = Table("image", "result", "seconds", title="labgen build")
    for item in result.images:
        table.add_row(item.tag, "cached" if item.cached else "built", f"{item.seconds:.1f}")
    out.print(table)
    out.print(f"HAProxy {result.haproxy_version} ({result.haproxy_source}); Jenkins flavour: {result.flavour}")
    out.print(f"[dim]{result.flavour_reason}[/]")


@app.command()
def up(
    spec: SpecOpt = None,
    jenkins: JenkinsOpt = None,
    haproxy_source: HAProxySourceOpt = None,
    jenkins_war: WarOpt = None,
    jdk: JdkOpt = None,
    mirror: MirrorOpt = "official",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the lab to be healthy.")] = 300,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
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
) -> None:
    """Build what is missing, start the lab, wait until HAProxy serves a healthy master."""
    lab = _lab_from(spec, sets, **_spec_options(locals()))
    options = _build_options(jenkins or lab.jenkins.flavour, haproxy_source, jenkins_war, jdk, mirror)
    with _progress(quiet=json_output, verbose=verbose) as emitter:
        result = runtime.up(lab, build_options=options, timeout=timeout, emitter=emitter)
    if json_output:
        _print_json(
            {
                "lab": result.lab.name,
                "profile": result.lab.profile,
                "jenkins_flavour": result.flavour,
                "haproxy_version": result.haproxy_version,
                "seconds": round(result.seconds, 1),
                "urls": result.urls,
                "credentials": str(result.credentials_file),
                "folder": str(result.folder),
                "notes": result.notes,
            }
        )
        return
    for note in result.notes:
        err.print(f"[yellow]![/] {note}")
    out.print(
        f"\n[bold green]lab {result.lab.name} is up[/] in {result.seconds:.0f} s "
        f"(profile {result.lab.profile}, HAProxy {result.haproxy_version}, Jenkins flavour {result.flavour})"
    )
    if result.flavour == "lite":
        out.print("[yellow]Jenkins is labgen's lite stand-in, not Jenkins: the war could not be had here[/]")
    out.print(f"  Jenkins (through HAProxy): {result.urls['jenkins']}")
    out.print(f"  HAProxy stats:             {result.urls['stats']}")
    out.print(f"  inbound agents:            {result.urls['agent']}")
    out.print(f"  credentials:               {result.credentials_file} (admin user, API token, stats login)")
    out.print(f"  next: labgen status --lab {result.lab.name} | labgen chaos kill jenkins01 | labgen down")


@app.command()
def down(
    lab_name: LabOpt = None,
    spec: SpecOpt = None,
    volumes: Annotated[bool, typer.Option("--volumes", help="Also delete JENKINS_HOME's volume (data loss).")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Stop and remove the lab's containers and network; data is kept unless --volumes."""
    name = _resolve_lab_name(lab_name, spec)
    with _progress(quiet=json_output) as emitter:
        result = runtime.down(name, volumes=volumes, emitter=emitter)
    if json_output:
        _print_json(vars(result))
        return
    if result.nothing_running:
        out.print(f"lab {name}: nothing running, nothing to remove")
        return
    kept = "volumes deleted" if volumes else "JENKINS_HOME volume kept (use --volumes to delete it)"
    out.print(f"lab {name} removed: {len(result.removed)} containers/networks; {kept}")


@app.command()
def status(lab_name: LabOpt = None, spec: SpecOpt = None, json_output: JsonOpt = False) -> None:
    """Services, their health, HAProxy's view of each master, and the active one."""
    result = runtime.status(_resolve_lab_name(lab_name, spec))
    if json_output:
        _print_json(result.to_json())
        return
    out.print(
        f"[bold]lab {result.name}[/]: profile {result.profile}, HAProxy {result.haproxy_version}, "
        f"Jenkins flavour {result.flavour or 'unknown'}; active master: [bold]{result.active or 'none'}[/]"
    )
    services = Table("service", "container", "state", "image")
    for svc in result.services:
        services.add_row(svc.service, svc.container or "-", svc.state, svc.image or "-")
    out.print(services)
    if result.servers is None:
        out.print("[yellow]HAProxy's stats page does not answer[/]")
        return
    servers = Table("proxy", "server", "status", "last check", "since (s)", title="HAProxy's view")
    for server in result.servers:
        servers.add_row(server.proxy, server.server, server.status, server.check_status, str(server.last_change_s))
    out.print(servers)


@app.command()
def logs(
    service: Annotated[str, typer.Argument(help="nfs, jenkins01, jenkins02, haproxy or controller.")],
    lab_name: LabOpt = None,
    spec: SpecOpt = None,
    follow: Annotated[bool, typer.Option("--follow", "-F", help="Keep printing new lines.")] = False,
    tail: Annotated[str, typer.Option("--tail", help="Lines from the end, or all.")] = "all",
) -> None:
    """Print a service's log."""
    lines = runtime.logs(
        _resolve_lab_name(lab_name, spec), service, follow=follow, tail=int(tail) if tail.isdigit() else "all"
    )
    for chunk in lines:
        sys.stdout.write(chunk.decode("utf-8", "replace"))
        sys.stdout.flush()


@app.command()
def doctor(
    spec: SpecOpt = None,
    probe_registry: Annotated[
        bool, typer.Option("--probe-registry", help="Also try to reach Docker Hub (one TCP connection).")
    ] = False,
    json_output: JsonOpt = False,
) -> None:
    """Check the machine: Docker, Compose, NFS and FUSE, images, ports, disk; and what to do."""
    from labgen.doctor import run_checks

    checks = run_checks(_lab_from(spec, None), probe_registry=probe_registry)
    if json_output:
        _print_json([asdict(c) for c in checks])
    else:
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        table = Table("check", "", "detail", "what to do")
        for c in checks:
            table.add_row(c.name, f"[{colours[c.verdict]}]{c.verdict}[/]", c.detail, c.fix)
        out.print(table)
    if any(c.verdict == "fail" for c in checks):
        raise typer.Exit(EXIT_ENVIRONMENT)


# ---- chaos ---------------------------------------------------------------------------------------


@app.command()
def chaos(
    action: Annotated[
        str, typer.Argument(help="list, kill, stop, start, restart, pause, unpause, partition, heal, reload.")
    ],
    target: Annotated[str | None, typer.Argument(help="nfs, jenkins01, jenkins02, haproxy or controller.")] = None,
    lab_name: LabOpt = None,
    spec: SpecOpt = None,
    signal: Annotated[str, typer.Option("--signal", help="Signal for kill.")] = "SIGKILL",
    stop_time: Annotated[int, typer.Option("--time", help="Seconds stop/restart wait before SIGKILL.")] = 10,
    json_output: JsonOpt = False,
) -> None:
    """Break the lab: one fault on one service, recorded in the lab's event log."""
    from labgen import chaos as chaos_core

    name = _resolve_lab_name(lab_name, spec)
    if action == "list":
        states = chaos_core.list_targets(name)
        if json_output:
            _print_json([asdict(s) for s in states])
            return
        table = Table("target", "container", "state", title=f"lab {name}: chaos targets")
        for state in states:
            table.add_row(state.target, state.container or "-", state.state)
        out.print(table)
        out.print(f"actions: {', '.join(chaos_core.ACTIONS)}")
        return
    if target is None:
        lab = runtime.load_saved_lab(name)
        raise LabgenError(
            f"chaos {action} needs a TARGET; valid: {', '.join(chaos_core.targets(lab))}", exit_code=EXIT_USAGE
        )
    result = chaos_core.apply(name, action, target, signal=signal, stop_timeout=stop_time)
    if json_output:
        _print_json(asdict(result))
    else:
        out.print(f"{action} {target} ({result.container}): {result.detail}")


# ---- verify --------------------------------------------------------------------------------------

verify_app = typer.Typer(help="Prove a failover with numbers.", no_args_is_help=True)
app.add_typer(verify_app, name="verify")


@verify_app.command("failover")
def verify_failover(
    lab_name: LabOpt = None,
    spec: SpecOpt = None,
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
) -> None:
    """Break the active master while probing and writing through HAProxy; report detection, recovery,
    failed requests and lost writes. Exit 1 when a trial fails."""
    import time as _time

    from labgen import verify
    from labgen.paths import lab_dir
    from labgen.report import aggregate, to_json, write_reports

    name = _resolve_lab_name(lab_name, spec)
    with _progress(quiet=json_output) as emitter:
        result = verify.run_failover(
            name,
            target=target,
            action=action,
            trials=trials,
            rate=rate,
            timeout=timeout,
            keep_jobs=keep_jobs,
            emitter=emitter,
        )
    folder = report or lab_dir(name) / "reports" / _time.strftime("%Y%m%d-%H%M%S")
    paths = write_reports(result, folder)
    if json_output:
        trials_summary = [t.summary() for t in result.trials]
        _print_json({**to_json(result), "trials": trials_summary, "reports": {k: str(v) for k, v in paths.items()}})
    else:
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
                _seconds(t.detection_s),
                _seconds(t.first_success_s),
                _seconds(t.consistent_s),
                f"{t.failed_requests}/{t.requests}",
                f"{len(t.lost)}/{t.acknowledged}",
                _seconds(t.agent_s),
                "[green]pass[/]" if t.verdict == "pass" else "[red]fail[/]",
            )
        out.print(table)
        for t in result.trials:
            for reason in t.reasons:
                out.print(f"  trial {t.number}: {reason}")
        summary = aggregate(result)
        out.print(
            f"verdict: {'[green]PASS[/]' if result.passed else '[red]FAIL[/]'} "
            f"({summary['passed']}/{summary['trials']} trials); report: {paths['html']}"
        )
    if not result.passed:
        raise typer.Exit(1)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


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
