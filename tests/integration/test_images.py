"""Issue 3: the images build from nothing (cached by content afterwards) and work.

The first run on a machine builds the base (mmdebstrap), HAProxy (compiled) and the NFS
server for real, which takes minutes; later runs find them by their content hash. Every
container, volume and network a test starts carries ``org.labgen.test=1`` and is removed
when the test ends, whatever happened.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labgen import builder, engine
from labgen.builder import jenkins_sources
from labgen.builder.debian_source import debian_haproxy_source
from labgen.builder.downloads import DownloadError
from labgen.builder.haproxy_source import haproxy_tarball_version
from labgen.errors import EnvironmentProblem
from labgen.events import Emitter, Event
from labgen.model import names
from labgen.model.spec import LabSpec
from labgen.wire.net import free_port
from tests.wars import make_war

TEST_LABEL = {"org.labgen.test": "1"}
TAGS = names.ImageTags.of(os.environ)  # the namespace the images are built in (LABGEN_IMAGE_NAMESPACE)


def _docker() -> Any:
    try:
        return engine.client()
    except EnvironmentProblem:
        return None


pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(_docker() is None, reason="Docker engine not reachable"),
]


class Resources:
    """Containers, volumes and networks a test made; all removed at teardown."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.containers: list[Any] = []
        self.volumes: list[Any] = []
        self.networks: list[Any] = []

    def volume(self) -> Any:
        volume = self.client.volumes.create(name=f"labgen-test-{uuid.uuid4().hex[:12]}", labels=TEST_LABEL)
        self.volumes.append(volume)
        return volume

    def network(self) -> Any:
        network = self.client.networks.create(f"labgen-test-{uuid.uuid4().hex[:12]}", labels=TEST_LABEL)
        self.networks.append(network)
        return network

    def run(self, image: str, command: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("name", f"labgen-test-{uuid.uuid4().hex[:12]}")
        container = self.client.containers.create(image, command, labels=TEST_LABEL, **kwargs)
        self.containers.append(container)
        container.start()
        return container

    def once(self, image: str, command: Any, **kwargs: Any) -> tuple[int, str]:
        """Run a command to completion; (exit code, output)."""
        container = self.run(image, command, **kwargs)
        code = container.wait(timeout=120)["StatusCode"]
        return int(code), container.logs().decode(errors="replace")

    def cleanup(self) -> None:
        for container in reversed(self.containers):
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
        for volume in self.volumes:
            with contextlib.suppress(Exception):
                volume.remove(force=True)
        for network in self.networks:
            with contextlib.suppress(Exception):
                network.remove()


@pytest.fixture(scope="module")
def client() -> Any:
    return _docker()


@pytest.fixture(scope="module", autouse=True)
def no_war_download() -> Iterator[None]:
    """`--jenkins auto` tries to download jenkins.war; here no host but Debian's answers, and these
    tests send nothing but to loopback and their containers: the download fails as it would."""

    def unreachable(url: str, sha256: str, name: str, **kwargs: object) -> Path:
        raise DownloadError(f"{url}: unreachable (not tried by the tests)")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jenkins_sources, "download", unreachable)
        yield


@pytest.fixture(scope="module")
def built(client: Any) -> builder.BuildResult:
    events: list[Event] = []
    emitter = Emitter()
    emitter.subscribe(events.append)
    started = time.monotonic()
    result = builder.build_images(LabSpec(), emitter=emitter, client=client)
    took = time.monotonic() - started
    summary = ", ".join(
        f"{image.tag} {'cached' if image.cached else f'built in {image.seconds:.0f} s'} ({image.size / 1e6:.0f} MB)"
        for image in result.images
    )
    print(f"\nbuild_images: {took:.0f} s: {summary}")
    for event in events:
        if event.level == "warn":
            print(f"  warn: {event.message}")
    return result


@pytest.fixture
def resources(client: Any) -> Iterator[Resources]:
    tracker = Resources(client)
    try:
        yield tracker
    finally:
        tracker.cleanup()


