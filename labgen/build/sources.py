"""Where the images' inputs come from: the HAProxy source, jenkins.war, a JDK and apt's sources.

Every artifact is resolved in the same order: a path the user gave > the local cache
(``$XDG_CACHE_HOME/labgen/sources``, default ``~/.cache/labgen/sources``) > a download
verified against a known sha256 > (HAProxy only) Debian's source package, fetched with
``apt-get source`` from deb-src lines derived from this machine's own apt sources.

Downloads stream to a temporary file beside the cache, are verified, then renamed into
place; a checksum mismatch is an error naming both hashes and the file is discarded.
The cache is keyed by sha256: ``<cache>/sha256/<hash>/<file name>``; a file dropped by
hand at ``<cache>/<file name>`` (e.g. ``jenkins.war``) is found too once it verifies.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from labgen import paths
from labgen.errors import EXIT_FAILED, EXIT_USAGE, EnvironmentProblem, LabgenError
from labgen.events import NULL_EMITTER, Emitter
from labgen.model.names import BASE_SUITE, FLAVOUR_LABEL, HAPROXY_ORIGIN_LABEL, JENKINS_SHA_LABEL
from labgen.wire.files import sha256_file, write_atomic

DEBIAN_HAPROXY_PACKAGE = "haproxy"  # Debian's source package
DOWNLOAD_TIMEOUT = 10.0  # seconds; the official hosts are unreachable on many lab machines

# "unofficial": a file given by the user that claims a release labgen pins (by its version) but
# whose sha256 is not that release's; built only with --allow-unofficial, and labelled so.
# "local": a file given by the user for a version labgen pins no checksum for (unverified).
HAProxyOrigin = Literal["official", "debian", "local", "unofficial"]
WarOrigin = Literal["local", "cache", "official", "tsinghua", "unofficial"]
UNOFFICIAL_HINT = "use the official release, or pass --allow-unofficial to build it anyway (it is labelled unofficial)"


@dataclass(frozen=True)
class Artifact:
    """A file known by name, where to download it, and the sha256 it must have."""

    name: str
    url: str
    sha256: str


HAPROXY_OFFICIAL: dict[str, Artifact] = {
    "2.0.8": Artifact(
        "haproxy-2.0.8.tar.gz",
        "https://www.haproxy.org/download/2.0/src/haproxy-2.0.8.tar.gz",
        "c37e1e8515ad6f9781a0ac336ca88787f3bb52252fb2bdad9919ba16323c280a",
    ),
}

JENKINS_WAR_SHA256: dict[str, str] = {
    "2.190.2": "47620a00004af5634e45904149897fe4a36b0463ec691bfabc2086779f90f127",
}
JENKINS_MIRRORS: dict[str, str] = {
    "official": "https://get.jenkins.io/war-stable/{version}/jenkins.war",
    # the article's mirror (Tsinghua University, "TUNA"), for machines in mainland China
    "tsinghua": "https://mirrors.tuna.tsinghua.edu.cn/jenkins/war-stable/{version}/jenkins.war",
}
JENKINS_MIRRORS["tuna"] = JENKINS_MIRRORS["tsinghua"]


class DownloadError(LabgenError):
    """The file could not be fetched (host unreachable, timeout, HTTP error)."""


class ChecksumMismatch(LabgenError):
    """A file's sha256 is not the one it must have; the file was not used."""

    def __init__(self, what: str, expected: str, actual: str, *, hint: str | None = None, exit_code: int = EXIT_FAILED):
        super().__init__(f"{what}: sha256 mismatch: expected {expected}, got {actual}", hint=hint, exit_code=exit_code)
        self.expected = expected
        self.actual = actual


