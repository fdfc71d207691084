"""Render a lab's `Topology` into the files a Compose stack needs (compose.yaml, haproxy.cfg, ...)."""

from __future__ import annotations

import collections
import contextlib
import fcntl
import ipaddress
import json
import math
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2

from labgen.errors import BadSpecField, SpecError, os_problem
from labgen.generate.secrets import (
    SERVICE_SECRETS_DIR,
    lab_secrets,
    read_secrets,
    secrets_text,
    service_secret_files,
)
from labgen.model import names, seccomp
from labgen.model.names import ImageTags
from labgen.model.spec import LabSpec, lab_from_text
from labgen.model.topology import Topology
from labgen.paths import check_output_folder
from labgen.wire.files import write_atomic

COMPOSE_FILE = "compose.yaml"
HAPROXY_CONFIG = "haproxy/haproxy.cfg"
GANESHA_CONFIG = "nfs/ganesha.conf"
KEEPALIVED_DIR = "keepalived"


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
    env.filters["compose"] = compose_scalar
    return env


def compose_scalar(value: object) -> str:
    """A value as compose.yaml must hold it: a YAML scalar with `$` doubled, so that Compose's
    interpolation gives back the text as it is."""
    return _yaml_scalar(str(value).replace("$", "$$"))


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
        "images": topology.images(ImageTags.of(os.environ)),  # in the namespace this process's environment names
        "jenkins_url": topology.urls["jenkins"],
        "nfs_client": topology.nfs_client,
        "nfs_address": topology.nfs_address,
        "haproxy_config": HAPROXY_CONFIG,
        "ganesha_config": GANESHA_CONFIG,
        "published": _published_ports(topology),
        # the masters only: not the load balancers, nor anything else on the lab network
        "nfs_clients": ", ".join(topology.master_addresses),
        "keepalived_configs": {lb: keepalived_config(lb) for lb in topology.load_balancer_names},
    }
    files = {
        COMPOSE_FILE: env.get_template("compose.yaml.j2").render(context),
        HAPROXY_CONFIG: env.get_template(f"haproxy/{lab.profile}.cfg.j2").render(context),
        GANESHA_CONFIG: env.get_template("nfs/ganesha.conf.j2").render(context),
        # default allow + a deny list, not an allowlist: see labgen/model/seccomp.py for the measurement
        names.NFS_SECCOMP_PROFILE: seccomp.nfs_profile_json(),
    }
    if topology.pair:
        template = env.get_template("keepalived/keepalived.conf.j2")
        prefix = ipaddress.IPv4Network(topology.subnet).prefixlen
        for lb in topology.load_balancers:
            peers = [other for other in topology.load_balancers if other != lb]
            files[keepalived_config(lb.name)] = template.render(context, lb=lb, peers=peers, prefix=prefix)
    return files


def keepalived_config(balancer: str) -> str:
    """A load balancer's keepalived.conf in the lab folder (haproxy.replicas 2)."""
    return f"{KEEPALIVED_DIR}/{balancer}.conf"


def render_spec_file(lab: LabSpec) -> str:
    """`labgen init`'s spec file: every field spelled out and explained; it loads back to `lab`."""
    text = environment().get_template("labgen.yaml.j2").render(lab=lab, names=names)
    if lab_from_text(text, "the spec labgen init writes") != lab:
        raise BadSpecField("these values cannot be written as a spec that reads back the same; change them")
    return text


