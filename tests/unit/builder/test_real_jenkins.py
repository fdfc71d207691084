"""Issue 18 item 4: the real Jenkins wherever the war can be had, on Debian 11's OpenJDK 11 (no JDK
tarball to hunt for), or on a Java 8/11 tarball given with --jdk; the launcher refuses a war that is
not Jenkins. No war can be had here: these wars are laid out like Jenkins' (tests/wars.py)."""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import tarfile
from pathlib import Path

import pytest

from labgen.builder import jenkins_sources
from labgen.builder.apt_sources import base_apt_sources
from labgen.builder.downloads import cache_store
from labgen.builder.flavour import choose_jenkins
from labgen.builder.options import BuildOptions
from labgen.builder.recipes import NO_JDK, jenkins_recipe
from labgen.events import Emitter
from labgen.model.names import JAVA11_SUITE, ImageTags
from labgen.model.spec import LabSpec
from labgen.wire.war import NotJenkins, jenkins_war_version
from tests.wars import make_war

ROOT = Path(__file__).resolve().parents[3]
TAGS = ImageTags("ci-7")  # the recipes name their images in the namespace they are given
sys.path.insert(0, str(ROOT / "images" / "jenkins" / "real"))

import labgen_launcher  # noqa: E402
import labgen_launcher.__main__ as launcher_main  # noqa: E402

# ---- what a war says it is ------------------------------------------------------------------------------


def test_a_jenkins_war_is_known_by_its_core_jar_and_manifest(tmp_path: Path) -> None:
    assert jenkins_war_version(make_war(tmp_path / "a.war")) == "2.190.2"
    # a manifest line over 72 bytes continues on the next line, after one space (the jar format)
    wrapped = "Manifest-Version: 1.0\r\nJenkins-Vers\r\n ion: 2.190.2\r\n\r\nName: x\r\nJenkins-Version: 9\r\n"
    assert jenkins_war_version(make_war(tmp_path / "b.war", manifest=wrapped)) == "2.190.2"
    assert jenkins_war_version(make_war(tmp_path / "c.war", manifest="")) == "2.190.2"  # the core jar says it


@pytest.mark.parametrize(
    ("war", "why"),
    [
        (lambda p: p.write_bytes(b"#!/bin/sh\necho not a war\n"), "not a war (zip) file"),
        (lambda p: make_war(p, core=False), "no WEB-INF/lib/jenkins-core-*.jar inside"),
        (lambda p: make_war(p, core=False, manifest=""), "no Jenkins-Version in its manifest"),
        (lambda p: make_war(p, manifest="Jenkins-Version: 2.204.1\r\n"), "says Jenkins 2.204.1 but it holds"),
    ],
)
def test_what_is_not_a_jenkins_war_is_said(tmp_path: Path, war: object, why: str) -> None:
    path = tmp_path / "x.war"
    war(path)  # type: ignore[operator]
    with pytest.raises(NotJenkins, match=why.replace("*", r"\*").replace("(", r"\(").replace(")", r"\)")):
        jenkins_war_version(path)


# ---- the launcher in the image --------------------------------------------------------------------------


def test_the_launcher_refuses_a_war_that_is_not_the_images_jenkins(tmp_path: Path) -> None:
    not_jenkins = make_war(tmp_path / "plugin.war", core=False)
    with pytest.raises(labgen_launcher.Refused, match="is not a Jenkins war"):
        labgen_launcher.check_war(str(not_jenkins), "2.190.2")
    with pytest.raises(labgen_launcher.Refused, match=r"is Jenkins 2\.204\.1, but this image is for Jenkins 2\.190\.2"):
        labgen_launcher.check_war(str(make_war(tmp_path / "new.war", "2.204.1")), "2.190.2")
    with pytest.raises(labgen_launcher.Refused, match="is missing"):
        labgen_launcher.check_war(str(tmp_path / "none.war"), "2.190.2")
    assert labgen_launcher.check_war(str(make_war(tmp_path / "ok.war")), "2.190.2") == "2.190.2"


def test_the_launcher_exits_2_with_one_line_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(launcher_main, "JENKINS_WAR_PATH", str(make_war(tmp_path / "x.war", core=False)))
    monkeypatch.setenv("JENKINS_VERSION", "2.190.2")
    assert launcher_main.main([]) == labgen_launcher.EXIT_REFUSED == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("labgen-jenkins: refusing to start:") and "not a Jenkins war" in err[0]
    monkeypatch.setattr(launcher_main, "JENKINS_WAR_PATH", str(make_war(tmp_path / "ok.war")))
    assert launcher_main.main(["--check"]) == 0


def test_the_launcher_runs_jenkins_as_the_official_image_did() -> None:
    env = {
        "JENKINS_HOME": "/var/lib/data/jenkins",
        "JENKINS_SLAVE_AGENT_PORT": "8181",
        "JENKINS_HTTP_PORT": "8080",
        "JAVA_OPTS": "-Djava.awt.headless=true  -Xmx512m",
        "JENKINS_OPTS": "--prefix=/ci",
    }
    assert labgen_launcher.java_command(env) == [
        "java",
        "-Duser.home=/var/lib/data/jenkins",
        "-Djenkins.install.runSetupWizard=false",
        "-Djenkins.model.Jenkins.slaveAgentPort=8181",
        "-Djenkins.slaves.DefaultJnlpSlaveReceiver.disableStrictVerification=true",
        "-Djava.awt.headless=true",
        "-Xmx512m",
        "-jar",
        "/usr/share/jenkins/jenkins.war",
        "--httpPort=8080",
        "--prefix=/ci",
    ]


