"""Source resolution (issue 3): cache hits, checksum mismatches, nothing reachable, downloads.

No Docker and no network: downloads go to a loopback HTTP server in a thread or to a closed
loopback port. Debian's source package itself is exercised by the integration tests.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tarfile
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from labgen.builder import downloads, jenkins_sources, provenance
from labgen.builder import haproxy_source as haproxy_module
from labgen.builder.apt_sources import APT_SOURCES_ENV, base_apt_sources, parse_apt_sources_file, render_deb822
from labgen.builder.debian_source import DebianSource, debian_version_key
from labgen.builder.downloads import ChecksumMismatch, cache_dir
from labgen.builder.flavour import choose_jenkins
from labgen.builder.haproxy_source import resolve_haproxy_source
from labgen.builder.jenkins_sources import inspect_jdk, resolve_jenkins_war
from labgen.builder.options import BuildOptions
from labgen.errors import (
    EXIT_USAGE,
    AptSourcesMissing,
    BadEnvironmentVariable,
    BadOptionValue,
    EnvironmentProblem,
    LabgenError,
)
from labgen.events import Emitter, Event
from tests.wars import make_war

# --------------------------------------------------------------------------- helpers


def make_tarball(top: str, files: dict[str, bytes], *, mode: str = "w:gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:  # type: ignore[call-overload]
        for name, data in files.items():
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size = len(data)
            info.mode = 0o755 if name.endswith("bin/java") else 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FAKE_HAPROXY = make_tarball("haproxy-2.0.8", {"VERSION": b"2.0.8\n", "src/haproxy.c": b"int main(){}\n"})
FAKE_WAR = b"PK\x03\x04 not really a war " * 100


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once it is closed


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.emitter = Emitter()
        self.emitter.subscribe(self.events.append)

    def warnings(self) -> list[str]:
        return [e.message for e in self.events if e.level == "warn"]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the network was touched")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def http_server() -> Iterator[tuple[str, dict[str, bytes], list[str]]]:
    """A loopback HTTP server: (base URL, path -> body to serve, paths requested)."""
    files: dict[str, bytes] = {}
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            body = files.get(self.path)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", files, requested
    finally:
        server.shutdown()
        server.server_close()


def cache_files(cache: Path) -> list[Path]:
    return sorted(p for p in cache.rglob("*") if p.is_file()) if cache.exists() else []


# --------------------------------------------------------------------------- cache


def test_cache_dir_respects_xdg_cache_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_dir() == tmp_path / "labgen" / "sources"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "labgen" / "sources"


def test_haproxy_cache_hit_touches_no_network(cache: Path, no_network: None, recorder: Recorder) -> None:
    digest = sha(FAKE_HAPROXY)
    cached = cache / "sha256" / digest / "haproxy-2.0.8.tar.gz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(FAKE_HAPROXY)
    source = resolve_haproxy_source(
        "2.0.8", cache=cache, official_url="http://127.0.0.1:9/haproxy-2.0.8.tar.gz", official_sha256=digest
    )
    assert source.path == cached
    assert (source.origin, source.version, source.sha256) == ("official", "2.0.8", digest)
    assert source.debian_archive is None and source.subversion == ""


def test_a_file_dropped_by_hand_into_the_cache_is_found_once_it_verifies(
    cache: Path, no_network: None, recorder: Recorder
) -> None:
    cache.mkdir(parents=True)
    (cache / "jenkins.war").write_bytes(FAKE_WAR)
    war = resolve_jenkins_war("2.190.2", cache=cache, sha256=sha(FAKE_WAR), emitter=recorder.emitter)
    assert (war.path, war.origin) == (cache / "jenkins.war", "cache")


def test_a_cached_file_with_the_wrong_hash_is_ignored_with_a_warning(cache: Path, recorder: Recorder) -> None:
    cache.mkdir(parents=True)
    (cache / "jenkins.war").write_bytes(b"something else")
    with pytest.raises(EnvironmentProblem):
        resolve_jenkins_war(
            "2.190.2", cache=cache, sha256=sha(FAKE_WAR), allow_download=False, emitter=recorder.emitter
        )
    assert any("is not the expected" in w for w in recorder.warnings())
    assert (cache / "jenkins.war").read_bytes() == b"something else"  # a user's file is never deleted


# --------------------------------------------------------------------------- downloads


def test_download_from_a_loopback_server_is_verified_and_cached(
    cache: Path, http_server: tuple[str, dict[str, bytes], list[str]], recorder: Recorder
) -> None:
    base, files, requested = http_server
    files["/haproxy-2.0.8.tar.gz"] = FAKE_HAPROXY
    digest = sha(FAKE_HAPROXY)
    kwargs = {"cache": cache, "official_url": f"{base}/haproxy-2.0.8.tar.gz", "official_sha256": digest}
    source = resolve_haproxy_source("2.0.8", emitter=recorder.emitter, **kwargs)  # type: ignore[arg-type]
    assert source.origin == "official"
    assert source.path == cache / "sha256" / digest / "haproxy-2.0.8.tar.gz"
    assert source.path.read_bytes() == FAKE_HAPROXY
    assert cache_files(cache) == [source.path]  # no temporary file left behind
    assert requested == ["/haproxy-2.0.8.tar.gz"]
    again = resolve_haproxy_source("2.0.8", **kwargs)  # type: ignore[arg-type]
    assert again.path == source.path and requested == ["/haproxy-2.0.8.tar.gz"]  # the cache answered


def test_checksum_mismatch_is_an_error_naming_both_hashes_and_the_file_is_discarded(
    cache: Path, http_server: tuple[str, dict[str, bytes], list[str]]
) -> None:
    base, files, _ = http_server
    files["/jenkins.war"] = b"<html>blocked by your proxy</html>"
    expected = sha(FAKE_WAR)
    with pytest.raises(ChecksumMismatch) as info:
        resolve_jenkins_war("2.190.2", cache=cache, url=f"{base}/jenkins.war", sha256=expected)
    message = str(info.value)
    assert expected in message and sha(b"<html>blocked by your proxy</html>") in message
    assert cache_files(cache) == []


def test_haproxy_checksum_mismatch_does_not_fall_back_silently(
    cache: Path, http_server: tuple[str, dict[str, bytes], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, files, _ = http_server
    files["/haproxy-2.0.8.tar.gz"] = b"tampered"
    monkeypatch.setattr(haproxy_module, "debian_haproxy_source", _must_not_be_called)
    with pytest.raises(ChecksumMismatch):
        resolve_haproxy_source(
            "2.0.8", cache=cache, official_url=f"{base}/haproxy-2.0.8.tar.gz", official_sha256=sha(FAKE_HAPROXY)
        )
    assert cache_files(cache) == []


def _must_not_be_called(**kwargs: object) -> DebianSource:
    raise AssertionError("Debian fallback used")


# --------------------------------------------------------------------------- nothing reachable


def test_haproxy_unreachable_falls_back_to_debian_and_says_so(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorder: Recorder
) -> None:
    orig = tmp_path / "haproxy_2.6.12.orig.tar.gz"
    orig.write_bytes(make_tarball("haproxy-2.6.12", {"VERSION": b"2.6.12\n"}))
    debian_tar = tmp_path / "haproxy_2.6.12-1+deb12u3.debian.tar.xz"
    debian_tar.write_bytes(make_tarball("debian", {"patches/series": b""}, mode="w:xz"))

    def fake_debian(**kwargs: object) -> DebianSource:
        return DebianSource("haproxy", "2.6.12-1+deb12u3", orig, debian_tar)

    monkeypatch.setattr(haproxy_module, "debian_haproxy_source", fake_debian)
    source = resolve_haproxy_source(
        "2.0.8",
        cache=cache,
        official_url=f"http://127.0.0.1:{closed_port()}/haproxy-2.0.8.tar.gz",
        official_sha256=sha(FAKE_HAPROXY),
        timeout=2,
        emitter=recorder.emitter,
    )
    assert (source.origin, source.version, source.requested) == ("debian", "2.6.12", "2.0.8")
    assert source.debian_version == "2.6.12-1+deb12u3" and source.subversion == "-1+deb12u3"
    assert source.debian_archive == debian_tar
    warning = next(w for w in recorder.warnings() if "instead" in w)
    assert "official 2.0.8 tarball unreachable" in warning and "Debian's 2.6.12" in warning
    assert source.reason == warning
    assert str(source) == "debian 2.6.12-1+deb12u3"


def test_haproxy_nothing_reachable_at_all_names_what_to_do(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: object) -> DebianSource:
        raise EnvironmentProblem("apt-get update with the deb-src lines failed: no network")

    monkeypatch.setattr(haproxy_module, "debian_haproxy_source", broken)
    with pytest.raises(EnvironmentProblem) as info:
        resolve_haproxy_source(
            "2.0.8",
            cache=cache,
            official_url=f"http://127.0.0.1:{closed_port()}/haproxy-2.0.8.tar.gz",
            official_sha256=sha(FAKE_HAPROXY),
            timeout=2,
        )
    text = str(info.value)
    assert "unreachable" in text and "Debian's source package failed too" in text
    assert "--haproxy-source" in text and str(cache) in text


def test_jenkins_war_unreachable_is_an_environment_problem_naming_how_to_provide_it(cache: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/jenkins.war"
    with pytest.raises(EnvironmentProblem) as info:
        resolve_jenkins_war("2.190.2", cache=cache, url=url, sha256=sha(FAKE_WAR), timeout=2)
    text = str(info.value)
    assert "jenkins.war 2.190.2 is not available" in text and url in text
    assert "labgen build --jenkins-war PATH" in text and f"{cache}/jenkins.war" in text
    assert cache_files(cache) == []


def test_the_articles_mirror_is_selectable(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    urls: list[str] = []

    def fake_download(url: str, sha256: str, name: str, **kwargs: object) -> Path:
        urls.append(url)
        raise downloads.DownloadError(f"{url}: unreachable")

    monkeypatch.setattr(jenkins_sources, "download", fake_download)
    for mirror in ("official", "tsinghua"):
        with pytest.raises(EnvironmentProblem):
            resolve_jenkins_war("2.190.2", cache=cache, mirror=mirror)
    assert urls == [
        "https://get.jenkins.io/war-stable/2.190.2/jenkins.war",
        "https://mirrors.tuna.tsinghua.edu.cn/jenkins/war-stable/2.190.2/jenkins.war",
    ]
    with pytest.raises(BadOptionValue, match="unknown Jenkins mirror 'nowhere'; allowed: official, tsinghua"):
        resolve_jenkins_war("2.190.2", cache=cache, mirror="nowhere")
    with pytest.raises(BadOptionValue, match=r"no known sha256 for jenkins\.war 9\.9; allowed: .*2\.190\.2") as unknown:
        resolve_jenkins_war("9.9", cache=cache)
    assert unknown.value.exit_code == 2


def test_an_apt_sources_override_without_entries_is_a_bad_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "sources.list"
    empty.write_text("# nothing here\n")
    monkeypatch.setenv(APT_SOURCES_ENV, str(empty))
    with pytest.raises(BadEnvironmentVariable, match="has no apt source entries; allowed: a sources file"):
        base_apt_sources(tmp_path, "bookworm")


def test_no_debian_source_for_the_suite_is_a_machine_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(APT_SOURCES_ENV, raising=False)
    (tmp_path / "sources.list").write_text("deb http://example.org/ubuntu jammy main\n")
    with pytest.raises(AptSourcesMissing, match="no Debian bookworm source") as missing:
        base_apt_sources(tmp_path, "bookworm")
    assert missing.value.exit_code == 3


# --------------------------------------------------------------------------- explicit paths


def test_explicit_haproxy_source_wins_and_its_version_is_read_from_the_tarball(
    tmp_path: Path, cache: Path, no_network: None, recorder: Recorder
) -> None:
    path = tmp_path / "my-haproxy.tgz"
    path.write_bytes(make_tarball("haproxy-2.6.99", {"VERSION": b"2.6.99\n"}))
    source = resolve_haproxy_source("2.0.8", explicit=path, cache=cache, emitter=recorder.emitter)
    assert (source.path, source.origin, source.version, source.sha256) == (
        path,
        "local",
        "2.6.99",
        sha(path.read_bytes()),
    )
    assert any("2.6.99, not the lab's 2.0.8" in w for w in recorder.warnings())


def test_explicit_war_with_the_wrong_checksum_is_rejected(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "jenkins.war"
    path.write_bytes(b"another version")
    with pytest.raises(ChecksumMismatch) as info:
        resolve_jenkins_war("2.190.2", explicit=path, cache=cache)
    assert jenkins_sources.JENKINS_WAR_SHA256["2.190.2"] in str(info.value)
    assert sha(b"another version") in str(info.value)


def test_jdk_tarball_must_be_java_8_or_11(tmp_path: Path) -> None:
    good = tmp_path / "jdk8.tar.gz"
    good.write_bytes(make_tarball("jdk8u232-b09", {"bin/java": b"#!", "release": b'JAVA_VERSION="1.8.0_232"\n'}))
    jdk = inspect_jdk(good)
    assert (jdk.top, jdk.version, jdk.major) == ("jdk8u232-b09", "1.8.0_232", 8)
    eleven = tmp_path / "jdk11.tar.gz"
    eleven.write_bytes(make_tarball("jdk-11.0.5+10", {"bin/java": b"#!", "release": b'JAVA_VERSION="11.0.5"\n'}))
    assert inspect_jdk(eleven).major == 11
    bad = tmp_path / "jdk17.tar.gz"
    bad.write_bytes(make_tarball("jdk-17.0.1", {"bin/java": b"#!", "release": b'JAVA_VERSION="17.0.1"\n'}))
    with pytest.raises(LabgenError, match="Java 8 or 11 only") as wrong:  # the user's file: exit 2
        inspect_jdk(bad)
    assert wrong.value.exit_code == EXIT_USAGE
    empty = tmp_path / "nojava.tar.gz"
    empty.write_bytes(make_tarball("x", {"README": b""}))
    with pytest.raises(LabgenError, match="bin/java") as no_java:
        inspect_jdk(empty)
    assert no_java.value.exit_code == EXIT_USAGE


# --------------------------------------------------------------------------- apt sources


def test_apt_sources_keep_debian_and_drop_third_party(tmp_path: Path) -> None:
    deb822 = tmp_path / "debian.sources"
    deb822.write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: https://repo.vendor.example/apt\nSuites: nodistro\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/vendor.gpg\n\n"
        "Enabled: no\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: trixie\nComponents: main\n"
    )
    one_line = tmp_path / "extra.list"
    one_line.write_text(
        "deb [arch=amd64] http://mirror.example/debian-security bookworm-security main contrib\n"
        "deb https://packages.vendor.example/apt cloud-sdk-bookworm main  # third party\n"
    )
    entries = parse_apt_sources_file(deb822) + parse_apt_sources_file(one_line)
    assert len(entries) == 4  # the disabled stanza is skipped
    debian = [e for e in entries if e.is_debian]
    assert [e.uris[0] for e in debian] == ["http://mirror.example/debian", "http://mirror.example/debian-security"]
    text = render_deb822(debian + debian, types=("deb-src",))
    assert text.count("Types: deb-src") == 2  # duplicates merged
    assert "Suites: bookworm bookworm-updates" in text and "Architectures: amd64" in text
    assert "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" in text


def test_debian_versions_sort_like_dpkg() -> None:
    versions = ["2.6.12-1+deb12u4", "2.6.12-1", "2.6.12-1+deb12u3", "2.6.12-1~bpo11+1", "1:1.0-1", "2.6.9-1"]
    assert sorted(versions, key=debian_version_key) == [
        "2.6.9-1",
        "2.6.12-1~bpo11+1",
        "2.6.12-1",
        "2.6.12-1+deb12u3",
        "2.6.12-1+deb12u4",
        "1:1.0-1",
    ]


# --------------------------------------------------------------------------- Jenkins flavour


def _unreachable(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Downloads fail as they do here (no host but Debian's and PyPI's answers); the URLs tried."""
    tried: list[str] = []

    def unreachable(url: str, sha256: str, name: str, **kwargs: object) -> Path:
        tried.append(url)
        raise downloads.DownloadError(f"{url}: unreachable (test)")

    monkeypatch.setattr(jenkins_sources, "download", unreachable)
    return tried