def _published_ports(topology: Topology) -> dict[str, list[str]]:
    """Each load balancer's compose.yaml `ports` entries, HOST_IP:HOST_PORT:CONTAINER_PORT (an IPv6
    host in brackets): the spec's ports for the first; a pair's second publishes on ports the engine
    chooses (HOST_IP::CONTAINER_PORT; `docker port` tells them). Users reach a pair at its VIP."""
    lab = topology.lab
    host = f"[{lab.ports.bind}]" if ":" in lab.ports.bind else lab.ports.bind
    ports = lab.ports
    found = {}
    for index, balancer in enumerate(topology.load_balancer_names):
        pairs = [
            (ports.http, names.HAPROXY_HTTP_PORT),
            (ports.stats, names.HAPROXY_STATS_PORT),
            (ports.agent, names.HAPROXY_AGENT_PORT),
        ]
        found[balancer] = [f"{host}:{h if index == 0 else ''}:{c}" for h, c in pairs]
    return found


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
        "queue_timeout": _seconds(timeout_ms),
        "agent_delay": _seconds(timeout_ms + 5_000),
    }


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def generate(topology: Topology, out_dir: Path, *, option: str = "--out", inputs: tuple[Path, ...] = ()) -> RenderedLab:
    """Write the lab folder whole, or leave it as it was.

    Every path is checked before the first write; writers of one folder take turns (a lock on
    the folder); SIGINT and SIGTERM wait until the files are written (a few milliseconds); any
    failure midway restores the files already replaced. `inputs` (the spec file) are never
    overwritten."""
    files = {rel: text.encode("utf-8") for rel, text in render_files(topology).items()}
    secret_files = [names.SECRETS_FILE, *service_secret_files(_PLACEHOLDERS)]
    check_output_folder(out_dir, option, [*files, *secret_files])
    _refuse_inputs(out_dir, [*files, *secret_files], inputs, option)
    with folder_lock(out_dir) as created, signals_deferred():
        try:
            secret_values = lab_secrets(topology.lab, read_secrets(out_dir))
            files[names.SECRETS_FILE] = secrets_text(secret_values).encode("utf-8")
            for rel, text in service_secret_files(secret_values).items():
                files[rel] = text.encode("utf-8")
        except BaseException:
            _restore([], created)
            raise
        _write_files(out_dir, files, created)
    return RenderedLab(out_dir=out_dir, files=tuple(out_dir / rel for rel in files))


def _refuse_inputs(out_dir: Path, rels: list[str], inputs: tuple[Path, ...], option: str) -> None:
    for given in inputs:
        for rel in rels:
            target = out_dir / rel
            if target.exists() and given.exists() and os.path.samefile(target, given):
                raise SpecError(
                    f"{option} {out_dir}: labgen would overwrite {target}, which is the spec it reads",
                    hint="keep the spec outside the lab folder, or generate into another folder",
                )


@contextlib.contextmanager
def folder_lock(out_dir: Path) -> Iterator[list[Path]]:
    """Hold an exclusive lock on `out_dir`, created first (with its missing parents, under a lock
    on their nearest existing ancestor) when needed; yields the folders created, for a rollback."""
    created: list[Path] = []
    with signals_deferred():
        ancestor = out_dir
        while not ancestor.exists():
            ancestor = ancestor.parent
        if ancestor != out_dir:
            with _flock(ancestor):
                try:
                    for folder in reversed([out_dir, *out_dir.parents]):
                        if not folder.exists():
                            folder.mkdir()
                            created.append(folder)
                except OSError as exc:
                    _restore([], created)
                    raise os_problem(exc, "create the lab folder", out_dir) from None
    with _flock(out_dir):
        yield created


@contextlib.contextmanager
def _flock(folder: Path) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP held back (not lost) while the block runs, in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a signal that came meanwhile is delivered now


def _write_files(out_dir: Path, files: dict[str, bytes], created: list[Path]) -> None:
    previous: list[tuple[Path, bytes | None, int]] = []  # (file, its old content, its old mode)
    try:
        for rel, data in files.items():
            target = out_dir / rel
            for folder in reversed([target.parent, *target.parent.parents]):
                if not folder.exists():
                    folder.mkdir(mode=0o700 if folder.name == SERVICE_SECRETS_DIR else 0o777)
                    created.append(folder)
            old = (target.read_bytes(), target.stat().st_mode & 0o777) if target.exists() else (None, 0)
            previous.append((target, *old))
            mode = _secret_mode(rel)
            write_atomic(target, data, mode=mode, fsync=False, fsync_dir=False)
        if (out_dir / SERVICE_SECRETS_DIR).is_dir():
            os.chmod(out_dir / SERVICE_SECRETS_DIR, 0o700)
    except BaseException as exc:
        _restore(previous, created)
        if isinstance(exc, OSError):
            raise os_problem(exc, "write the lab folder", out_dir) from None
        raise


_PLACEHOLDERS: dict[str, str] = collections.defaultdict(str)


def _secret_mode(rel: str) -> int | None:
    """secrets.env: the owner's alone. A service's secrets file: readable inside its container by
    a root without CAP_DAC_OVERRIDE (HAProxy drops it), so 644, in a folder of mode 700."""
    if rel == names.SECRETS_FILE:
        return 0o600
    return 0o644 if rel.startswith(f"{SERVICE_SECRETS_DIR}/") else None


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
