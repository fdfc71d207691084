"""Render a `Lab` into the files a Compose stack needs (compose.yaml, haproxy.cfg, ...)."""

from __future__ import annotations

import ipaddress
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import jinja2

from labgen.errors import LabgenError
from labgen.spec import Lab

SECRETS_FILE = "secrets.env"
# What nfs-ganesha needs with `--cap-drop ALL` (measured with libnfs clients creating, reading
# and writing files as root and as uid 1000; no --privileged, which this engine refuses):
NFS_CAPABILITIES = (
    "DAC_READ_SEARCH",  # open_by_handle_at(): FSAL_VFS reaches every file by its kernel handle
    "SETUID",  # per request ganesha takes the client's fsuid ...
    "SETGID",  # ... and its groups (setgroups); without these it aborts on the first write
    "DAC_OVERRIDE",  # No_Root_Squash: a root client may write into anyone's directories
    "FOWNER",  # set times/modes on the files it creates for a client (else NFS4ERR_PERM)
    "CHOWN",  # SETATTR owner/group from clients (chown over NFS)
)


def image_tags(lab: Lab, flavour: str = "lite") -> dict[str, str]:
    """The image each service runs; `labgen build` produces exactly these tags."""
    jenkins = "labgen/jenkins" if flavour == "real" else "labgen/jenkins-lite"
    return {
        "base": "labgen/base:bookworm",
        "haproxy": f"labgen/haproxy:{lab.haproxy.version}",
        "nfs": "labgen/nfs-ganesha:4.3",
        "jenkins": f"{jenkins}:{lab.jenkins.version}",
        "controller": "labgen/controller:latest",
    }


@dataclass(frozen=True)
class RenderedLab:
    out_dir: Path
    files: tuple[Path, ...]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("labgen", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def host_can_mount_nfs() -> bool:
    try:
        filesystems = Path("/proc/filesystems").read_text()
    except OSError:
        return False
    return any(line.split()[-1] in ("nfs", "nfs4") for line in filesystems.splitlines() if line.strip())


def nfs_client(lab: Lab) -> str:
    """How the masters will mount JENKINS_HOME: `auto` becomes kernel or fuse for this host."""
    if lab.nfs.client != "auto":
        return lab.nfs.client
    return "kernel" if host_can_mount_nfs() else "fuse"


def render_files(lab: Lab, flavour: str = "lite", client: str | None = None) -> dict[str, str]:
    """Every generated file, by path relative to the lab folder (secrets excluded)."""
    env = _environment()
    subnet = ipaddress.IPv4Network(lab.nfs.subnet)
    host = "127.0.0.1" if lab.ports.bind in ("0.0.0.0", "::") else lab.ports.bind
    host = f"[{host}]" if ":" in host else host
    context = {
        "lab": lab,
        "version": lab.haproxy.version,
        "series": lab.haproxy.series,
        "check": lab.haproxy.check,
        "check_inter_s": _seconds(lab.haproxy.check.inter_ms),
        "images": image_tags(lab, flavour),
        "jenkins_url": f"http://{host}:{lab.ports.http}/",
        "nfs_capabilities": NFS_CAPABILITIES,
        "nfs_client": client or nfs_client(lab),
        "nfs_address": str(subnet.network_address + 10),
    }
    return {
        "compose.yaml": env.get_template("compose.yaml.j2").render(context),
        "haproxy/haproxy.cfg": env.get_template(f"haproxy/{lab.profile}.cfg.j2").render(context),
        "nfs/ganesha.conf": env.get_template("nfs/ganesha.conf.j2").render(context),
    }


def _seconds(ms: int) -> str:
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def read_secrets(out_dir: Path) -> dict[str, str]:
    path = out_dir / SECRETS_FILE
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            values[key.strip()] = value.strip()
    return values


def lab_secrets(lab: Lab, existing: dict[str, str]) -> dict[str, str]:
    """Credentials for the lab: what the spec asks for, else what was generated before, else new."""

    def keep_or_new(key: str, nbytes: int = 12) -> str:
        return existing.get(key) or secrets.token_urlsafe(nbytes)

    return {
        "LABGEN_STATS_USER": lab.stats.user,
        "LABGEN_STATS_PASSWORD": lab.stats.password or keep_or_new("LABGEN_STATS_PASSWORD"),
        "JENKINS_ADMIN_USER": existing.get("JENKINS_ADMIN_USER", "admin"),
        "JENKINS_ADMIN_PASSWORD": keep_or_new("JENKINS_ADMIN_PASSWORD"),
        # Jenkins' fixed API tokens are "11" and 32 hex digits (ApiTokenStore.addFixedNewToken).
        "JENKINS_ADMIN_TOKEN": existing.get("JENKINS_ADMIN_TOKEN") or "11" + secrets.token_hex(16),
    }


def generate(lab: Lab, out_dir: Path, flavour: str = "lite", client: str | None = None) -> RenderedLab:
    """Write the lab folder. All files are rendered first, then moved in, so a failure leaves
    the folder as it was."""
    files = render_files(lab, flavour, client)
    secret_values = lab_secrets(lab, read_secrets(out_dir))
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".labgen-", dir=out_dir))
    try:
        for rel, text in files.items():
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        secrets_text = "".join(f"{k}={v}\n" for k, v in secret_values.items())
        fd = os.open(staging / SECRETS_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets_text)
        written = []
        for rel in [*files, SECRETS_FILE]:
            target = out_dir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / rel, target)
            written.append(target)
    except OSError as exc:
        raise LabgenError(f"cannot write the lab folder {out_dir}: {exc.strerror}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RenderedLab(out_dir=out_dir, files=tuple(written))