def test_auto_without_a_war_to_be_had_chooses_lite_loudly_and_says_why(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_network: None, recorder: Recorder
) -> None:
    from labgen.model.spec import LabSpec

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    tried = _unreachable(monkeypatch)
    choice = choose_jenkins(LabSpec(), BuildOptions(download_timeout=2), recorder.emitter)
    assert (choice.flavour, choice.war, choice.jdk) == ("lite", None, None)
    assert tried == ["https://get.jenkins.io/war-stable/2.190.2/jenkins.war"]  # downloadable counts too
    assert "jenkins.war 2.190.2 is not available" in choice.reason and "JDK" not in choice.reason
    assert any(w.startswith("USING THE LITE JENKINS STAND-IN, NOT JENKINS") for w in recorder.warnings())


def test_real_without_a_war_names_how_to_give_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from labgen.model.spec import LabSpec

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    _unreachable(monkeypatch)
    with pytest.raises(EnvironmentProblem) as info:
        choose_jenkins(LabSpec(), BuildOptions(jenkins="real", download_timeout=2), Emitter())
    text = str(info.value)
    assert "cannot build the real Jenkins 2.190.2 image" in text
    assert "--jenkins-war PATH" in text and "Debian 11's OpenJDK 11" in text and "--jenkins lite" in text