def test_every_image_is_built_and_labelled(built: builder.BuildResult, client: Any) -> None:
    assert set(built.tags) == {"base", "haproxy", "nfs", "jenkins"}
    for service, tag in built.tags.items():
        labels = client.images.get(tag).labels
        assert labels[names.CONTENT_HASH_LABEL] == built.by_tag[tag].content_hash, tag
        assert labels["org.labgen.component"] == service
    assert built.tags["haproxy"] == TAGS.haproxy(built.haproxy_version)
    assert built.haproxy_source is not None and built.haproxy_source.reason
    assert built.flavour in ("real", "lite") and built.flavour_reason
    assert built.to_json()["haproxy"]["version"] == built.haproxy_version


def test_a_second_build_finds_everything_in_the_cache(built: builder.BuildResult, client: Any) -> None:
    again = builder.build_images(LabSpec(), client=client)
    assert again.built == []
    assert [(image.tag, image.image_id) for image in again.images] == [
        (image.tag, image.image_id) for image in built.images
    ]


def test_haproxy_reports_the_version_in_its_label(
    built: builder.BuildResult, client: Any, resources: Resources
) -> None:
    tag = built.tags["haproxy"]
    labels = client.images.get(tag).labels
    assert labels["org.labgen.haproxy.version"] == built.haproxy_version
    assert labels["org.labgen.haproxy.source"] == built.haproxy_source.origin  # type: ignore[union-attr]
    assert labels["org.labgen.haproxy.sha256"] == built.haproxy_source.sha256  # type: ignore[union-attr]
    code, output = resources.once(tag, ["-vv"])
    assert code == 0, output
    first = output.splitlines()[0]
    assert f"version {labels['org.labgen.haproxy.version']}" in first, first
    assert "+OPENSSL" in output and "+PCRE2_JIT" in output and "+ZLIB" in output
    assert "Prometheus exporter" in output or "PROMEX" in output


def _lab_config(version: str) -> str:
    """A small config in the lab's shape (names that resolve only inside the lab)."""
    legacy = version.startswith("2.0.")
    return f"""global
    maxconn 2000
    uid 200
    gid 200
    chroot /var/empty
{"    nbproc 1" if legacy else ""}
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    default-server init-addr last,libc,none
listen admin_stats
    bind *:8001
    stats enable
    stats uri /haproxy?stats
    stats realm welcome\\ Haproxy
    stats auth admin:123456
listen jenkins_agent
    mode tcp
    bind *:8181
    server jenkins01 jenkins01:8181 check inter 1s
    server jenkins02 jenkins02:8181 check inter 1s backup
frontend jenkins_proxy
    bind *:80
    option forwardfor
    http-request add-header X-Forwarded-Proto http
    default_backend jenkins_proxy
backend jenkins_proxy
    option httpchk GET /login
    option redispatch
    retries 2
    server jenkins01 jenkins01:8080 check inter 1000 rise 1 fall 1
    server jenkins02 jenkins02:8080 check inter 1000 rise 1 fall 1 backup
"""


def test_haproxy_accepts_a_lab_config(built: builder.BuildResult, resources: Resources, tmp_path: Path) -> None:
    (tmp_path / "haproxy.cfg").write_text(_lab_config(built.haproxy_version))
    code, output = resources.once(
        built.tags["haproxy"],
        ["-c", "-f", "/cfg/haproxy.cfg"],
        volumes={str(tmp_path): {"bind": "/cfg", "mode": "ro"}},
    )
    assert code == 0, output
    assert "Configuration file is valid" in output


