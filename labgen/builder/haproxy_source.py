"""Which HAProxy source tarball an image is built from, and why: ``--haproxy-source`` > the cache >
the official tarball (sha256-pinned) > Debian's source package (another version: a warn event)."""

from __future__ import annotations

import lzma
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labgen.builder.debian_source import debian_haproxy_source
from labgen.builder.downloads import (
    DOWNLOAD_TIMEOUT,
    UNOFFICIAL_HINT,
    Artifact,
    ChecksumMismatch,
    DownloadError,
    cache_dir,
    cache_lookup,
    download,
    first_error_line,
)
from labgen.errors import EXIT_USAGE, ArtifactMissing, ArtifactRefused, LabgenError
from labgen.events import NULL_EMITTER, Emitter
from labgen.wire.files import sha256_file

# "unofficial": a file given by the user that claims a release labgen pins (by its version) but
# whose sha256 is not that release's; built only with --allow-unofficial, and labelled so.
# "local": a file given by the user for a version labgen pins no checksum for (unverified).
HAProxyOrigin = Literal["official", "debian", "local", "unofficial"]

HAPROXY_OFFICIAL: dict[str, Artifact] = {
    "2.0.8": Artifact(
        "haproxy-2.0.8.tar.gz",
        "https://www.haproxy.org/download/2.0/src/haproxy-2.0.8.tar.gz",
        "c37e1e8515ad6f9781a0ac336ca88787f3bb52252fb2bdad9919ba16323c280a",
    ),
}


@dataclass(frozen=True)
class HAProxySource:
    """The HAProxy source tarball an image is built from, and why this one."""

    path: Path
    version: str  # upstream version, e.g. "2.6.12"
    origin: HAProxyOrigin
    sha256: str
    requested: str  # the version the lab asked for
    reason: str  # one sentence for the user
    debian_version: str | None = None  # e.g. "2.6.12-1+deb12u3" when origin == "debian"
    debian_archive: Path | None = None  # Debian's debian.tar.xz (its patches are applied)

    def __str__(self) -> str:
        """What the CLI shows, e.g. "debian 2.6.12-1+deb12u3" or "official 2.0.8"."""
        return f"{self.origin} {self.debian_version or self.version}"

    @property
    def subversion(self) -> str:
        """What ``haproxy -vv`` shows after the version: Debian's revision, or nothing."""
        if self.debian_version and "-" in self.debian_version:
            return "-" + self.debian_version.rsplit("-", 1)[1]
        return ""


def haproxy_tarball_version(path: Path) -> str:
    """The version in a HAProxy source tarball's top-level VERSION file."""
    try:
        found = None
        with tarfile.open(path) as tar:
            for member in tar:  # every member, to the end: a truncated tarball fails here, not in the build
                parts = member.name.strip("./").split("/")
                if found is None and len(parts) == 2 and parts[1] == "VERSION" and member.isfile():
                    handle = tar.extractfile(member)
                    if handle is not None:
                        text = handle.read(200).decode("ascii", "replace").strip()
                        if re.fullmatch(r"[0-9]{1,3}\.[0-9]{1,3}(\.[0-9]{1,3})?[A-Za-z0-9_.+~-]{0,40}", text):
                            found = text
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as exc:  # EOFError: truncated
        raise ArtifactRefused(f"{path}: not a readable source tarball ({first_error_line(exc)})") from None
    if found is not None:
        return found
    match = re.search(r"haproxy[-_]([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})", path.name)
    if match:
        return match.group(1)
    raise ArtifactRefused(
        f"{path}: cannot tell which HAProxy version this is (no VERSION file, no version in the name)",
        hint="pass the release tarball as published, e.g. haproxy-2.0.8.tar.gz",
    )


