"""Render a lab's `Topology` into the files a Compose stack needs (compose.yaml, haproxy.cfg, ...)."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from labgen.errors import LabgenError
from labgen.generate.secrets import lab_secrets, read_secrets, secrets_text
from labgen.model import names
from labgen.model.spec import Lab
from labgen.model.topology import Topology

COMPOSE_FILE = "compose.yaml"
HAPROXY_CONFIG = "haproxy/haproxy.cfg"
GANESHA_CONFIG = "nfs/ganesha.conf"


@dataclass(frozen=True)
class RenderedLab:
    out_dir: Path
    files: tuple[Path, ...]


def environment() -> jinja2.Environment:
    """The one Jinja environment: templates are package data of labgen.generate."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("labgen.generate", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_files(topology: Topology) -> dict[str, str]:
    """Every generated file, by path relative to the lab folder (secrets excluded)."""
    env = environment()
    lab = topology.lab
    context = {
        "lab": lab,
        "topo": topology,
        "names": names,
        "version": lab.haproxy.version,
        "series": lab.haproxy.series,
        "check": lab.haproxy.check,
        "check_inter_s": _seconds(lab.haproxy.check.inter_ms),
        "images": topology.images,
        "jenkins_url": topology.urls["jenkins"],
        "nfs_client": topology.nfs_client,
        "nfs_address": topology.nfs_address,
    }
    return {
        COMPOSE_FILE: env.get_template("compose.yaml.j2").render(context),
        HAPROXY_CONFIG: env.get_template(f"haproxy/{lab.profile}.cfg.j2").render(context),
        GANESHA_CONFIG: env.get_template("nfs/ganesha.conf.j2").render(context),
    }


def render_spec_file(lab: Lab) -> str:
    """`labgen init`'s spec file: every field spelled out and explained."""
    return environment().get_template("labgen.yaml.j2").render(lab=lab)


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def generate(topology: Topology, out_dir: Path) -> RenderedLab:
    """Write the lab folder. All files are rendered first, then moved in, so a failure leaves
    the folder as it was."""
    files = render_files(topology)
    secret_values = lab_secrets(topology.lab, read_secrets(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".labgen-", dir=out_dir))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        fd = os.open(staging / names.SECRETS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets_text(secret_values))
        written = []
        for rel in [*files, names.SECRETS_FILE]:
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
            written.append(target)
    except OSError as exc:
        raise LabgenError(f"cannot write the lab folder {out_dir}: {exc.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RenderedLab(out_dir=out_dir, files=tuple(written))
