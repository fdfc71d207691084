"""Debian's source packages, fetched with ``apt-get source --download-only`` under a temporary apt
configuration (deb-src lines derived from this machine's Debian sources; /etc/apt is not touched),
newest version first in dpkg's order, and kept in the download cache."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debian.deb822 import Sources
from debian.debian_support import Version

from labgen.builder.apt_sources import parse_apt_sources_file, read_apt_sources, render_deb822
from labgen.builder.downloads import ChecksumMismatch, DownloadError, cache_dir, cache_store
from labgen.errors import ArtifactMissing, EnvironmentProblem, ToolMissing
from labgen.events import NULL_EMITTER, Emitter
from labgen.wire.files import sha256_file, write_atomic

DEBIAN_HAPROXY_PACKAGE = "haproxy"  # Debian's source package


@dataclass(frozen=True)
class DebianSource:
    package: str
    version: str  # full Debian version, e.g. "2.6.12-1+deb12u3"
    orig: Path  # the upstream tarball (*.orig.tar.*)
    debian: Path | None  # debian.tar.xz (packaging and patches); None for native packages
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256


def debian_version_key(version: str) -> Version:
    """A sort key ordering Debian version strings the way dpkg does (python-debian's Version)."""
    return Version(version)


def debian_haproxy_source(
    *, cache: Path | None = None, apt_sources: Path | None = None, emitter: Emitter = NULL_EMITTER
) -> DebianSource:
    return debian_source(DEBIAN_HAPROXY_PACKAGE, cache=cache, apt_sources=apt_sources, emitter=emitter)


def debian_source(
    package: str, *, cache: Path | None = None, apt_sources: Path | None = None, emitter: Emitter = NULL_EMITTER
) -> DebianSource:
    """Debian's source package, from the cache or fetched with ``apt-get source --download-only``.

    Versions are tried newest first; one whose files the archive does not serve (e.g. the
    security pool's 404s) is skipped with a note.
    """
    cache = cache or cache_dir()
    record_path = cache / f"debian-{package}.json"
    cached = _cached_source(package, record_path, cache)
    if cached is not None:
        emitter.emit("source.cached", f"Debian source {package} {cached.version} found in the cache")
        return cached

    if shutil.which("apt-get") is None:
        raise ToolMissing("apt-get is not installed, so Debian's source packages cannot be fetched")
    entries = (
        [e for e in read_apt_sources() if e.is_debian] if apt_sources is None else parse_apt_sources_file(apt_sources)
    )
    if not entries:
        raise EnvironmentProblem(
            "this machine's apt configuration has no Debian source to derive deb-src lines from",
            hint="add Debian's archive to /etc/apt/sources.list.d/, or pass the tarball explicitly",
        )
    with tempfile.TemporaryDirectory(prefix="labgen-apt-") as tmp_name:
        tmp = Path(tmp_name)
        options = _temporary_apt(tmp, render_deb822(entries, types=("deb-src",)))
        emitter.emit("source.debian", f"apt-get update (deb-src for {package}, temporary configuration)")
        _run(["apt-get", "-q", *options, "update"], "apt-get update with the deb-src lines")
        show = _run(["apt-cache", *options, "showsrc", package], f"apt-cache showsrc {package}")
        candidates = parse_showsrc(show, package)
        if not candidates:
            raise ArtifactMissing(f"Debian's archive lists no source package named {package}")
        download_dir = tmp / "download"
        failures: list[str] = []
        for version, checksums in sorted(candidates.items(), key=lambda kv: Version(kv[0]), reverse=True):
            shutil.rmtree(download_dir, ignore_errors=True)
            download_dir.mkdir()
            emitter.emit("source.debian", f"apt-get source --download-only {package}={version}")
            proc = subprocess.run(
                ["apt-get", "-q", *options, "source", "--download-only", f"{package}={version}"],
                cwd=download_dir,
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                why = _apt_failure(proc.stderr)
                failures.append(f"{version}: {why}")
                emitter.emit(
                    "source.debian",
                    f"{package} {version}: source not downloadable ({why}); trying an older one",
                    "warn",
                )
                continue
            stored = _store_downloaded(package, version, checksums, download_dir, cache)
            record = {"package": package, "version": version, "files": checksums}
            record_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(
                record_path, json.dumps(record, indent=2, sort_keys=True).encode(), fsync=False, fsync_dir=False
            )
            return _debian_result(package, version, stored, checksums)
    raise ArtifactMissing(
        f"none of Debian's {package} source versions could be downloaded: " + "; ".join(failures),
    )


def _temporary_apt(tmp: Path, sources: str) -> list[str]:
    """An apt configuration of its own under ``tmp`` (sources, lists, cache); its ``-o`` options."""
    (tmp / "sources.list.d").mkdir()
    (tmp / "lists" / "partial").mkdir(parents=True)
    (tmp / "cache" / "archives" / "partial").mkdir(parents=True)
    (tmp / "sources.list").write_text("")
    (tmp / "sources.list.d" / "labgen-src.sources").write_text(sources, encoding="utf-8")
    options = [
        f"-oDir::Etc::SourceList={tmp / 'sources.list'}",
        f"-oDir::Etc::SourceParts={tmp / 'sources.list.d'}",
        f"-oDir::State::Lists={tmp / 'lists'}",
        f"-oDir::Cache={tmp / 'cache'}",
        "-oAcquire::http::Timeout=30",
        "-oAcquire::Languages=none",
    ]
    if os.geteuid() == 0:
        options.append("-oAPT::Sandbox::User=root")  # the temp dir is private to root
    return options


def _store_downloaded(
    package: str, version: str, checksums: dict[str, str], folder: Path, cache: Path
) -> dict[str, Path]:
    """Verify what ``apt-get source`` left in ``folder`` against the archive's checksums; cache it."""
    stored: dict[str, Path] = {}
    for name, sha in checksums.items():
        path = folder / name
        if not path.is_file():
            raise DownloadError(f"apt-get source {package}={version} did not produce {name}")
        actual = sha256_file(path)
        if actual != sha:
            raise ChecksumMismatch(f"{name} from Debian", sha, actual)
        stored[name] = cache_store(path, sha256=sha, cache=cache)
    return stored


def _cached_source(package: str, record_path: Path, cache: Path) -> DebianSource | None:
    record = _read_record(record_path)
    if not record:
        return None
    files = {name: cache / "sha256" / sha / name for name, sha in record["files"].items()}
    if all(p.is_file() and sha256_file(p) == record["files"][p.name] for p in files.values()):
        return _debian_result(package, record["version"], files, record["files"])
    return None


def _debian_result(package: str, version: str, files: dict[str, Path], checksums: dict[str, str]) -> DebianSource:
    orig = next((p for n, p in files.items() if ".orig.tar." in n), None)
    deb = next((p for n, p in files.items() if ".debian.tar." in n), None)
    if orig is None:  # a native package: the one tarball is the source
        orig = next((p for n, p in files.items() if n.endswith((".tar.gz", ".tar.xz", ".tar.bz2"))), None)
    if orig is None:
        raise DownloadError(f"Debian's {package} {version} has no source tarball")
    return DebianSource(package, version, orig, deb, dict(checksums))


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("files"), dict)
        or not isinstance(data.get("version"), str)
    ):
        return None
    return data


def _run(cmd: list[str], what: str) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise EnvironmentProblem(f"{what} failed: {_apt_failure(proc.stderr) or proc.stdout.strip()[-300:]}")
    return proc.stdout


def _apt_failure(stderr: str) -> str:
    errors = [line[3:].strip() for line in stderr.splitlines() if line.startswith("E: ")]
    text = errors[0] if errors else stderr.strip().splitlines()[-1] if stderr.strip() else "unknown error"
    return text[:300]


def parse_showsrc(text: str, package: str) -> dict[str, dict[str, str]]:
    """version -> {file name: sha256} for each stanza of ``apt-cache showsrc`` (python-debian's
    ``Sources`` reads the Checksums-Sha256 field)."""
    result: dict[str, dict[str, str]] = {}
    for stanza in Sources.iter_paragraphs(text.splitlines(), use_apt_pkg=False):
        if stanza.get("Package") != package or "Version" not in stanza:
            continue
        sums = {entry["name"]: entry["sha256"] for entry in stanza.get("Checksums-Sha256", [])}
        if sums:
            result[stanza["Version"]] = sums
    return result