# --------------------------------------------------------------------------- artifacts say what they are


def _claims_2_0_8(tmp_path: Path, payload: bytes = b"patched") -> Path:
    path = tmp_path / "haproxy-2.0.8.tar.gz"
    path.write_bytes(make_tarball("haproxy-2.0.8", {"VERSION": b"2.0.8\n", "src/haproxy.c": payload}))
    return path


def test_a_tarball_claiming_an_official_release_with_another_sha256_is_refused(
    tmp_path: Path, cache: Path, no_network: None
) -> None:
    path = _claims_2_0_8(tmp_path)
    with pytest.raises(ChecksumMismatch) as info:
        resolve_haproxy_source("2.0.8", explicit=path, cache=cache)
    assert info.value.exit_code == 2
    assert "says it is HAProxy 2.0.8 but is not the official haproxy-2.0.8.tar.gz" in info.value.message
    assert haproxy_module.HAPROXY_OFFICIAL["2.0.8"].sha256 in info.value.message
    assert info.value.hint is not None and "--allow-unofficial" in info.value.hint


def test_allow_unofficial_builds_it_labelled_unofficial(
    tmp_path: Path, cache: Path, no_network: None, recorder: Recorder
) -> None:
    path = _claims_2_0_8(tmp_path)
    source = resolve_haproxy_source(
        "2.0.8", explicit=path, cache=cache, allow_unofficial=True, emitter=recorder.emitter
    )
    assert (source.origin, source.version, source.sha256) == ("unofficial", "2.0.8", sha(path.read_bytes()))
    assert str(source) == "unofficial 2.0.8"  # what `labgen build` prints
    assert source.reason.startswith("UNOFFICIAL HAProxy 2.0.8")
    assert any("UNOFFICIAL" in w for w in recorder.warnings())