def resolve_haproxy_source(
    version: str,
    *,
    explicit: Path | None = None,
    cache: Path | None = None,
    official_url: str | None = None,
    official_sha256: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    debian: bool = True,
    apt_sources: Path | None = None,
    allow_unofficial: bool = False,
    emitter: Emitter = NULL_EMITTER,
) -> HAProxySource:
    """Find a HAProxy source tarball for ``version``, saying which one and why.

    Order: ``explicit`` (``--haproxy-source``) > the cache > the official tarball
    (``official_url``/``official_sha256`` default to the known release) > Debian's source
    package (a different version: a warn event says so).
    """
    cache = cache or cache_dir()
    if explicit is not None:
        return given_haproxy_source(version, Path(explicit).expanduser(), allow_unofficial, emitter)

    known = HAPROXY_OFFICIAL.get(version)
    url = official_url or (known.url if known else None)
    sha = official_sha256 or (known.sha256 if known else None)
    name = url.rsplit("/", 1)[-1] if url else f"haproxy-{version}.tar.gz"
    if sha:
        cached = cache_lookup(sha, name, cache=cache, emitter=emitter)
        if cached is not None:
            emitter.emit("source.cached", f"HAProxy {version} source found in the cache: {cached}", path=str(cached))
            return HAProxySource(
                cached, version, "official", sha, version, f"HAProxy {version} from the cache (sha256 verified)"
            )

    problem: str
    if url and sha:
        try:
            path = download(url, sha, name, cache=cache, timeout=timeout, emitter=emitter)
            return HAProxySource(
                path, version, "official", sha, version, f"official HAProxy {version} tarball, sha256 verified"
            )
        except ChecksumMismatch:
            raise
        except DownloadError as exc:
            problem = f"official {version} tarball unreachable ({exc.message})"
    elif url:
        problem = f"no known sha256 for HAProxy {version}, so {url} cannot be verified"
    else:
        problem = f"no official tarball of HAProxy {version} is known to labgen"

    hint = (
        f"download haproxy-{version}.tar.gz yourself and pass it with `labgen build --haproxy-source PATH`, "
        f"or put it in {cache}"
    )
    if not debian:
        raise ArtifactMissing(f"cannot get the HAProxy {version} source: {problem}", hint=hint)
    return _debian_fallback(version, problem, hint, cache, apt_sources, emitter)


def given_haproxy_source(version: str, path: Path, allow_unofficial: bool, emitter: Emitter) -> HAProxySource:
    """``--haproxy-source``: its version read from the tarball, official only with the pinned sha256."""
    if not path.is_file():
        raise ArtifactMissing(f"--haproxy-source {path}: no such file", hint="give the path of a haproxy-X.Y.Z.tar.gz")
    found = haproxy_tarball_version(path)
    digest = sha256_file(path)
    known = HAPROXY_OFFICIAL.get(found)
    origin: HAProxyOrigin = "local" if known is None else "official" if known.sha256 == digest else "unofficial"
    reason = f"HAProxy {found} from {path} (--haproxy-source)"
    if origin == "unofficial":
        assert known is not None
        if not allow_unofficial:
            raise ChecksumMismatch(
                f"--haproxy-source {path} says it is HAProxy {found} but is not the official {known.name}",
                known.sha256,
                digest,
                hint=UNOFFICIAL_HINT,
                exit_code=EXIT_USAGE,
            )
        reason = f"UNOFFICIAL HAProxy {found} from {path}: its sha256 {digest} is not the official release's"
        emitter.emit("source.haproxy", reason, "warn", version=found, sha256=digest)
    elif origin == "local":
        reason += f", unverified: labgen pins no sha256 for HAProxy {found}"
    if found != version:
        emitter.emit(
            "source.haproxy",
            f"--haproxy-source is HAProxy {found}, not the lab's {version}; building {found}",
            "warn",
            requested=version,
            version=found,
        )
    return HAProxySource(path, found, origin, digest, version, reason)


def _debian_fallback(
    version: str, problem: str, hint: str, cache: Path, apt_sources: Path | None, emitter: Emitter
) -> HAProxySource:
    emitter.emit("source.haproxy", f"{problem}; trying Debian's source package", "info")
    try:
        deb = debian_haproxy_source(cache=cache, apt_sources=apt_sources, emitter=emitter)
    except LabgenError as exc:
        raise ArtifactMissing(
            f"cannot get the HAProxy {version} source: {problem}; Debian's source package failed too: {exc.message}",
            hint=hint,
        ) from None
    upstream = deb.version.split("-", 1)[0].split(":")[-1]
    if upstream != version:
        message = (
            f"{problem.split(' (', 1)[0]}; building Debian's {upstream} ({deb.version}, with Debian's patches) instead"
        )
        emitter.emit("source.haproxy", message, "warn", requested=version, version=upstream, debian_version=deb.version)
    else:
        message = f"HAProxy {upstream} from Debian's source package {deb.version} (with Debian's patches)"
        emitter.emit("source.haproxy", message, "info", version=upstream, debian_version=deb.version)
    return HAProxySource(
        deb.orig,
        upstream,
        "debian",
        sha256_file(deb.orig),
        version,
        message,
        debian_version=deb.version,
        debian_archive=deb.debian,
    )
