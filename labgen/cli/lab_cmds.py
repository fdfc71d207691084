"""`labgen build`, `up`, `down`, `status`, `logs`, `doctor`: images and the running lab."""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from typing import Annotated, Any, cast

import typer
from rich.table import Table
from rich.text import Text

from labgen.builder import BuildOptions, build_images
from labgen.builder.options import MIRRORS, JenkinsRequest
from labgen.builder.provenance import check_given_artifacts
from labgen.cli.app import app, err, out
from labgen.cli.options import (
    RUN_SPEC_OPTIONS,
    JsonOpt,
    LabOpt,
    SpecArgs,
    VerboseOpt,
    check_choice,
    check_number,
    check_tail,
    input_file,
    option_group,
    resolve_lab_name,
    spec_options,
)
from labgen.cli.output import print_json, progress
from labgen.cli.spec_cmds import warn_if_exposed
from labgen.errors import MachineUnfit
from labgen.lab import runtime
from labgen.lab.doctor import run_checks
from labgen.lab.folder import load_topology
from labgen.model.spec import LabSpec

JenkinsOpt = Annotated[
    str | None,
    typer.Option(
        "--jenkins",
        help="auto (real whenever jenkins.war is given, cached or downloadable; else the lite stand-in), real or lite.",
    ),
]
HAProxySourceOpt = Annotated[str | None, typer.Option("--haproxy-source", help="HAProxy source tarball to build.")]
WarOpt = Annotated[str | None, typer.Option("--jenkins-war", help="jenkins.war 2.190.2 (checked against its sha256).")]
JdkOpt = Annotated[
    str | None,
    typer.Option("--jdk", help="A Java 8 or 11 JDK tarball for the real flavour (else Debian 11's OpenJDK 11)."),
]
MirrorOpt = Annotated[
    str, typer.Option("--mirror", help="Where to download the war from: official or tsinghua (the article's).")
]
UnofficialOpt = Annotated[
    bool,
    typer.Option(
        "--allow-unofficial",
        help="Build a --haproxy-source or --jenkins-war whose sha256 is not its official release's (it is "
        "then labelled unofficial everywhere).",
    ),
]


BUILD_OPTIONS: dict[str, tuple[Any, Any]] = {
    "jenkins": (JenkinsOpt, None),
    "haproxy_source": (HAProxySourceOpt, None),
    "jenkins_war": (WarOpt, None),
    "jdk": (JdkOpt, None),
    "mirror": (MirrorOpt, "official"),
    "allow_unofficial": (UnofficialOpt, False),
}


@dataclass
class BuildArgs:
    """What build and up were told about the images, checked before anything is built."""

    options: BuildOptions
    notes: list[str]  # what the user must read: artifacts that are not what they claim


def _build_args(lab: LabSpec, given_options: dict[str, Any]) -> BuildArgs:
    """``--jenkins`` unset is ``auto``: the spec's ``jenkins.flavour`` decides."""
    jenkins = given_options["jenkins"] or "auto"
    mirror, allow_unofficial = given_options["mirror"], given_options["allow_unofficial"]
    haproxy_source, jenkins_war, jdk = (given_options[k] for k in ("haproxy_source", "jenkins_war", "jdk"))
    check_choice("--jenkins", jenkins, ("auto", "real", "lite"))
    check_choice("--mirror", mirror, MIRRORS)
    given = {
        "haproxy_source": input_file("--haproxy-source", haproxy_source),
        "jenkins_war": input_file("--jenkins-war", jenkins_war),
        "jdk": input_file("--jdk", jdk),
    }
    notes = check_given_artifacts(lab.haproxy.version, **given, allow_unofficial=allow_unofficial)
    options = BuildOptions(
        jenkins=cast(JenkinsRequest, jenkins),
        haproxy_source=given["haproxy_source"],
        jenkins_war=given["jenkins_war"],
        jdk=given["jdk"],
        mirror=mirror,
        allow_unofficial=allow_unofficial,
    )
    return BuildArgs(options, notes)


@app.command(rich_help_panel="run")
@spec_options("haproxy_version")
@option_group("build_options", BUILD_OPTIONS)
def build(
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    *,
    spec_args: SpecArgs,
    build_options: dict[str, Any],
) -> None:
    """Build every image the lab needs, from Debian packages and sources (no registry); cached by content."""
    lab = spec_args.load()
    args = _build_args(lab, build_options)
    with progress(quiet=json_output, verbose=verbose) as emitter:
        result = build_images(lab, args.options, emitter=emitter)
    if json_output:
        print_json({**result.to_json(), "notes": args.notes})
        return
    for note in args.notes:
        err.print(Text.assemble(("!", "bold yellow"), " ", note), highlight=False)
    table = Table("image", "result", "seconds", title="labgen build")
    for item in result.images:
        table.add_row(item.tag, "cached" if item.cached else "built", f"{item.seconds:.1f}")
    out.print(table)
    out.print(f"HAProxy {result.haproxy_version} ({result.haproxy_source}); Jenkins flavour: {result.flavour}")
    out.print(f"[dim]{result.flavour_reason}[/]")