# ---- which Jenkins, on which Java, on which base ------------------------------------------------------


def _cached_war(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A war in the cache under the pinned sha256 of 2.190.2 (pinned to this fake one for the test)."""
    war = make_war(tmp_path / "jenkins.war")
    digest = hashlib.sha256(war.read_bytes()).hexdigest()
    monkeypatch.setitem(jenkins_sources.JENKINS_WAR_SHA256, "2.190.2", digest)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    cache_store(war, name="jenkins.war")
    return war


def test_auto_with_a_cached_war_builds_the_real_jenkins_on_debian_11s_java(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cached_war(tmp_path, monkeypatch)
    choice = choose_jenkins(LabSpec(), BuildOptions(), Emitter())
    assert (choice.flavour, choice.jdk, choice.on_debian_java) == ("real", None, True)
    assert choice.war is not None and choice.war.origin == "cache"
    assert "OpenJDK 11 from Debian 11" in choice.reason
    recipe = jenkins_recipe(ROOT / "images" / "jenkins", LabSpec(), choice, TAGS)
    assert recipe.tag == "ci-7/jenkins:2.190.2" and recipe.dockerfile == "real/Dockerfile"
    assert recipe.buildargs["BASE_IMAGE"] == TAGS.base(JAVA11_SUITE) == "ci-7/base:bullseye"
    assert (recipe.buildargs["JAVA_FROM"], recipe.buildargs["JDK_DIR"]) == ("debian", "")
    entries = dict(recipe.entries)
    assert entries["artifacts/jdk.tar.gz"] == NO_JDK and entries["artifacts/jenkins.war"] == choice.war.path
    assert "real/labgen_launcher/__main__.py" in entries and "labgen/wire/war.py" in entries


def test_a_jdk_tarball_builds_it_on_that_java_on_debian_12(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _cached_war(tmp_path, monkeypatch)
    jdk = tmp_path / "jdk8.tar.gz"
    with tarfile.open(jdk, "w:gz") as tar:
        for name, data in (("jdk8u232-b09/bin/java", b""), ("jdk8u232-b09/release", b'JAVA_VERSION="1.8.0_232"\n')):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    choice = choose_jenkins(LabSpec(), BuildOptions(jenkins="real", jdk=jdk), Emitter())
    assert choice.flavour == "real" and not choice.on_debian_java and "Java 1.8.0_232 (--jdk)" in choice.reason
    recipe = jenkins_recipe(ROOT / "images" / "jenkins", LabSpec(), choice, TAGS)
    assert (
        recipe.buildargs["BASE_IMAGE"] == TAGS.base() == "ci-7/base:bookworm"
        and recipe.buildargs["JAVA_FROM"] == "tarball"
    )
    assert recipe.buildargs["JDK_DIR"] == "jdk8u232-b09" and dict(recipe.entries)["artifacts/jdk.tar.gz"] == jdk


def test_the_placeholder_jdk_tarball_is_the_same_bytes_every_time_and_unpacks_to_nothing() -> None:
    from labgen.builder.recipes import _empty_tarball

    assert _empty_tarball() == NO_JDK
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(NO_JDK))) as tar:
        assert [(m.name, m.isdir()) for m in tar.getmembers()] == [("no-jdk", True)]


def test_the_debian_11_base_gets_the_hosts_debian_mirrors_with_bullseyes_suites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LABGEN_APT_SOURCES", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
        "Components: main non-free-firmware\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
    )
    vendor = "deb [signed-by=/usr/share/keyrings/vendor.gpg] https://vendor.example/apt bookworm main\n"
    (tmp_path / "sources.list.d" / "vendor.list").write_text(vendor)
    text = base_apt_sources(tmp_path, suite="bullseye")
    assert "Suites: bullseye bullseye-updates" in text and "Suites: bullseye-security" in text
    assert "bookworm" not in text and "non-free-firmware" not in text and "vendor.example" not in text
    assert "URIs: http://mirror.example/debian\n" in text
    assert "Suites: bookworm bookworm-updates" in base_apt_sources(tmp_path)  # Debian 12's unchanged


def test_a_plan_downloads_no_war(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_download: list[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert choose_jenkins(LabSpec(), BuildOptions(plan_only=True), Emitter()).flavour == "lite"
    assert no_download == []
    assert choose_jenkins(LabSpec(), BuildOptions(), Emitter()).flavour == "lite"  # a build tries
    assert no_download == ["https://get.jenkins.io/war-stable/2.190.2/jenkins.war"]


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from labgen.builder.downloads import DownloadError

    tried: list[str] = []

    def unreachable(url: str, sha256: str, name: str, **kwargs: object) -> Path:
        tried.append(url)
        raise DownloadError(f"{url}: unreachable (test)")

    monkeypatch.setattr(jenkins_sources, "download", unreachable)
    return tried


def test_build_refuses_a_war_that_is_not_jenkins_before_building_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from labgen.cli import run

    def must_not_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("built although the war was refused")

    monkeypatch.setattr("labgen.cli.lab_cmds.build_images", must_not_build)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    war = make_war(tmp_path / "plugin.war", core=False)
    assert run(["build", "--jenkins", "real", "--jenkins-war", str(war), "--allow-unofficial"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--jenkins-war {war} is not a Jenkins war: no WEB-INF/lib/jenkins-core-*.jar inside" in err