# --------------------------------------------------------------------------- cache


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/labgen/sources`` (``~/.cache/labgen/sources`` when unset)."""
    return paths.cache_dir() / "sources"


def cache_lookup(sha256: str, name: str, *, cache: Path | None = None, emitter: Emitter = NULL_EMITTER) -> Path | None:
    """A cached copy of the file with this sha256, verified; None when there is none."""
    root = cache or cache_dir()
    keyed = root / "sha256" / sha256 / name
    candidates = [keyed, *sorted((root / "sha256" / sha256).glob("*")), root / name]
    seen: set[Path] = set()
    for path in candidates:
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        actual = sha256_file(path)
        if actual == sha256:
            return path
        emitter.emit(
            "source.cache",
            f"ignoring {path}: sha256 {actual} is not the expected {sha256}",
            "warn",
            path=str(path),
            expected=sha256,
            actual=actual,
        )
    return None


def cache_store(path: Path, *, name: str | None = None, sha256: str | None = None, cache: Path | None = None) -> Path:
    """Copy a verified file into the cache under its sha256; returns the cached path."""
    digest = sha256 or sha256_file(path)
    target = (cache or cache_dir()) / "sha256" / digest / (name or path.name)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            shutil.copyfileobj(src, out, 1 << 20)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def download(
    url: str,
    sha256: str,
    name: str,
    *,
    cache: Path | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    emitter: Emitter = NULL_EMITTER,
) -> Path:
    """Fetch ``url`` into the cache, verified against ``sha256``.

    Raises DownloadError when the host cannot be reached or answers with an error, and
    ChecksumMismatch (naming both hashes) when the bytes are not the expected ones;
    in both cases nothing is left in the cache.
    """
    target = (cache or cache_dir()) / "sha256" / sha256 / name
    target.parent.mkdir(parents=True, exist_ok=True)
    emitter.emit("source.download", f"downloading {url}", url=url, timeout=timeout)
    digest = hashlib.sha256()
    size = 0
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    tmp = Path(tmp_name)
    try:
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "labgen"})
            with urllib.request.urlopen(request, timeout=timeout) as response, os.fdopen(fd, "wb") as out:
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
        except urllib.error.HTTPError as exc:
            raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise DownloadError(f"{url}: unreachable ({_reason(exc.reason)})") from None
        except (TimeoutError, OSError) as exc:
            raise DownloadError(f"{url}: unreachable ({_reason(exc)})") from None
        actual = digest.hexdigest()
        if actual != sha256:
            raise ChecksumMismatch(
                f"{url} ({size} bytes)",
                sha256,
                actual,
                hint="the download was discarded; something between you and the server may have altered it "
                "(a proxy's error page?); fetch the file yourself and pass its path",
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    emitter.emit("source.download", f"downloaded {name} ({size} bytes, sha256 verified)", url=url, size=size)
    return target


def _reason(exc: object) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(getattr(exc, "strerror", None) or exc)


# --------------------------------------------------------------------------- HAProxy


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
        raise LabgenError(f"{path}: not a readable source tarball ({_first_line(exc)})", exit_code=EXIT_USAGE) from None
    if found is not None:
        return found
    match = re.search(r"haproxy[-_]([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})", path.name)
    if match:
        return match.group(1)
    raise LabgenError(
        f"{path}: cannot tell which HAProxy version this is (no VERSION file, no version in the name)",
        hint="pass the release tarball as published, e.g. haproxy-2.0.8.tar.gz",
        exit_code=EXIT_USAGE,
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
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise EnvironmentProblem(
                f"--haproxy-source {path}: no such file", hint="give the path of a haproxy-X.Y.Z.tar.gz"
            )
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
        raise EnvironmentProblem(f"cannot get the HAProxy {version} source: {problem}", hint=hint)
    emitter.emit("source.haproxy", f"{problem}; trying Debian's source package", "info")
    try:
        deb = debian_haproxy_source(cache=cache, apt_sources=apt_sources, emitter=emitter)
    except LabgenError as exc:
        raise EnvironmentProblem(
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


# --------------------------------------------------------------------------- Debian source packages


@dataclass(frozen=True)
class DebianSource:
    package: str
    version: str  # full Debian version, e.g. "2.6.12-1+deb12u3"
    orig: Path  # the upstream tarball (*.orig.tar.*)
    debian: Path | None  # debian.tar.xz (packaging and patches); None for native packages
    files: dict[str, str] = field(default_factory=dict)  # name -> sha256


def debian_haproxy_source(
    *, cache: Path | None = None, apt_sources: Path | None = None, emitter: Emitter = NULL_EMITTER
) -> DebianSource:
    return debian_source(DEBIAN_HAPROXY_PACKAGE, cache=cache, apt_sources=apt_sources, emitter=emitter)


def debian_source(
    package: str, *, cache: Path | None = None, apt_sources: Path | None = None, emitter: Emitter = NULL_EMITTER
) -> DebianSource:
    """Debian's source package, from the cache or fetched with ``apt-get source --download-only``.

    apt runs with a temporary configuration: deb-src lines derived from this machine's
    Debian sources, its own lists directory; /etc/apt is not touched. Versions are tried
    newest first; one whose files the archive does not serve (e.g. the security pool's
    404s) is skipped with a note.
    """
    cache = cache or cache_dir()
    record_path = cache / f"debian-{package}.json"
    record = _read_record(record_path)
    if record:
        files = {name: cache / "sha256" / sha / name for name, sha in record["files"].items()}
        if all(p.is_file() and sha256_file(p) == record["files"][p.name] for p in files.values()):
            emitter.emit("source.cached", f"Debian source {package} {record['version']} found in the cache")
            return _debian_result(package, record["version"], files, record["files"])

    if shutil.which("apt-get") is None:
        raise EnvironmentProblem("apt-get is not installed, so Debian's source packages cannot be fetched")
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
        (tmp / "sources.list.d").mkdir()
        (tmp / "lists" / "partial").mkdir(parents=True)
        (tmp / "cache" / "archives" / "partial").mkdir(parents=True)
        (tmp / "sources.list").write_text("")
        (tmp / "sources.list.d" / "labgen-src.sources").write_text(
            render_deb822(entries, types=("deb-src",)), encoding="utf-8"
        )
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
        emitter.emit("source.debian", f"apt-get update (deb-src for {package}, temporary configuration)")
        _run(["apt-get", "-q", *options, "update"], "apt-get update with the deb-src lines")
        show = _run(["apt-cache", *options, "showsrc", package], f"apt-cache showsrc {package}")
        candidates = _parse_showsrc(show, package)
        if not candidates:
            raise EnvironmentProblem(f"Debian's archive lists no source package named {package}")
        download_dir = tmp / "download"
        failures: list[str] = []
        for version, checksums in sorted(candidates.items(), key=lambda kv: _DebVersion(kv[0]), reverse=True):
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
            stored: dict[str, Path] = {}
            for name, sha in checksums.items():
                path = download_dir / name
                if not path.is_file():
                    raise LabgenError(f"apt-get source {package}={version} did not produce {name}")
                actual = sha256_file(path)
                if actual != sha:
                    raise ChecksumMismatch(f"{name} from Debian", sha, actual)
                stored[name] = cache_store(path, sha256=sha, cache=cache)
            record_path.parent.mkdir(parents=True, exist_ok=True)
            record = {"package": package, "version": version, "files": checksums}
            write_atomic(
                record_path, json.dumps(record, indent=2, sort_keys=True).encode(), fsync=False, fsync_dir=False
            )
            return _debian_result(package, version, stored, checksums)
    raise EnvironmentProblem(
        f"none of Debian's {package} source versions could be downloaded: " + "; ".join(failures),
    )


def _debian_result(package: str, version: str, files: dict[str, Path], checksums: dict[str, str]) -> DebianSource:
    orig = next((p for n, p in files.items() if ".orig.tar." in n), None)
    deb = next((p for n, p in files.items() if ".debian.tar." in n), None)
    if orig is None:  # a native package: the one tarball is the source
        orig = next((p for n, p in files.items() if n.endswith((".tar.gz", ".tar.xz", ".tar.bz2"))), None)
    if orig is None:
        raise LabgenError(f"Debian's {package} {version} has no source tarball")
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


def _parse_showsrc(text: str, package: str) -> dict[str, dict[str, str]]:
    """version -> {file name: sha256} for each stanza of ``apt-cache showsrc``."""
    result: dict[str, dict[str, str]] = {}
    for stanza in re.split(r"\n\s*\n", text):
        fields = _deb822_fields(stanza)
        if fields.get("package") != package or "version" not in fields:
            continue
        sums: dict[str, str] = {}
        for line in fields.get("checksums-sha256", "").splitlines():
            parts = line.split()
            if len(parts) == 3:
                sums[parts[2]] = parts[0]
        if sums:
            result[fields["version"]] = sums
    return result


class _DebVersion:
    """Debian version ordering (epoch, upstream, revision; '~' sorts before everything)."""

    def __init__(self, text: str):
        epoch, _, rest = text.rpartition(":") if ":" in text else ("0", "", text)
        upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "0")
        self.key = (int(epoch or 0), upstream, revision)

    @staticmethod
    def _order(char: str) -> int:
        if char == "~":
            return -1
        if char.isalpha():
            return ord(char)
        return ord(char) + 256

    @classmethod
    def _compare_part(cls, a: str, b: str) -> int:
        while a or b:
            na = re.match(r"[^\d]*", a).group()  # type: ignore[union-attr]
            nb = re.match(r"[^\d]*", b).group()  # type: ignore[union-attr]
            for i in range(max(len(na), len(nb))):
                ca = cls._order(na[i]) if i < len(na) else 0
                cb = cls._order(nb[i]) if i < len(nb) else 0
                if ca != cb:
                    return -1 if ca < cb else 1
            a, b = a[len(na) :], b[len(nb) :]
            da = re.match(r"\d*", a).group()  # type: ignore[union-attr]
            db = re.match(r"\d*", b).group()  # type: ignore[union-attr]
            ia, ib = int(da or 0), int(db or 0)
            if ia != ib:
                return -1 if ia < ib else 1
            a, b = a[len(da) :], b[len(db) :]
        return 0

    def _cmp(self, other: _DebVersion) -> int:
        if self.key[0] != other.key[0]:
            return -1 if self.key[0] < other.key[0] else 1
        return self._compare_part(self.key[1], other.key[1]) or self._compare_part(self.key[2], other.key[2])

    def __lt__(self, other: _DebVersion) -> bool:
        return self._cmp(other) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DebVersion) and self._cmp(other) == 0

    def __hash__(self) -> int:
        return hash(self.key)


def debian_version_key(version: str) -> _DebVersion:
    """A sort key ordering Debian version strings the way dpkg does."""
    return _DebVersion(version)


# --------------------------------------------------------------------------- apt sources


@dataclass(frozen=True)
class AptSource:
    """One apt source entry (a deb822 stanza or a one-line entry), normalised."""

    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str | None = None
    architectures: tuple[str, ...] = ()
    origin: str = ""  # the file it came from

    @property
    def is_debian(self) -> bool:
        """Debian's own archive: signed by Debian's archive keyring (which every Debian
        image has), or unsigned-by-option with bookworm's suite names. Third-party
        repositories (their own keys, which the base image lacks) are not."""
        if self.signed_by is not None:
            keys = self.signed_by.split()
            return bool(keys) and all(
                k.startswith("/usr/share/keyrings/debian-archive-") and k.endswith(".gpg") for k in keys
            )
        return all(s == BASE_SUITE or s.startswith(BASE_SUITE + "-") for s in self.suites)

    def for_suite(self, suite: str) -> bool:
        return any(s == suite or s.startswith(suite + "-") or s.startswith(suite + "/") for s in self.suites)


def read_apt_sources(etc: Path = Path("/etc/apt")) -> list[AptSource]:
    """Every enabled entry apt reads: sources.list, sources.list.d/*.list and *.sources."""
    entries: list[AptSource] = []
    files = [etc / "sources.list"]
    parts = etc / "sources.list.d"
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        if path.is_file():
            entries += parse_apt_sources_file(path)
    return entries


def parse_apt_sources_file(path: Path) -> list[AptSource]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    if path.suffix == ".sources" or (path.suffix != ".list" and re.search(r"(?im)^types\s*:", text)):
        return parse_deb822(text, origin=str(path))
    return parse_one_line(text, origin=str(path))


def parse_one_line(text: str, *, origin: str = "") -> list[AptSource]:
    entries = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$", line)
        if not match:
            continue
        kind, opts, uri, suite, comps = match.groups()
        options = dict(o.split("=", 1) for o in (opts or "").split() if "=" in o)
        signed = options.get("signed-by")
        entries.append(
            AptSource(
                (kind,),
                (uri,),
                (suite,),
                tuple(comps.split()),
                signed.replace(",", " ") if signed else None,
                tuple(options.get("arch", "").split(",")) if options.get("arch") else (),
                origin,
            )
        )
    return entries


def parse_deb822(text: str, *, origin: str = "") -> list[AptSource]:
    entries = []
    for stanza in re.split(r"\n\s*\n", "\n".join(line for line in text.splitlines() if not line.startswith("#"))):
        fields = _deb822_fields(stanza)
        if not fields.get("types") or not fields.get("uris") or not fields.get("suites"):
            continue
        if fields.get("enabled", "yes").strip().lower() == "no":
            continue
        signed = fields.get("signed-by")
        if signed and "BEGIN PGP" in signed:
            signed = "(inline key)"
        entries.append(
            AptSource(
                tuple(fields["types"].split()),
                tuple(fields["uris"].split()),
                tuple(fields["suites"].split()),
                tuple(fields.get("components", "").split()),
                " ".join(signed.split()) if signed else None,
                tuple(fields.get("architectures", "").split()),
                origin,
            )
        )
    return entries


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key: str | None = None
    for line in stanza.splitlines():
        if line.startswith("#"):
            continue
        if line[:1] in (" ", "\t") and key is not None:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            fields[key] = value.strip()
    return fields


def render_deb822(entries: Iterable[AptSource], *, types: tuple[str, ...] | None = None) -> str:
    """A deb822 sources file for ``entries`` (optionally with other Types, e.g. deb-src).

    Entries that differ only in type are merged, so deriving deb-src lines from
    deb lines never lists a source twice.
    """
    stanzas: list[str] = []
    seen: set[tuple[object, ...]] = set()
    for entry in entries:
        kinds = types or entry.types
        key = (kinds, entry.uris, entry.suites, entry.components, entry.signed_by, entry.architectures)
        if key in seen:
            continue
        seen.add(key)
        lines = [
            f"Types: {' '.join(kinds)}",
            f"URIs: {' '.join(entry.uris)}",
            f"Suites: {' '.join(entry.suites)}",
        ]
        if entry.components:
            lines.append(f"Components: {' '.join(entry.components)}")
        if entry.architectures:
            lines.append(f"Architectures: {' '.join(entry.architectures)}")
        if entry.signed_by:
            lines.append(f"Signed-By: {entry.signed_by}")
        stanzas.append("\n".join(lines))
    return "\n\n".join(stanzas) + "\n"


def base_apt_sources(etc: Path = Path("/etc/apt"), suite: str = BASE_SUITE) -> str:
    """The deb822 sources the base image gets: this machine's Debian ``suite`` entries
    (binary packages), without third-party repositories whose keys the base lacks.

    ``LABGEN_APT_SOURCES`` may name a sources file (deb822 or one-line) to use instead.
    """
    override = os.environ.get("LABGEN_APT_SOURCES")
    if override:
        entries = parse_apt_sources_file(Path(override))
        if not entries:
            raise EnvironmentProblem(f"LABGEN_APT_SOURCES={override}: no apt source entries in it")
    else:
        entries = [e for e in read_apt_sources(etc) if e.is_debian and "deb" in e.types and e.for_suite(suite)]
    entries = [e for e in entries if "deb" in e.types]
    if not entries:
        raise EnvironmentProblem(
            f"this machine's apt configuration ({etc}) has no Debian {suite} source for the base image",
            hint=f"set LABGEN_APT_SOURCES to a sources file with Debian {suite} entries (the host's mirror)",
        )
    return render_deb822(entries, types=("deb",))


# --------------------------------------------------------------------------- Jenkins


@dataclass(frozen=True)
class JenkinsWar:
    path: Path
    version: str
    sha256: str
    origin: WarOrigin


def resolve_jenkins_war(
    version: str = "2.190.2",
    *,
    explicit: Path | None = None,
    cache: Path | None = None,
    mirror: str = "official",
    url: str | None = None,
    sha256: str | None = None,
    timeout: float = DOWNLOAD_TIMEOUT,
    allow_download: bool = True,
    allow_unofficial: bool = False,
    emitter: Emitter = NULL_EMITTER,
) -> JenkinsWar:
    """jenkins.war for ``version``: ``--jenkins-war`` > cache > download from ``mirror``
    (``official`` or the article's ``tsinghua``); verified against its sha256 in every case.
    Raises EnvironmentProblem naming what is missing and how to provide it."""
    cache = cache or cache_dir()
    sha = sha256 or JENKINS_WAR_SHA256.get(version)
    if sha is None:
        raise LabgenError(f"no known sha256 for jenkins.war {version}")
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise EnvironmentProblem(f"--jenkins-war {path}: no such file")
        actual = sha256_file(path)
        if actual != sha:
            if not allow_unofficial:
                raise ChecksumMismatch(
                    f"--jenkins-war {path} is not the official jenkins.war {version}",
                    sha,
                    actual,
                    hint=f"labgen needs jenkins.war {version} (the article's version): {UNOFFICIAL_HINT}",
                    exit_code=EXIT_USAGE,
                )
            emitter.emit(
                "source.jenkins",
                f"UNOFFICIAL jenkins.war from {path}: its sha256 {actual} is not the official {version}'s",
                "warn",
                sha256=actual,
            )
            return JenkinsWar(path, version, actual, "unofficial")
        return JenkinsWar(path, version, sha, "local")
    cached = cache_lookup(sha, "jenkins.war", cache=cache, emitter=emitter)
    if cached is not None:
        emitter.emit("source.cached", f"jenkins.war {version} found in the cache: {cached}", path=str(cached))
        return JenkinsWar(cached, version, sha, "cache")
    hint = (
        f"download jenkins.war {version} (sha256 {sha}) elsewhere, then run "
        f"`labgen build --jenkins-war PATH`, or put it in {cache}/jenkins.war"
    )
    if not allow_download:
        raise EnvironmentProblem(f"jenkins.war {version} was not given and is not in the cache ({cache})", hint=hint)
    if url is None:
        if mirror not in JENKINS_MIRRORS:
            raise LabgenError(f"unknown Jenkins mirror {mirror!r}; allowed: {', '.join(JENKINS_MIRRORS)}")
        url = JENKINS_MIRRORS[mirror].format(version=version)
    try:
        path = download(url, sha, "jenkins.war", cache=cache, timeout=timeout, emitter=emitter)
    except DownloadError as exc:
        raise EnvironmentProblem(
            f"jenkins.war {version} is not available: not given, not in the cache ({cache}), and {exc.message}",
            hint=hint,
        ) from None
    return JenkinsWar(path, version, sha, "official" if mirror == "official" else "tsinghua")


@dataclass(frozen=True)
class JdkTarball:
    path: Path
    version: str  # JAVA_VERSION from the JDK's release file, e.g. "1.8.0_232" or "11.0.5"
    top: str  # the tarball's top-level directory
    sha256: str

    @property
    def major(self) -> int:
        return java_major(self.version) or 0


def _first_line(exc: BaseException) -> str:
    """tarfile's errors list every compression it tried, one per line; the first says enough."""
    return " ".join((str(exc).strip().splitlines() or [type(exc).__name__])[0].split()).rstrip(": ")


def java_major(version: str) -> int | None:
    """8 for "1.8.0_232", 11 for "11.0.5"; None for what is not a Java version."""
    found = re.fullmatch(r"(?:1\.([0-9]{1,3})|([0-9]{1,3}))([._+-][0-9A-Za-z._+-]{0,60})?", version)
    if not found:
        return None
    return int(found.group(1) or found.group(2))


def inspect_jdk(path: Path) -> JdkTarball:
    """Check a JDK tarball (bin/java, release file) and read its Java version; Jenkins
    2.190.2 runs on Java 8 or 11 only."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise LabgenError(f"--jdk {path}: no such file", exit_code=EXIT_USAGE)
    top = None
    has_java = False
    version = None
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                parts = member.name.lstrip("./").split("/")
                if top is None and parts[0]:
                    top = parts[0]
                rel = "/".join(parts[1:])
                if rel in ("bin/java", "jre/bin/java"):
                    has_java = True
                elif rel == "release" and member.isfile():
                    handle = tar.extractfile(member)
                    text = handle.read(4096).decode("utf-8", "replace") if handle else ""
                    found = re.search(r'^JAVA_VERSION="([^"]+)"', text, re.M)
                    version = found.group(1) if found else None
                if has_java and version:
                    break
    except (tarfile.TarError, OSError, io.UnsupportedOperation, EOFError, zlib.error, lzma.LZMAError) as exc:
        raise LabgenError(f"--jdk {path}: not a readable tarball ({_first_line(exc)})", exit_code=EXIT_USAGE) from None
    if not has_java or top is None:
        raise LabgenError(
            f"--jdk {path}: no <dir>/bin/java inside; expected a JDK such as OpenJDK8U-jdk_x64_linux_*.tar.gz",
            exit_code=EXIT_USAGE,
        )
    if version is None:
        raise LabgenError(f"--jdk {path}: no release file telling its Java version", exit_code=EXIT_USAGE)
    if java_major(version) is None:
        raise LabgenError(
            f"--jdk {path}: its release file says JAVA_VERSION={version[:40]!r}, which is not a Java version",
            hint="use a Java 8 or 11 JDK tarball (e.g. Eclipse Temurin 8 or 11 for Linux x64)",
            exit_code=EXIT_USAGE,
        )
    if java_major(version) not in (8, 11):
        raise LabgenError(
            f"--jdk {path} is Java {version}; Jenkins 2.190.2 runs on Java 8 or 11 only",
            hint="use a Java 8 or 11 JDK tarball (e.g. Eclipse Temurin 8 or 11 for Linux x64)",
            exit_code=EXIT_USAGE,
        )
    return JdkTarball(path, version, top, sha256_file(path))


# --------------------------------------------------------------------------- what the user gave


def check_given_artifacts(
    haproxy_version: str,
    *,
    haproxy_source: Path | None = None,
    jenkins_war: Path | None = None,
    jdk: Path | None = None,
    allow_unofficial: bool = False,
) -> list[str]:
    """Check the files given on the command line before anything is built: each is what it
    claims (an unofficial one is refused unless `allow_unofficial`). Returns one note for each
    file that is not an official release, for the user to read."""
    notes = []
    if haproxy_source is not None:
        source = resolve_haproxy_source(
            haproxy_version, explicit=haproxy_source, debian=False, allow_unofficial=allow_unofficial
        )
        if source.origin != "official":
            notes.append(source.reason)
    if jenkins_war is not None:
        war = resolve_jenkins_war(explicit=jenkins_war, allow_unofficial=allow_unofficial)
        if war.origin == "unofficial":
            notes.append(f"UNOFFICIAL jenkins.war from {jenkins_war}: sha256 {war.sha256} is not the release's")
    if jdk is not None:
        inspect_jdk(jdk)
    return notes


def image_artifact_origins(labels: dict[str, str]) -> dict[str, str]:
    """What an image's labels say its artifacts are: {"haproxy": origin} or {"jenkins.war": ...}."""
    origins = {}
    if labels.get(HAPROXY_ORIGIN_LABEL):
        origins["haproxy"] = labels[HAPROXY_ORIGIN_LABEL]
    war_sha = labels.get(JENKINS_SHA_LABEL)
    if war_sha and labels.get(FLAVOUR_LABEL) == "real":
        official = war_sha in JENKINS_WAR_SHA256.values()
        origins["jenkins.war"] = "official" if official else "unofficial"
    return origins
