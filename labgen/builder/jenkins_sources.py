"""jenkins.war (given, cached or downloaded, always sha256-verified) and a Java 8/11 JDK tarball."""

from __future__ import annotations

import io
import lzma
import re
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labgen.builder.downloads import (
    DOWNLOAD_TIMEOUT,
    UNOFFICIAL_HINT,
    ChecksumMismatch,
    DownloadError,
    cache_dir,
    cache_lookup,
    download,
    first_error_line,
)
from labgen.errors import EXIT_USAGE, ArtifactMissing, ArtifactRefused, BadOptionValue, BadPath
from labgen.events import NULL_EMITTER, Emitter
from labgen.wire.files import sha256_file
from labgen.wire.war import NotJenkins, jenkins_war_version

WarOrigin = Literal["local", "cache", "official", "tsinghua", "unofficial"]

JENKINS_WAR_SHA256: dict[str, str] = {
    "2.190.2": "47620a00004af5634e45904149897fe4a36b0463ec691bfabc2086779f90f127",
}
JENKINS_MIRRORS: dict[str, str] = {
    "official": "https://get.jenkins.io/war-stable/{version}/jenkins.war",
    # the article's mirror (Tsinghua University, "TUNA"), for machines in mainland China
    "tsinghua": "https://mirrors.tuna.tsinghua.edu.cn/jenkins/war-stable/{version}/jenkins.war",
}
JENKINS_MIRRORS["tuna"] = JENKINS_MIRRORS["tsinghua"]


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
        raise BadOptionValue(
            f"no known sha256 for jenkins.war {version}; allowed: {', '.join(sorted(JENKINS_WAR_SHA256))}"
        )
    if explicit is not None:
        return _given_war(Path(explicit).expanduser(), version, sha, allow_unofficial, emitter)
    cached = cache_lookup(sha, "jenkins.war", cache=cache, emitter=emitter)
    if cached is not None:
        emitter.emit("source.cached", f"jenkins.war {version} found in the cache: {cached}", path=str(cached))
        return JenkinsWar(cached, version, sha, "cache")
    hint = (
        f"download jenkins.war {version} (sha256 {sha}) elsewhere, then run "
        f"`labgen build --jenkins-war PATH`, or put it in {cache}/jenkins.war"
    )
    if not allow_download:
        raise ArtifactMissing(f"jenkins.war {version} was not given and is not in the cache ({cache})", hint=hint)
    if url is None:
        if mirror not in JENKINS_MIRRORS:
            raise BadOptionValue(f"unknown Jenkins mirror {mirror!r}; allowed: {', '.join(JENKINS_MIRRORS)}")
        url = JENKINS_MIRRORS[mirror].format(version=version)
    try:
        path = download(url, sha, "jenkins.war", cache=cache, timeout=timeout, emitter=emitter)
    except DownloadError as exc:
        raise ArtifactMissing(
            f"jenkins.war {version} is not available: not given, not in the cache ({cache}), and {exc.message}",
            hint=hint,
        ) from None
    return JenkinsWar(path, version, sha, "official" if mirror == "official" else "tsinghua")


def _given_war(path: Path, version: str, sha: str, allow_unofficial: bool, emitter: Emitter) -> JenkinsWar:
    if not path.is_file():
        raise ArtifactMissing(f"--jenkins-war {path}: no such file")
    actual = sha256_file(path)
    if actual == sha:
        return JenkinsWar(path, version, sha, "local")
    if not allow_unofficial:
        raise ChecksumMismatch(
            f"--jenkins-war {path} is not the official jenkins.war {version}",
            sha,
            actual,
            hint=f"labgen needs jenkins.war {version} (the article's version): {UNOFFICIAL_HINT}",
            exit_code=EXIT_USAGE,
        )
    check_jenkins_war(path, version)
    emitter.emit(
        "source.jenkins",
        f"UNOFFICIAL jenkins.war from {path}: its sha256 {actual} is not the official {version}'s",
        "warn",
        sha256=actual,
    )
    return JenkinsWar(path, version, actual, "unofficial")


def check_jenkins_war(path: Path, version: str) -> None:
    """A war that is not the official one must at least be Jenkins ``version`` (the image's launcher
    checks it again before Java runs)."""
    try:
        found = jenkins_war_version(path)
    except NotJenkins as exc:
        raise ArtifactRefused(
            f"--jenkins-war {path} is not a Jenkins war: {exc}",
            hint=f"give the jenkins.war of Jenkins {version}",
        ) from None
    if found != version:
        raise ArtifactRefused(
            f"--jenkins-war {path} is Jenkins {found}, not {version}",
            hint=f"labgen runs Jenkins {version} (the article's version)",
        )


@dataclass(frozen=True)
class JdkTarball:
    path: Path
    version: str  # JAVA_VERSION from the JDK's release file, e.g. "1.8.0_232" or "11.0.5"
    top: str  # the tarball's top-level directory
    sha256: str

    @property
    def major(self) -> int:
        return java_major(self.version) or 0


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
        raise BadPath(f"--jdk {path}: no such file")
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
        raise ArtifactRefused(f"--jdk {path}: not a readable tarball ({first_error_line(exc)})") from None
    if not has_java or top is None:
        raise ArtifactRefused(
            f"--jdk {path}: no <dir>/bin/java inside; expected a JDK such as OpenJDK8U-jdk_x64_linux_*.tar.gz"
        )
    if version is None:
        raise ArtifactRefused(f"--jdk {path}: no release file telling its Java version")
    if java_major(version) is None:
        raise ArtifactRefused(
            f"--jdk {path}: its release file says JAVA_VERSION={version[:40]!r}, which is not a Java version",
            hint="use a Java 8 or 11 JDK tarball (e.g. Eclipse Temurin 8 or 11 for Linux x64)",
        )
    if java_major(version) not in (8, 11):
        raise ArtifactRefused(
            f"--jdk {path} is Java {version}; Jenkins 2.190.2 runs on Java 8 or 11 only",
            hint="use a Java 8 or 11 JDK tarball (e.g. Eclipse Temurin 8 or 11 for Linux x64)",
        )
    return JdkTarball(path, version, top, sha256_file(path))
