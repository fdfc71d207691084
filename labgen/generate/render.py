"""Render a lab's `Topology` into the files a Compose stack needs (compose.yaml, haproxy.cfg, ...)."""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import jinja2

from labgen.errors import SpecError, os_problem
from labgen.generate.secrets import lab_secrets, read_secrets, secrets_text
from labgen.model import names
from labgen.model.spec import Lab, lab_from_text
from labgen.model.topology import Topology
from labgen.paths import check_output_folder
from labgen.wire.files import write_atomic

COMPOSE_FILE = "compose.yaml"
HAPROXY_CONFIG = "haproxy/haproxy.cfg"
GANESHA_CONFIG = "nfs/ganesha.conf"


@dataclass(frozen=True)
class RenderedLab:
    out_dir: Path
    files: tuple[Path, ...]


def environment() -> jinja2.Environment:
    """The one Jinja environment: templates are package data of labgen.generate."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("labgen.generate", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["yaml"] = _yaml_scalar
    env.filters["env"] = _env_reference
    return env


def _yaml_scalar(value: object) -> str:
    """A value as a YAML scalar that reads back as itself: text double-quoted (a JSON string is a
    valid YAML one), so `yes`, `null` or `&secret` stay text. Not ASCII-escaped: PyYAML reads an
    escaped surrogate pair as two characters."""
    return json.dumps(value, ensure_ascii=False)


def _env_reference(variable: str) -> str:
    """An environment variable as haproxy.cfg reads it: `${NAME}`."""
    return "${" + variable + "}"


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
        "read_timeout": _seconds(lab.haproxy.read_timeout_ms),
        "hold": _hold(lab.haproxy.hold_timeout_s, lab.haproxy.read_timeout_ms),
        "check_inter_s": _seconds(lab.haproxy.check.inter_ms),
        "images": topology.images,
        "jenkins_url": topology.urls["jenkins"],
        "nfs_client": topology.nfs_client,
        "nfs_address": topology.nfs_address,
        "haproxy_config": HAPROXY_CONFIG,
        "ganesha_config": GANESHA_CONFIG,
    }
    return {
        COMPOSE_FILE: env.get_template("compose.yaml.j2").render(context),
        HAPROXY_CONFIG: env.get_template(f"haproxy/{lab.profile}.cfg.j2").render(context),
        GANESHA_CONFIG: env.get_template("nfs/ganesha.conf.j2").render(context),
    }


def render_spec_file(lab: Lab) -> str:
    """`labgen init`'s spec file: every field spelled out and explained; it loads back to `lab`."""
    text = environment().get_template("labgen.yaml.j2").render(lab=lab)
    if lab_from_text(text, "the spec labgen init writes") != lab:
        raise SpecError("these values cannot be written as a spec that reads back the same; change them")
    return text


def _hold(timeout_s: int, read_timeout_ms: int) -> dict[str, object]:
    """How the ha profile holds requests: the promoter's bound and slice, HAProxy's retries that
    cover the slices, and the client and agent timeouts that outlast the hold."""
    timeout_ms = timeout_s * 1000
    slice_ms = min(names.HOLD_SLICE_MS, read_timeout_ms // 2)
    return {
        "timeout_ms": timeout_ms,
        "slice_ms": slice_ms,
        "retries": names.HOLD_RETRIES + math.ceil(timeout_ms / slice_ms),
        "client_timeout": _seconds(max(60_000, timeout_ms + 10_000)),
        "agent_delay": _seconds(timeout_ms + 5_000),
    }


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def generate(topology: Topology, out_dir: Path, *, option: str = "--out") -> RenderedLab:
    """Write the lab folder, each file atomically. Every path is checked before the first write,
    and a failure midway restores the files already replaced: the folder is left as it was."""
    files = {rel: text.encode("utf-8") for rel, text in render_files(topology).items()}
    check_output_folder(out_dir, option, [*files, names.SECRETS_FILE])
    secret_values = lab_secrets(topology.lab, read_secrets(out_dir))
    files[names.SECRETS_FILE] = secrets_text(secret_values).encode("utf-8")
    created: list[Path] = []
    previous: list[tuple[Path, bytes | None, int]] = []  # (file, its old content, its old mode)
    try:
        for rel, data in files.items():
            target = out_dir / rel
            for folder in reversed([target.parent, *target.parent.parents]):
                if not folder.exists():
                    folder.mkdir()
                    created.append(folder)
            old = (target.read_bytes(), target.stat().st_mode & 0o777) if target.exists() else (None, 0)
            previous.append((target, *old))
            mode = 0o600 if rel == names.SECRETS_FILE else None
            write_atomic(target, data, mode=mode, fsync=False, fsync_dir=False)
    except OSError as exc:
        _restore(previous, created)
        raise os_problem(exc, "write the lab folder", out_dir) from None
    return RenderedLab(out_dir=out_dir, files=tuple(out_dir / rel for rel in files))


def _restore(previous: list[tuple[Path, bytes | None, int]], created: list[Path]) -> None:
    """Undo a partial `generate`: old contents back, new files and folders removed."""
    for target, data, mode in reversed(previous):
        with contextlib.suppress(OSError):
            if data is None:
                target.unlink(missing_ok=True)
            else:
                write_atomic(target, data, mode=mode, fsync=False, fsync_dir=False)
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()