def test_haproxy_runs_as_uid_200_chrooted_in_var_empty(built: builder.BuildResult, resources: Resources) -> None:
    port = free_port()
    env = {"LABGEN_STATS_USER": "admin", "LABGEN_STATS_PASSWORD": "image-check"}
    container = resources.run(built.tags["haproxy"], ports={"8001/tcp": ("127.0.0.1", port)}, environment=env)
    body = b""
    url = f"http://127.0.0.1:{port}/haproxy?stats;csv"
    auth = base64.b64encode(b"admin:image-check").decode()
    for _ in range(50):
        try:
            request = urllib.request.Request(url, headers={"Authorization": f"Basic {auth}"})
            with urllib.request.urlopen(request, timeout=2) as response:
                body = response.read()
                break
        except OSError:
            time.sleep(0.2)
    assert body.startswith(b"# pxname,svname"), container.logs().decode()[-2000:]
    with pytest.raises(urllib.error.HTTPError) as refused:  # issue 19: never without authentication
        urllib.request.urlopen(url, timeout=2)
    assert refused.value.code == 401
    top = container.top(ps_args="-o pid,uid,comm")
    rows = [row for row in top["Processes"] if row[2] == "haproxy"]
    assert sorted(row[1] for row in rows) == ["0", "200"], top  # master root (to reload), worker uid 200
    worker_pid = next(row[0] for row in rows if row[1] == "200")
    try:
        worker_root = os.readlink(f"/proc/{worker_pid}/root")  # as the host sees it
    except OSError:
        worker_root = None  # not root on the host: the chroot cannot be inspected from here
    if worker_root is not None:
        assert worker_root.endswith("/var/empty"), worker_root
    container.stop(timeout=10)  # STOPSIGNAL SIGUSR1: a graceful stop, well before the timeout
    container.reload()
    assert container.attrs["State"]["ExitCode"] == 0, container.logs().decode()[-2000:]


def _nfs_container(client: Any, resources: Resources, built: builder.BuildResult, **kwargs: Any) -> Any:
    volume = resources.volume()
    # a directory owned by uid 1000, as a non-root Jenkins would have
    code, output = resources.once(
        built.tags["base"],
        ["sh", "-c", "mkdir /export/jenkins && chown 1000:1000 /export/jenkins"],
        volumes={volume.name: {"bind": "/export", "mode": "rw"}},
    )
    assert code == 0, output
    options = names.nfs_run_options()
    mounts = {volume.name: {"bind": "/export", "mode": "rw"}}
    container = resources.run(built.tags["nfs"], volumes=mounts, **options, **kwargs)
    return container, volume


