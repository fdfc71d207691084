"""`labgen init`, `generate`, `lint`: the spec and what it renders, no Docker needed."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from labgen.cli.app import app, err, out
from labgen.cli.options import ALL_SPEC_OPTIONS, JsonOpt, SpecArgs, check_choice, input_file, spec_options
from labgen.cli.output import print_json
from labgen.errors import ArtifactRefused, BadOptionValue, CheckFailed, OutputExists, os_problem
from labgen.generate import generate as render_lab
from labgen.generate import render_files
from labgen.generate.lint import Finding, article_config, lint_text
from labgen.generate.render import HAPROXY_CONFIG, render_spec_file
from labgen.model.spec import DEFAULT_SPEC_FILE, LabSpec
from labgen.model.topology import Topology
from labgen.paths import check_output_file, read_regular_file, user_path
from labgen.wire.files import write_atomic

MAX_CONFIG_BYTES = 1 << 20  # a haproxy.cfg is a few kB


def exposure_warning(lab: LabSpec) -> str | None:
    """What a non-loopback --bind publishes beyond this machine (None for a loopback bind)."""
    if lab.ports.loopback:
        return None
    ports = lab.ports
    return (
        f"WARNING: ports.bind {ports.bind} is not a loopback address: this publishes, to every "
        f"network that reaches it, an old Jenkins (2.190.2, port {ports.http}), HAProxy's stats admin "
        f"page (basic auth over plain HTTP, port {ports.stats}) and the inbound agent port ({ports.agent}). "
        "Use it on a network you trust only; the default is 127.0.0.1."
    )


def warn_if_exposed(lab: LabSpec) -> None:
    warning = exposure_warning(lab)
    if warning:
        err.print(Text(warning, style="bold yellow"))


@app.command(rich_help_panel="spec")
@spec_options("name", "profile", "haproxy_version", "jenkins_flavour", "masters", file=False)
def init(
    path_arg: Annotated[str, typer.Argument(metavar="PATH", help="Where to write the spec.")] = DEFAULT_SPEC_FILE,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing spec.")] = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Write a lab spec with every field spelled out and explained."""
    path = user_path(path_arg, "init PATH")
    check_output_file(path, "init PATH")
    if path.exists() and not force:
        raise OutputExists(f"{path} already exists", hint="use --force to overwrite it")
    lab = spec_args.load(read_file=False)
    text = render_spec_file(lab)
    try:  # a spec holding a password is readable by its owner alone
        write_atomic(path, text.encode("utf-8"), mode=0o600 if lab.stats.password else None, fsync_dir=False)
    except OSError as exc:
        raise os_problem(exc, "write the spec", path) from None
    out.print(f"wrote {path}: edit it, then run `labgen generate` or `labgen up`", markup=False, highlight=False)


@app.command(rich_help_panel="spec")
@spec_options(*ALL_SPEC_OPTIONS)
def generate(
    out_dir: Annotated[str | None, typer.Option("--out", "-o", help="Output folder (default: ./<lab name>).")] = None,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Render the lab (compose.yaml, haproxy.cfg, ganesha.conf, secrets.env) from the spec."""
    chosen = user_path(out_dir, "--out") if out_dir is not None else None
    lab = spec_args.load()
    target = chosen or Path(lab.name)
    spec_file = spec_args.spec_file()
    result = render_lab(Topology.resolve(lab), target, inputs=(spec_file,) if spec_file else ())
    warn_if_exposed(lab)
    if json_output:
        print_json(
            {"lab": lab.name, "profile": lab.profile, "out": str(target), "files": [str(f) for f in result.files]}
        )
        return
    head = Text.assemble("lab ", (lab.name, "bold"), f" (profile {lab.profile}, HAProxy {lab.haproxy.version})")
    out.print(Text.assemble(head, f" rendered into {target}/"), highlight=False)
    for file in result.files:
        out.print(f"  {file}", markup=False, highlight=False)
    out.print(f"check it with: docker compose -f {target / 'compose.yaml'} config -q", markup=False, highlight=False)


@app.command(rich_help_panel="spec")
@spec_options(sets=False)
def lint(
    profile: Annotated[
        str, typer.Option("--profile", help="article (the article's config as published) or ha.")
    ] = "article",
    config_arg: Annotated[str | None, typer.Option("--config", help="Lint this haproxy.cfg instead.")] = None,
    json_output: JsonOpt = False,
    *,
    spec_args: SpecArgs,
) -> None:
    """Explain, line by line, each defect of the article's HAProxy config and what `ha` does instead."""
    check_choice("--profile", profile, ("article", "ha"))
    config = input_file("--config", config_arg)
    if config is not None:
        try:
            text, source = read_regular_file(config, MAX_CONFIG_BYTES, "a haproxy.cfg").decode("utf-8"), str(config)
        except UnicodeDecodeError:
            raise ArtifactRefused(f"--config {config}: not UTF-8 text; is it a haproxy.cfg?") from None
    elif profile == "article":
        text, source = article_config(), "the article's haproxy.cfg (as published)"
    elif profile == "ha":
        spec_args.named["profile"] = "ha"
        lab = spec_args.load()
        text = render_files(Topology.resolve(lab))[HAPROXY_CONFIG]
        source = f"the ha profile's haproxy.cfg (HAProxy {lab.haproxy.version})"
    else:
        raise BadOptionValue(f"--profile {profile!r}: allowed values are article, ha")
    findings = lint_text(text)
    if json_output:
        print_json({"source": source, "findings": [asdict(f) for f in findings]})
    else:
        _print_findings(source, findings)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise CheckFailed(f"{source}: {len(errors)} errors")


def _print_findings(source: str, findings: list[Finding]) -> None:
    if not findings:
        out.print(f"{source}: no defects found", markup=False, highlight=False)
        return
    colours = {"error": "red", "warning": "yellow", "advice": "blue"}
    out.print(Text.assemble((source, "bold"), f": {len(findings)} findings\n"), highlight=False)
    for f in findings:  # a config line is the user's text: Text, never rich markup
        out.print(Text.assemble((f"{f.line:>3}", "bold"), "  ", f.text), highlight=False)
        out.print(Text.assemble("     ", (f.severity, colours[f.severity]), ": ", f.problem), highlight=False)
        out.print(Text.assemble("     ", ("ha profile", "green"), ": ", f.ha_fix, "\n"), highlight=False)
