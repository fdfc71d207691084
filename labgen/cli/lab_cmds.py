"""`labgen build`, `up`, `down`, `status`, `logs`, `doctor`: images and the running lab."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labgen.build import build_images
from labgen.cli.app import app, err, out
from labgen.cli.options import RUN_SPEC_OPTIONS, JsonOpt, LabOpt, SpecArgs, VerboseOpt, resolve_lab_name, spec_options
from labgen.cli.output import print_json, progress
from labgen.errors import EXIT_ENVIRONMENT, LabgenError, SpecError
from labgen.lab import runtime
from labgen.lab.doctor import run_checks

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


@app.command(rich_help_panel="run")
@spec_options("haproxy_version")
def build(
    jenkins: JenkinsOpt = None,
    haproxy_source: HAProxySourceOpt = None,
    jenkins_war: WarOpt = None,
    jdk: JdkOpt = None,
    mirror: MirrorOpt = "official",
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Build every image the lab needs, from Debian packages and sources (no registry); cached by content."""
    lab = spec_args.load()
    options = _build_options(jenkins, haproxy_source, jenkins_war, jdk, mirror)
    with progress(quiet=json_output, verbose=verbose) as emitter:
        result = build_images(lab, emitter=emitter, **options)
    if json_output:
        print_json(result.to_json())
        return
    table = Table("image", "result", "seconds", title="labgen build")
    for item in result.images:
        table.add_row(item.tag, "cached" if item.cached else "built", f"{item.seconds:.1f}")
    out.print(table)
    out.print(f"HAProxy {result.haproxy_version} ({result.haproxy_source}); Jenkins flavour: {result.flavour}")
    out.print(f"[dim]{result.flavour_reason}[/]")


@app.command(rich_help_panel="run")
@spec_options(*RUN_SPEC_OPTIONS)
def up(
    jenkins: JenkinsOpt = None,
    haproxy_source: HAProxySourceOpt = None,
    jenkins_war: WarOpt = None,
    jdk: JdkOpt = None,
    mirror: MirrorOpt = "official",
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the lab to be healthy.")] = 300,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Build what is missing, start the lab, wait until HAProxy serves a healthy master."""
    lab = spec_args.load()
    options = _build_options(jenkins or lab.jenkins.flavour, haproxy_source, jenkins_war, jdk, mirror)
    with progress(quiet=json_output, verbose=verbose) as emitter:
        result = runtime.up(lab, build_options=options, timeout=timeout, emitter=emitter)
    topology = result.topology
    running = topology.lab
    if json_output:
        print_json(
            {
                "lab": running.name,
                "profile": running.profile,
                "jenkins_flavour": topology.flavour,
                "haproxy_version": running.haproxy.version,
                "seconds": round(result.seconds, 1),
                "urls": topology.urls,
                "credentials": str(result.credentials_file),
                "folder": str(result.folder),
                "notes": result.notes,
            }
        )
        return
    for note in result.notes:
        err.print(f"[yellow]![/] {note}")
    out.print(
        f"\n[bold green]lab {running.name} is up[/] in {result.seconds:.0f} s "
        f"(profile {running.profile}, HAProxy {running.haproxy.version}, Jenkins flavour {topology.flavour})"
    )
    if topology.flavour == "lite":
        out.print("[yellow]Jenkins is labgen's lite stand-in, not Jenkins: the war could not be had here[/]")
    out.print(f"  Jenkins (through HAProxy): {topology.urls['jenkins']}")
    out.print(f"  HAProxy stats:             {topology.urls['stats']}")
    out.print(f"  inbound agents:            {topology.urls['agent']}")
    out.print(f"  credentials:               {result.credentials_file} (admin user, API token, stats login)")
    out.print(f"  next: labgen status --lab {running.name} | labgen chaos kill jenkins01 | labgen down")


@app.command(rich_help_panel="run")
@spec_options(sets=False)
def down(
    lab_name: LabOpt = None,
    volumes: Annotated[bool, typer.Option("--volumes", help="Also delete JENKINS_HOME's volume (data loss).")] = False,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Stop and remove the lab's containers and network; data is kept unless --volumes."""
    name = resolve_lab_name(lab_name, spec_args)
    with progress(quiet=json_output) as emitter:
        result = runtime.down(name, volumes=volumes, emitter=emitter)
    if json_output:
        print_json(vars(result))
        return
    if result.nothing_running:
        out.print(f"lab {name}: nothing running, nothing to remove")
        return
    kept = "volumes deleted" if volumes else "JENKINS_HOME volume kept (use --volumes to delete it)"
    out.print(f"lab {name} removed: {len(result.removed)} containers/networks; {kept}")


@app.command(rich_help_panel="run")
@spec_options(sets=False)
def status(lab_name: LabOpt = None, json_output: JsonOpt = False, *, spec_args: SpecArgs) -> None:
    """Services, their health, HAProxy's view of each master, and the active one."""
    result = runtime.status(resolve_lab_name(lab_name, spec_args))
    if json_output:
        print_json(result.to_json())
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


@app.command(rich_help_panel="run")
@spec_options(sets=False)
def logs(
    service: Annotated[str, typer.Argument(help="A service of the lab: nfs, jenkins01, ..., haproxy, controller.")],
    lab_name: LabOpt = None,
    follow: Annotated[bool, typer.Option("--follow", "-F", help="Keep printing new lines.")] = False,
    tail: Annotated[str, typer.Option("--tail", help="Lines from the end, or all.")] = "all",
    *,
    spec_args: SpecArgs,
) -> None:
    """Print a service's log."""
    lines = runtime.logs(
        resolve_lab_name(lab_name, spec_args), service, follow=follow, tail=int(tail) if tail.isdigit() else "all"
    )
    for chunk in lines:
        sys.stdout.write(chunk.decode("utf-8", "replace"))
        sys.stdout.flush()


@app.command(rich_help_panel="run")
@spec_options(sets=False)
def doctor(
    probe_registry: Annotated[
        bool, typer.Option("--probe-registry", help="Also try to reach Docker Hub (one TCP connection).")
    ] = False,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Check the machine: Docker, Compose, NFS and FUSE, images, ports, disk; and what to do."""
    checks = run_checks(spec_args.load(), probe_registry=probe_registry)
    if json_output:
        print_json([asdict(c) for c in checks])
    else:
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        table = Table("check", "", "detail", "what to do")
        for c in checks:
            table.add_row(c.name, f"[{colours[c.verdict]}]{c.verdict}[/]", c.detail, c.fix)
        out.print(table)
    failed = [c.name for c in checks if c.verdict == "fail"]
    if failed:
        raise LabgenError(f"this machine cannot run a lab: {', '.join(failed)}", exit_code=EXIT_ENVIRONMENT)