def _wait_healthy(container: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        if state["Status"] != "running":
            break
        time.sleep(0.5)
    raise AssertionError(f"NFS server not healthy: {container.logs().decode()[-3000:]}")


@pytest.mark.skipif(
    not (shutil.which("nfs-ls") and shutil.which("nfs-cp")),
    reason="no libnfs client on this machine (apt-get install libnfs-utils)",
)
def test_nfs_serves_an_export_that_a_libnfs_client_lists_and_writes(
    built: builder.BuildResult, client: Any, resources: Resources, tmp_path: Path
) -> None:
    port = free_port()
    container, volume = _nfs_container(client, resources, built, ports={"2049/tcp": ("127.0.0.1", port)})
    _wait_healthy(container)
    base = "nfs://127.0.0.1/data"
    query = f"version=4&nfsport={port}"
    source = tmp_path / "hello.txt"
    source.write_text("hello over NFSv4\n")
    subprocess.run(["nfs-cp", str(source), f"{base}/hello.txt?{query}"], check=True, capture_output=True, timeout=30)
    subprocess.run(
        ["nfs-cp", str(source), f"{base}/jenkins/as-1000.txt?{query}&uid=1000&gid=1000"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    listing = subprocess.run(["nfs-ls", f"{base}?{query}"], check=True, capture_output=True, text=True, timeout=30)
    assert "hello.txt" in listing.stdout and "jenkins" in listing.stdout
    listing = subprocess.run(
        ["nfs-ls", f"{base}/jenkins?{query}"], check=True, capture_output=True, text=True, timeout=30
    )
    assert "as-1000.txt" in listing.stdout
    back = tmp_path / "back.txt"
    subprocess.run(["nfs-cp", f"{base}/hello.txt?{query}", str(back)], check=True, capture_output=True, timeout=30)
    assert back.read_text() == "hello over NFSv4\n"
    # the files are on the named volume, with the clients' owners
    code, output = resources.once(
        built.tags["base"],
        ["sh", "-c", "cat /export/hello.txt; stat -c '%n %u' /export/hello.txt /export/jenkins/as-1000.txt"],
        volumes={volume.name: {"bind": "/export", "mode": "ro"}},
    )
    assert code == 0, output
    assert "hello over NFSv4" in output
    assert "/export/hello.txt 0" in output and "/export/jenkins/as-1000.txt 1000" in output
    assert container.attrs["HostConfig"]["Privileged"] is False


def test_nfs_refuses_an_export_on_the_overlay_root(
    built: builder.BuildResult, client: Any, resources: Resources
) -> None:
    options = names.nfs_run_options()
    code, output = resources.once(
        built.tags["nfs"], None, environment={"NFS_EXPORT_DIR": "/srv/not-a-volume"}, **options
    )
    assert code == 1
    assert "/srv/not-a-volume is not a mounted volume" in output


def test_nfs_without_a_volume_gets_an_anonymous_one_and_serves(
    built: builder.BuildResult, client: Any, resources: Resources
) -> None:
    container = resources.run(built.tags["nfs"], **names.nfs_run_options())
    _wait_healthy(container)
    assert any(m["Destination"] == "/export" and m["Type"] == "volume" for m in container.attrs["Mounts"])


@pytest.mark.skipif(not Path("/dev/fuse").exists(), reason="no /dev/fuse on this machine")
def test_jenkins_image_mounts_the_export_through_fuse(
    built: builder.BuildResult, client: Any, resources: Resources
) -> None:
    network = resources.network()
    nfs_name = f"labgen-test-nfs-{uuid.uuid4().hex[:8]}"
    container, volume = _nfs_container(client, resources, built, name=nfs_name, network=network.name)
    _wait_healthy(container)
    code, output = resources.once(
        built.tags["jenkins"],
        ["sh", "-c", "echo written-by-jenkins > $JENKINS_HOME/probe && grep ' /var/lib/data ' /proc/mounts"],
        environment={"NFS_URL": f"nfs://{nfs_name}/data?version=4"},
        devices=["/dev/fuse:/dev/fuse:rwm"],
        cap_add=["SYS_ADMIN"],
        network=network.name,
    )
    assert code == 0, output
    assert " /var/lib/data fuse" in output
    code, output = resources.once(
        built.tags["base"], ["cat", "/export/jenkins/probe"], volumes={volume.name: {"bind": "/export", "mode": "ro"}}
    )
    assert (code, output.strip()) == (0, "written-by-jenkins")


def test_haproxy_source_says_which_version_is_built_and_why(built: builder.BuildResult) -> None:
    source = built.haproxy_source
    assert source is not None and source.version == built.haproxy_version
    if source.version != source.requested:
        assert f"building Debian's {source.version}" in source.reason and "instead" in source.reason


@pytest.mark.skipif(shutil.which("apt-get") is None, reason="no apt-get on this machine")
def test_debian_source_package_is_fetched_with_a_temporary_apt_configuration(tmp_path: Path) -> None:
    etc_before = sorted(str(p) for p in Path("/etc/apt").rglob("*"))
    events: list[Event] = []
    emitter = Emitter()
    emitter.subscribe(events.append)
    source = debian_haproxy_source(cache=tmp_path / "cache", emitter=emitter)
    assert source.version.startswith("2.6.")
    assert source.orig.name.endswith(".orig.tar.gz") and source.orig.is_file()
    assert source.debian is not None and source.debian.is_file()
    assert haproxy_tarball_version(source.orig) == source.version.split("-")[0]
    assert sorted(str(p) for p in Path("/etc/apt").rglob("*")) == etc_before  # the host's apt is untouched
    again = debian_haproxy_source(cache=tmp_path / "cache")  # from the cache, no apt
    assert again.version == source.version and again.orig.read_bytes() == source.orig.read_bytes()


# ---- issue 13: the image cache for CI (labgen images) ----------------------------------------------------


def test_images_list_marks_what_the_spec_needs(built: builder.BuildResult, client: Any) -> None:
    from labgen.builder import store

    report = store.list_images(LabSpec(), client=client)
    needed = {image.tag: image for image in report.images if image.needed}
    assert set(needed) == set(built.tags.values()) and not report.missing
    for tag, image in needed.items():
        assert image.id == client.images.get(tag).id
        assert image.content_hash == built.by_tag[tag].content_hash
    assert all(not image.needed for image in report.images if image.id not in {i.id for i in needed.values()})
    dry = store.prune_images(LabSpec(), client=client, dry_run=True)
    assert {name.split(" ")[0] for name in dry.kept} == set(built.tags.values())
    assert not any(name.split(" ")[0] in built.tags.values() for name in dry.removed)


def test_images_save_then_load_checks_ids_and_content_hashes(
    built: builder.BuildResult, client: Any, tmp_path: Path
) -> None:
    from labgen.builder import store

    file = tmp_path / "images.tar"
    saved = store.save_images(LabSpec(), file, client=client)
    manifest = store.read_manifest(file)
    assert {(i["tag"], i["id"], i["content_hash"]) for i in manifest["images"]} == {
        (image.tag, image.image_id, image.content_hash) for image in built.images
    }
    assert manifest["key"] == saved.key == store.images_key(LabSpec())
    with tarfile.open(file) as tar:
        names = tar.getnames()
    assert names[0] == store.MANIFEST and "manifest.json" in names  # docker save's own index follows
    loaded = store.load_images(file, client=client)
    assert sorted(loaded.already) == sorted(built.tags.values())  # they were there: same ids, same hashes


def test_images_load_refuses_a_file_whose_images_are_not_what_it_says(
    built: builder.BuildResult, client: Any, tmp_path: Path
) -> None:
    from labgen.builder import store
    from labgen.errors import LabgenError

    base = built.by_tag[built.tags["base"]]
    manifest = {
        "format": store.SAVE_FORMAT,
        "key": "k",
        "images": [{"name": "base", "tag": base.tag, "id": base.image_id, "content_hash": "0" * 64}],
    }
    file = tmp_path / "tampered.tar"
    with file.open("wb") as handle:
        store._write_saved(client, [base.tag], manifest, handle, Emitter())
    with pytest.raises(LabgenError, match="not what the file says"):
        store.load_images(file, client=client)
    assert client.images.get(base.tag).id == base.image_id  # loading the same image changed nothing


def test_images_save_refuses_clearly_when_nothing_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from labgen.cli import run

    # another Debian mirror: another base recipe, so no image of this engine is the one needed
    sources = tmp_path / "other.sources"
    sources.write_text("Types: deb\nURIs: http://deb.debian.org/debian-elsewhere\nSuites: bookworm\nComponents: main\n")
    monkeypatch.setenv("LABGEN_APT_SOURCES", str(sources))
    target = tmp_path / "out" / "images.tar"
    assert run(["images", "save", str(target)]) == 1
    assert "nothing to save: none of the images this lab needs is built" in capsys.readouterr().err
    assert not target.parent.exists() or not list(target.parent.iterdir())


# ---- the real Jenkins on Debian 11's OpenJDK 11 (issue 18) ------------------------------------------------
# No jenkins.war can be had here: the image is built with a war laid out like Jenkins' (a manifest and
# jenkins-core-2.190.2.jar, no classes; unofficial, so --allow-unofficial), and tested up to Java.


@pytest.fixture(scope="module")
def real(client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[builder.BuildResult]:
    war = make_war(tmp_path_factory.mktemp("war") / "jenkins.war")
    options = builder.BuildOptions(jenkins="real", jenkins_war=war, allow_unofficial=True)
    started = time.monotonic()
    result = builder.build_images(LabSpec(), options, client=client)
    summary = ", ".join(f"{i.tag} {'cached' if i.cached else f'built in {i.seconds:.0f} s'}" for i in result.images)
    print(f"\nbuild_images (real): {time.monotonic() - started:.0f} s: {summary}")
    try:
        yield result
    finally:  # the image holds a fake war: its tag goes; the Debian 11 base stays (a cache, real content)
        jenkins = result.by_tag[result.tags["jenkins"]]
        with contextlib.suppress(Exception):
            if client.images.get(jenkins.tag).id == jenkins.image_id:
                client.images.remove(jenkins.tag)


def test_the_real_image_is_built_on_debian_11_with_its_openjdk_11(
    real: builder.BuildResult, client: Any, resources: Resources
) -> None:
    assert real.flavour == "real" and "OpenJDK 11 from Debian 11" in real.flavour_reason
    assert real.tags["jenkins"] == TAGS.jenkins("real", "2.190.2")
    assert real.tags[names.JAVA11_BASE_IMAGE] == TAGS.base(names.JAVA11_SUITE)
    base = client.images.get(TAGS.base(names.JAVA11_SUITE))
    assert base.labels[names.DEBIAN_SUITE_LABEL] == "bullseye"
    labels = client.images.get(real.tags["jenkins"]).labels
    assert labels[names.FLAVOUR_LABEL] == "real" and labels["org.labgen.java.from"] == "debian"
    code, output = resources.once(real.tags["jenkins"], ["-version"], entrypoint="java")
    assert code == 0, output
    assert 'openjdk version "11.' in output and "Debian" in output
    code, output = resources.once(real.tags["jenkins"], ["/etc/debian_version"], entrypoint=["cat"])
    assert code == 0 and output.startswith("11."), output


def test_the_real_images_programs_run_on_debian_11s_python(real: builder.BuildResult, resources: Resources) -> None:
    # every module of every program in the image, imported by Debian 11's Python (3.9)
    script = (
        "import importlib, pkgutil, sys\n"
        "import labgen.wire, labgen_homecheck, labgen_launcher, labgen_nfsmount\n"
        "for package in (labgen.wire, labgen_homecheck, labgen_launcher, labgen_nfsmount):\n"
        "    for module in pkgutil.iter_modules(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(module.name)\n"
        "importlib.import_module('labgen.model.names')\n"
        "print(sys.version_info[:2])\n"
    )
    code, output = resources.once(real.tags["jenkins"], ["-c", script], entrypoint=["python3"])
    assert code == 0 and "(3, 9)" in output, output
    code, output = resources.once(real.tags["jenkins"], ["-m", "labgen_launcher", "--check"], entrypoint=["python3"])
    assert code == 0 and "/usr/share/jenkins/jenkins.war is Jenkins 2.190.2" in output, output


def test_the_launcher_refuses_a_war_that_is_not_jenkins(
    real: builder.BuildResult, resources: Resources, tmp_path: Path
) -> None:
    not_jenkins = make_war(tmp_path / "plugin.war", core=False)  # a war, but no Jenkins in it
    mounts = {str(not_jenkins): {"bind": names.JENKINS_WAR_PATH, "mode": "ro"}}
    code, output = resources.once(real.tags["jenkins"], None, volumes=mounts)  # the image's own start
    assert code == 2, output
    assert "labgen-jenkins: refusing to start: /usr/share/jenkins/jenkins.war is not a Jenkins war" in output
    assert "no WEB-INF/lib/jenkins-core-*.jar inside" in output


def test_the_launcher_hands_a_jenkins_war_to_java_11(real: builder.BuildResult, resources: Resources) -> None:
    """As far as it can go here: the launcher accepts the war and runs Java 11 on it with the official
    image's options; the fake war has no classes, so Java stops there (Jenkins itself was not run)."""
    code, output = resources.once(real.tags["jenkins"], None)
    assert "labgen-jenkins: starting Jenkins 2.190.2: java -Duser.home=/var/lib/data/jenkins" in output, output
    assert "-jar /usr/share/jenkins/jenkins.war --httpPort=8080" in output
    assert code != 0 and "Main" in output  # Java: could not find or load main class Main