@app.command(rich_help_panel="run")
@spec_options(*RUN_SPEC_OPTIONS)
@option_group("build_options", BUILD_OPTIONS)
def up(
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the lab to be healthy.")] = 300,
    json_output: JsonOpt = False,
    verbose: VerboseOpt = False,
    *,
    spec_args: SpecArgs,
    build_options: dict[str, Any],
) -> None:
    """Build what is missing, start the lab, wait until HAProxy serves a healthy master."""
    check_number("--timeout", timeout, minimum=0, maximum=24 * 3600, exclusive=True)
    lab = spec_args.load()
    args = _build_args(lab, build_options)
    warn_if_exposed(lab)
    with progress(quiet=json_output, verbose=verbose) as emitter:
        result = runtime.up(lab, build_options=args.options, timeout=timeout, emitter=emitter)
    result.notes[:0] = args.notes
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
        err.print(Text.assemble(("!", "yellow"), " ", note), highlight=False)
    out.print(
        f"\n[bold green]lab {running.name} is up[/] in {result.seconds:.0f} s "
        f"(profile {running.profile}, HAProxy {running.haproxy.version}, Jenkins flavour {topology.flavour})"
    )
    if topology.flavour == "lite":
        out.print("[yellow]Jenkins is labgen's lite stand-in, not Jenkins: the war could not be had here[/]")
    out.print(f"  Jenkins (through HAProxy): {topology.urls['jenkins']}")
    out.print(f"  HAProxy stats:             {topology.urls['stats']}")
    out.print(f"  inbound agents:            {topology.urls['agent']}")
    if topology.vip:
        out.print(_vip_note(topology.vip, topology.url_host, running.ports.http), markup=False)
    out.print(
        f"  credentials:               {result.credentials_file} (admin user, API token, stats login)", markup=False
    )
    out.print(f"  next: labgen status --lab {running.name} | labgen chaos kill jenkins01 | labgen down")


def _vip_note(vip: str, host: str, port: int) -> str:
    return (
        f"  (the VIP {vip} is reached from this Docker host on the lab's bridge; Docker's port publishing "
        f"cannot follow a VIP, so {host}:{port} reaches haproxy1 only)"
    )


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
    name = resolve_lab_name(lab_name, spec_args)  # never "the only lab" for an empty --lab
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
    for what, origin in result.artifacts.items():
        if origin == "unofficial":
            out.print(f"[bold yellow]{what}: UNOFFICIAL (its sha256 is not the official release's)[/]")
        elif origin == "local":
            out.print(f"[yellow]{what}: a local file, unverified (labgen pins no sha256 for its version)[/]")
    if result.vip:
        holders = result.vip_holders
        said = holders[0] if len(holders) == 1 else ("NOBODY" if not holders else f"{' AND '.join(holders)} (split)")
        out.print(f"VIP {result.vip} held by [bold]{said}[/] (Jenkins: {result.urls['jenkins']})")
        balancers = Table("load balancer", "container", "keepalived", "has the VIP", title="the pair's view")
        for view in result.balancers:
            cells = (view.name, view.container, view.vrrp or "-", "yes" if view.holds_vip else "no")
            balancers.add_row(*(Text(v) for v in cells))
        out.print(balancers)
    services = Table("service", "container", "state", "image")
    for svc in result.services:
        services.add_row(*(Text(str(v)) for v in (svc.service, svc.container or "-", svc.state, svc.image or "-")))
    out.print(services)
    if result.vip:
        out.print(
            f"(Docker's port publishing cannot follow a VIP: the published ports reach one HAProxy each; "
            f"this host reaches the VIP {result.vip} on the lab's bridge)",
            markup=False,
        )
    if result.servers is None:
        out.print("[yellow]HAProxy's stats page does not answer[/]")
        return
    servers = Table("proxy", "server", "status", "last check", "since (s)", title="HAProxy's view")
    for server in result.servers:
        row = (server.proxy, server.server, server.status, server.check_status, str(server.last_change_s))
        servers.add_row(*(Text(str(v)) for v in row))
    out.print(servers)


@app.command(rich_help_panel="run")
@spec_options(sets=False)
def logs(
    service: Annotated[str, typer.Argument(help="A service of the lab: nfs, jenkins01, ..., haproxy.")],
    lab_name: LabOpt = None,
    follow: Annotated[bool, typer.Option("--follow", "-F", help="Keep printing new lines.")] = False,
    tail: Annotated[str, typer.Option("--tail", help="Lines from the end, or all.")] = "all",
    *,
    spec_args: SpecArgs,
) -> None:
    """Print a service's log."""
    lines_wanted = check_tail(tail)
    lines = runtime.logs(resolve_lab_name(lab_name, spec_args), service, follow=follow, tail=lines_wanted)
    for chunk in lines:
        sys.stdout.write(chunk.decode("utf-8", "replace"))
        sys.stdout.flush()


@app.command(rich_help_panel="run")
@spec_options(sets=False)
def doctor(
    lab_name: Annotated[
        str | None, typer.Option("--lab", help="Also check this running lab (default: the spec's lab, if it runs).")
    ] = None,
    probe_registry: Annotated[
        bool, typer.Option("--probe-registry", help="Also try to reach Docker Hub (one TCP connection).")
    ] = False,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Check the machine: Docker, Compose, NFS and FUSE, images, ports, disk; and what to do."""
    lab = load_topology(resolve_lab_name(lab_name, spec_args)).lab if lab_name is not None else spec_args.load()
    checks = run_checks(lab, probe_registry=probe_registry)
    if json_output:
        print_json([asdict(c) for c in checks])
    else:
        colours = {"ok": "green", "warn": "yellow", "fail": "red"}
        table = Table("check", "", "detail", "what to do")
        for c in checks:
            table.add_row(Text(c.name), Text(c.verdict, colours[c.verdict]), Text(c.detail), Text(c.fix))
        out.print(table)
    failed = [c.name for c in checks if c.verdict == "fail"]
    if failed:
        raise MachineUnfit(f"this machine cannot run a lab: {', '.join(failed)}")