def test_the_pinned_checksum_alone_decides_what_is_official(
    tmp_path: Path, cache: Path, no_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _claims_2_0_8(tmp_path)
    pinned = haproxy_module.HAPROXY_OFFICIAL["2.0.8"]
    monkeypatch.setitem(
        haproxy_module.HAPROXY_OFFICIAL, "2.0.8", downloads.Artifact(pinned.name, pinned.url, sha(path.read_bytes()))
    )
    assert resolve_haproxy_source("2.0.8", explicit=path, cache=cache).origin == "official"


def test_a_version_labgen_pins_nothing_for_is_local_and_unverified(tmp_path: Path, cache: Path) -> None:
    path = tmp_path / "haproxy-2.6.12.tar.gz"
    path.write_bytes(make_tarball("haproxy-2.6.12", {"VERSION": b"2.6.12\n"}))
    source = resolve_haproxy_source("2.6.12", explicit=path, cache=cache)
    assert source.origin == "local"
    assert "unverified: labgen pins no sha256 for HAProxy 2.6.12" in source.reason


def test_an_unofficial_war_is_refused_unless_allowed(tmp_path: Path, cache: Path) -> None:
    path = make_war(tmp_path / "jenkins.war")
    with pytest.raises(ChecksumMismatch) as info:
        resolve_jenkins_war("2.190.2", explicit=path, cache=cache)
    assert info.value.exit_code == 2 and "--allow-unofficial" in (info.value.hint or "")
    war = resolve_jenkins_war("2.190.2", explicit=path, cache=cache, allow_unofficial=True)
    assert (war.origin, war.sha256) == ("unofficial", sha(path.read_bytes()))


def test_an_unofficial_war_must_still_be_that_jenkins(tmp_path: Path, cache: Path) -> None:
    cases = {
        "plain.war": (None, "not a war (zip) file"),
        "nocore.war": (make_war(tmp_path / "nocore.war", core=False), "no WEB-INF/lib/jenkins-core-*.jar inside"),
        "other.war": (make_war(tmp_path / "other.war", "2.204.1"), "is Jenkins 2.204.1, not 2.190.2"),
    }
    (tmp_path / "plain.war").write_bytes(b"a rebuilt war")
    for name, (_, message) in cases.items():
        with pytest.raises(LabgenError, match=re.escape(message)) as info:
            resolve_jenkins_war("2.190.2", explicit=tmp_path / name, cache=cache, allow_unofficial=True)
        assert info.value.exit_code == EXIT_USAGE, name


def test_given_files_are_checked_before_anything_is_built(tmp_path: Path, no_network: None) -> None:
    tarball = _claims_2_0_8(tmp_path)
    war = make_war(tmp_path / "jenkins.war")
    with pytest.raises(ChecksumMismatch):
        provenance.check_given_artifacts("2.0.8", haproxy_source=tarball)
    notes = provenance.check_given_artifacts("2.0.8", haproxy_source=tarball, jenkins_war=war, allow_unofficial=True)
    assert len(notes) == 2 and all("UNOFFICIAL" in note for note in notes)
    not_a_tarball = tmp_path / "haproxy-2.0.8.tgz"
    not_a_tarball.write_bytes(b"plain text")
    with pytest.raises(LabgenError) as info:
        provenance.check_given_artifacts("2.0.8", haproxy_source=not_a_tarball)
    assert info.value.exit_code == 2


def test_image_labels_say_what_the_artifacts_are() -> None:
    from labgen.model.names import FLAVOUR_LABEL, HAPROXY_ORIGIN_LABEL, JENKINS_SHA_LABEL

    official_war = jenkins_sources.JENKINS_WAR_SHA256["2.190.2"]
    assert provenance.image_artifact_origins({HAPROXY_ORIGIN_LABEL: "unofficial"}) == {"haproxy": "unofficial"}
    assert provenance.image_artifact_origins({FLAVOUR_LABEL: "real", JENKINS_SHA_LABEL: official_war}) == {
        "jenkins.war": "official"
    }
    assert provenance.image_artifact_origins({FLAVOUR_LABEL: "real", JENKINS_SHA_LABEL: "0" * 64}) == {
        "jenkins.war": "unofficial"
    }
    assert provenance.image_artifact_origins({FLAVOUR_LABEL: "lite"}) == {}


def test_build_up_status_and_verify_show_an_unofficial_artifact(
    tmp_path: Path, no_network: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json
    from types import SimpleNamespace

    from labgen.builder import BuildResult
    from labgen.cli import run
    from labgen.lab import runtime
    from labgen.model.names import HAPROXY_ORIGIN_LABEL
    from labgen.model.spec import LabSpec
    from labgen.model.topology import Topology
    from labgen.verify.model import VerifyResult
    from labgen.verify.report import write_reports

    tarball = _claims_2_0_8(tmp_path)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert run(["build", "--haproxy-source", str(tarball)]) == 2  # refused before anything is built
    assert "--allow-unofficial" in capsys.readouterr().err

    source = resolve_haproxy_source("2.0.8", explicit=tarball, allow_unofficial=True)
    monkeypatch.setattr(
        "labgen.cli.lab_cmds.build_images",
        lambda lab, options=None, **kwargs: BuildResult(haproxy_version="2.0.8", haproxy_source=source),
    )
    assert run(["build", "--haproxy-source", str(tarball), "--allow-unofficial"]) == 0
    shown = capsys.readouterr()
    assert "unofficial 2.0.8" in shown.out and "UNOFFICIAL HAProxy 2.0.8" in " ".join(shown.err.split())

    topology = Topology.resolve(LabSpec())
    monkeypatch.setattr(
        "labgen.cli.lab_cmds.runtime.up",
        lambda lab, **kwargs: runtime.UpResult(topology, tmp_path, 1.0, tmp_path / "secrets.env"),
    )
    assert run(["up", "--haproxy-source", str(tarball), "--allow-unofficial", "--json"]) == 0
    assert any("UNOFFICIAL" in note for note in json.loads(capsys.readouterr().out)["notes"])

    image = SimpleNamespace(labels={HAPROXY_ORIGIN_LABEL: "unofficial"})
    handle = SimpleNamespace(topology=topology, containers=lambda service: [SimpleNamespace(image=image)])
    assert runtime.artifact_origins(handle) == {"haproxy": "unofficial"}  # type: ignore[arg-type]

    result = VerifyResult("jenkins-ha", "ha", "lite", "2.0.8", "kill", 20.0, 0.0, [], {"haproxy": "unofficial"})
    paths = write_reports(result, tmp_path / "report")
    assert "<b>haproxy: UNOFFICIAL</b>" in paths["html"].read_text()
    assert json.loads(paths["json"].read_text())["artifacts"] == {"haproxy": "unofficial"}
