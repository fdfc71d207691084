"""Build the lab's images from nothing, offline: base, HAProxy, NFS server, Jenkins.

No image is pulled: the base is a Debian root file system made with ``mmdebstrap`` from
this machine's own apt sources and ``docker import``-ed; every other image starts
``FROM`` it and installs Debian packages in ``RUN`` steps (the builds' containers reach
the Debian mirrors over the default bridge network, like any container here).

Each image carries ``org.labgen.content-hash``: a hash of its build context's files, build
arguments, source checksums and the base image's id. When an image with the tag and that
label exists, it is not built again.

What does not depend on each other is done at once (`Jobs`): the base, the HAProxy source and
the Jenkins flavour; then HAProxy, the NFS server and Jenkins. Images are built by the engine's
BuildKit (through its API; ``LABGEN_BUILDER=classic`` for the classic builder), which runs a
Dockerfile's stages at once and does not commit a layer per instruction.
"""

from __future__ import annotations

import base64
import contextvars
import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Generic, Literal, TypeVar

import labgen
from labgen.build.sources import (
    DOWNLOAD_TIMEOUT,
    HAProxySource,
    JdkTarball,
    JenkinsWar,
    base_apt_sources,
    cache_dir,
    inspect_jdk,
    resolve_haproxy_source,
    resolve_jenkins_war,
)
from labgen.engine import client as engine_client
from labgen.errors import EnvironmentProblem, LabgenError
from labgen.events import NULL_EMITTER, Emitter, Event, Level
from labgen.model.lua import LUA_NAMES_FILE, names_lua
from labgen.model.names import (
    BASE_IMAGE,
    BASE_SUITE,
    BASE_TAG,
    COMPONENT_LABEL,
    CONTENT_HASH_LABEL,
    DEBIAN_SUITE_LABEL,
    HAPROXY,
    JENKINS_IMAGE,
    NFS,
    NFS_TAG,
    Flavour,
    haproxy_tag,
    image_buildargs,
    jenkins_tag,
)
from labgen.model.spec import JENKINS_VERSIONS, Lab
from labgen.wire.files import sha256_file

if TYPE_CHECKING:
    import docker

JENKINS_VERSION = JENKINS_VERSIONS[0]
# Bump when the base recipe changes in a way the hashed inputs do not show.
BASE_RECIPE_VERSION = 2
# Installed into the base once rather than by several images: python3 (the Jenkins image's
# programs, and nfs-ganesha's own dependency) with what it pulls in (libssl3, libtirpc3, the
# Kerberos libraries), which the HAProxy and NFS images need too.
BASE_PACKAGES = ("python3", "libssl3")
MMDEBSTRAP_OPTIONS = (
    "--variant=minbase",
    '--aptopt=APT::Install-Recommends "false"',
    '--aptopt=APT::Install-Suggests "false"',
    # no 40 MB binary caches left in every layer that ran apt-get update (as Docker's debian images)
    '--aptopt=Dir::Cache::pkgcache ""',
    '--aptopt=Dir::Cache::srcpkgcache ""',
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/info/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-include=/usr/share/doc/*/copyright",
    # no fsync per unpacked file (as Docker's official Debian images): faster here and in
    # every later `apt-get install` of the images built on it
    "--dpkgopt=force-unsafe-io",
    '--aptopt=Acquire::Languages "none"',  # `apt-get update` skips the translations
)


@dataclass(frozen=True)
class ImageBuild:
    """One image: built now or found in the cache."""

    name: str  # "base", "haproxy", "nfs", "jenkins"
    tag: str
    image_id: str
    cached: bool
    seconds: float
    size: int  # bytes
    content_hash: str


@dataclass
class BuildResult:
    images: list[ImageBuild] = field(default_factory=list)  # in build order: base, haproxy, nfs, jenkins
    tags: dict[str, str] = field(default_factory=dict)  # service -> tag, as image_tags()
    haproxy_version: str = ""  # the version actually built (may differ from the lab's)
    haproxy_source: HAProxySource | None = None  # where it came from, and why (str() says it)
    flavour: Flavour = "lite"  # the Jenkins flavour built
    flavour_reason: str = ""

    @property
    def by_tag(self) -> dict[str, ImageBuild]:
        return {image.tag: image for image in self.images}

    @property
    def built(self) -> list[str]:
        return [image.tag for image in self.images if not image.cached]

    @property
    def cached(self) -> list[str]:
        return [image.tag for image in self.images if image.cached]

    def to_json(self) -> dict[str, Any]:
        source = self.haproxy_source
        return {
            "images": [
                {
                    "name": image.name,
                    "tag": image.tag,
                    "id": image.image_id,
                    "cached": image.cached,
                    "seconds": round(image.seconds, 1),
                    "size": image.size,
                    "content_hash": image.content_hash,
                }
                for image in self.images
            ],
            "tags": dict(self.tags),
            "haproxy": {
                "version": self.haproxy_version,
                "requested": source.requested if source else None,
                "source": source.origin if source else None,
                "sha256": source.sha256 if source else None,
                "debian_version": source.debian_version if source else None,
                "reason": source.reason if source else None,
            },
            "jenkins": {"flavour": self.flavour, "reason": self.flavour_reason},
        }


def images_root() -> Path:
    """The build contexts: ``labgen/_data/images`` in a wheel, else the repo's ``images/``."""
    packaged = Path(labgen.__file__).resolve().parent / "_data" / "images"
    if packaged.is_dir():
        return packaged
    repo = Path(labgen.__file__).resolve().parent.parent / "images"
    if repo.is_dir():
        return repo
    raise LabgenError(f"labgen's image build files are missing (looked in {packaged} and {repo})")


# --------------------------------------------------------------------------- entry point


def build_images(
    lab: Lab,
    *,
    jenkins: Literal["auto", "real", "lite"] = "auto",
    haproxy_source: Path | None = None,
    jenkins_war: Path | None = None,
    jdk: Path | None = None,
    emitter: Emitter = NULL_EMITTER,
    mirror: str = "official",
    rebuild: bool = False,
    download_timeout: float = DOWNLOAD_TIMEOUT,
    network_mode: str | None = None,
    client: docker.DockerClient | None = None,
    allow_unofficial: bool = False,
    plan_only: bool = False,
) -> BuildResult:
    """Build (or find cached) every image ``lab`` needs.

    ``jenkins="auto"`` defers to the lab's ``jenkins.flavour``; ``auto`` there means the
    real Jenkins when jenkins.war and a Java 8/11 JDK tarball are at hand, else the lite
    stand-in (with a warn event saying so and why). ``rebuild`` ignores the cache.

    What does not depend on each other runs at once (`Jobs`): the base image, the HAProxy
    source and the Jenkins flavour; then HAProxy, the NFS server and Jenkins, each as soon as
    what it needs is there (a ``build.wait`` event says what an image waits for).
    ``plan_only`` builds nothing: images not in the cache come back with ``image_id == ""``
    (what `labgen images` compares the engine's images with).
    """
    client = client or engine_client()
    root = images_root()
    emitter = SerialEmitter(emitter)
    token = PLAN_ONLY.set(plan_only)
    try:
        jobs = Jobs(emitter)
        base = jobs.spawn("the base image", _ensure_base, client, emitter=emitter, rebuild=rebuild)
        source = jobs.spawn(
            "the HAProxy source",
            resolve_haproxy_source,
            lab.haproxy.version,
            explicit=haproxy_source,
            timeout=download_timeout,
            allow_unofficial=allow_unofficial,
            emitter=emitter,
        )
        choice = jobs.spawn(
            "the Jenkins flavour",
            _choose_jenkins,
            lab,
            jenkins,
            jenkins_war,
            jdk,
            mirror,
            download_timeout,
            emitter,
            allow_unofficial,
        )
        # HAProxy's compile is the longest chain; the other builds yield the CPU to it
        build = functools.partial(
            _build_image,
            client,
            emitter=emitter,
            rebuild=rebuild,
            network_mode=network_mode,
            cpu_shares=BACKGROUND_CPU_SHARES,
        )

        def haproxy() -> ImageBuild:
            found, base_image = jobs.wait("HAProxy", source, base)
            return _build_haproxy(
                client, root, found, base_image, emitter=emitter, rebuild=rebuild, network_mode=network_mode
            )

        def nfs() -> ImageBuild:
            (base_image,) = jobs.wait("the NFS server", base)
            entries = _tree(root / NFS)
            return build(
                name=NFS, tag=NFS_TAG, entries=entries, dockerfile="Dockerfile", buildargs=BASE_ARGS, base=base_image
            )

        def jenkins_image() -> ImageBuild:
            chosen, base_image = jobs.wait("Jenkins", choice, base)
            return build(base=base_image, **_jenkins_build(root / "jenkins", lab, *chosen))

        images = [base, jobs.spawn(HAPROXY, haproxy), jobs.spawn(NFS, nfs), jobs.spawn(JENKINS_IMAGE, jenkins_image)]
        result = BuildResult(images=[job.result() for job in images])
        found = source.result()
        result.haproxy_source, result.haproxy_version = found, found.version
        result.flavour, result.flavour_reason = choice.result()[:2]
        result.tags = {image.name: image.tag for image in result.images}
        return result
    finally:
        PLAN_ONLY.reset(token)


BASE_ARGS = {"BASE_IMAGE": BASE_TAG, **image_buildargs()}  # label keys and shared paths, from the model
BACKGROUND_CPU_SHARES = 256  # a quarter of Docker's default weight


def _jenkins_build(
    jenkins_root: Path, lab: Lab, flavour: Flavour, reason: str, war: JenkinsWar | None, jdk_info: JdkTarball | None
) -> dict[str, Any]:
    """The build of the Jenkins image of ``flavour``: name, tag, context, Dockerfile, build args."""
    if flavour == "real":
        assert war is not None and jdk_info is not None
        entries = _jenkins_common(jenkins_root) + _tree(jenkins_root / "real", "real")
        entries += [("artifacts/jenkins.war", war.path), ("artifacts/jdk.tar.gz", jdk_info.path)]
        buildargs = {
            **BASE_ARGS,
            "JENKINS_VERSION": JENKINS_VERSION,
            "JENKINS_SHA256": war.sha256,
            "JDK_DIR": jdk_info.top,
            "JAVA_VERSION": jdk_info.version,
        }
        dockerfile = "real/Dockerfile"
    else:
        entries = _jenkins_common(jenkins_root) + _tree(jenkins_root / "lite", "lite")
        buildargs = {**BASE_ARGS, "JENKINS_VERSION": JENKINS_VERSION}
        dockerfile = "lite/Dockerfile"
    return {
        "name": JENKINS_IMAGE,
        "tag": jenkins_tag(flavour, lab.jenkins.version),
        "entries": entries,
        "dockerfile": dockerfile,
        "buildargs": buildargs,
    }


# --------------------------------------------------------------------------- scheduling

# `plan_only`: look images up by content hash, build nothing (read by _ensure_base and _build_image,
# in every job's thread: Jobs.spawn runs each job in a copy of the caller's context).
PLAN_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("labgen_build_plan_only", default=False)
T = TypeVar("T")
QUIET_WAIT_S = 1.0  # a wait shorter than this (a cache lookup) is not worth an event


class SerialEmitter(Emitter):
    """Passes events on to another emitter one at a time: the jobs' threads emit concurrently."""

    def __init__(self, inner: Emitter) -> None:
        super().__init__()
        self._inner = inner
        self._lock = threading.Lock()

    def emit(self, kind: str, message: str, level: Level = "info", **data: object) -> Event:
        with self._lock:
            return self._inner.emit(kind, message, level, **data)


@dataclass
class Job(Generic[T]):
    what: str  # what it makes, as a wait event names it: "the base image", "HAProxy", ...
    future: Future[T]

    def result(self) -> T:
        return self.future.result()


class Jobs:
    """Each job in a thread of its own, started at once; a job that needs another one's result
    waits for it with `wait`, which says so (``build.wait``) when it is not there yet. The
    threads are daemons: an interrupted build does not wait for the others to finish."""

    def __init__(self, emitter: Emitter) -> None:
        self.emitter = emitter

    def spawn(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Job[T]:
        future: Future[T] = Future()
        context = contextvars.copy_context()

        def run() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(context.run(fn, *args, **kwargs))
            except BaseException as exc:  # handed to whoever waits for it
                future.set_exception(exc)

        threading.Thread(target=run, name=f"labgen-build {what}", daemon=True).start()
        return Job(what, future)

    def wait(self, waiter: str, *jobs: Job[Any]) -> list[Any]:
        futures.wait([job.future for job in jobs], timeout=QUIET_WAIT_S)  # found in the cache: no event
        pending = [job.what for job in jobs if not job.future.done()]
        if pending:
            started = time.monotonic()
            self.emitter.emit(
                "build.wait", f"{waiter}: waits for {' and '.join(pending)}", image=waiter, waits_for=pending
            )
            results = [job.result() for job in jobs]
            self.emitter.emit(
                "build.progress",
                f"{waiter}: waited {time.monotonic() - started:.0f} s for {' and '.join(pending)}",
                image=waiter,
                line="",
                step=True,
            )
            return results
        return [job.result() for job in jobs]


# --------------------------------------------------------------------------- base image


def base_recipe() -> dict[str, object]:
    """Everything the base image is made from (its content hash is computed over this)."""
    sources = base_apt_sources()
    include = [*BASE_PACKAGES, *(["ca-certificates"] if "https://" in sources else [])]
    return {
        "recipe": BASE_RECIPE_VERSION,
        "suite": BASE_SUITE,
        "options": list(MMDEBSTRAP_OPTIONS),
        "include": include,
        "sources": sources,
    }


def _ensure_base(client: docker.DockerClient, *, emitter: Emitter, rebuild: bool) -> ImageBuild:
    recipe = base_recipe()
    content_hash = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    cached = None if rebuild else _cached_image(client, BASE_TAG, content_hash)
    if cached is not None:
        emitter.emit("build.cached", f"{BASE_TAG}: up to date", image=BASE_IMAGE, tag=BASE_TAG)
        return ImageBuild(BASE_IMAGE, BASE_TAG, cached.id, True, 0.0, int(cached.attrs.get("Size", 0)), content_hash)
    if PLAN_ONLY.get():
        return ImageBuild(BASE_IMAGE, BASE_TAG, "", False, 0.0, 0, content_hash)
    if shutil.which("mmdebstrap") is None:
        raise EnvironmentProblem(
            f"cannot make the base image {BASE_TAG}: mmdebstrap is not installed",
            hint="apt-get install mmdebstrap (it builds a Debian root file system from this machine's apt sources)",
        )
    emitter.emit(
        "build.start",
        f"{BASE_TAG}: mmdebstrap {BASE_SUITE} (Debian packages, host's apt sources)",
        image=BASE_IMAGE,
        tag=BASE_TAG,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="labgen-base-", dir=_big_tmp()) as tmp_name:
        tmp = Path(tmp_name)
        sources_file = tmp / "debian.sources"
        sources_file.write_text(str(recipe["sources"]), encoding="utf-8")
        tarball = tmp / "rootfs.tar"
        cmd = ["mmdebstrap", *MMDEBSTRAP_OPTIONS]
        include = recipe["include"]
        assert isinstance(include, list)
        if include:
            cmd.append("--include=" + ",".join(include))
        cmd += [BASE_SUITE, str(tarball), str(sources_file)]
        _run_streaming(cmd, image=BASE_IMAGE, tag=BASE_TAG, emitter=emitter)
        emitter.emit(
            "build.progress",
            f"{BASE_TAG}: docker import",
            image=BASE_IMAGE,
            tag=BASE_TAG,
            line="docker import",
            step=True,
        )
        changes = [
            f"LABEL {COMPONENT_LABEL}=base {CONTENT_HASH_LABEL}={content_hash} {DEBIAN_SUITE_LABEL}={BASE_SUITE}",
            "ENV LANG=C.UTF-8",
            'CMD ["/bin/bash"]',
        ]
        repository, tag = BASE_TAG.rsplit(":", 1)
        try:
            client.api.import_image_from_file(str(tarball), repository=repository, tag=tag, changes=changes)
        except Exception as exc:
            raise LabgenError(f"docker import of the base image failed: {exc}") from None
    image = client.images.get(BASE_TAG)
    seconds = time.monotonic() - started
    emitter.emit(
        "build.done", f"{BASE_TAG}: built in {seconds:.0f} s", "done", image=BASE_IMAGE, tag=BASE_TAG, seconds=seconds
    )
    return ImageBuild(BASE_IMAGE, BASE_TAG, image.id, False, seconds, int(image.attrs.get("Size", 0)), content_hash)


def _big_tmp() -> str | None:
    """A temp dir for a ~100 MB tarball: $TMPDIR, else /var/tmp (often not a small tmpfs)."""
    if os.environ.get("TMPDIR"):
        return None
    return "/var/tmp" if os.access("/var/tmp", os.W_OK) else None


def _run_streaming(cmd: list[str], *, image: str, tag: str, emitter: Emitter) -> None:
    tail: list[str] = []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.rstrip()
        if not line:
            continue
        tail = [*tail, line][-20:]
        emitter.emit("build.progress", f"{tag}: {line}", image=image, tag=tag, line=line, step=line.startswith("I: "))
    if proc.wait() != 0:
        raise LabgenError(
            f"building {tag} failed: {cmd[0]} exited with {proc.returncode}:\n  " + "\n  ".join(tail[-8:]),
            hint="mmdebstrap needs root, or unprivileged user namespaces for its unshare mode",
        )


# --------------------------------------------------------------------------- HAProxy


def _build_haproxy(
    client: docker.DockerClient,
    root: Path,
    source: HAProxySource,
    base: ImageBuild,
    *,
    emitter: Emitter,
    rebuild: bool,
    network_mode: str | None,
) -> ImageBuild:
    entries: list[tuple[str, Path | bytes]] = _tree(root / "haproxy")
    entries.append((LUA_NAMES_FILE, names_lua().encode()))  # the promoter's names, from the model
    entries.append(("src/haproxy.tar.gz", source.path))
    series = b""
    if source.debian_archive is not None:
        patches = debian_patches(source.debian_archive)
        series = patches.pop("series", b"")
        entries += [(f"src/patches/{name}", data) for name, data in sorted(patches.items())]
    entries.append(("src/patches/series", series))
    buildargs = {
        **BASE_ARGS,
        "HAPROXY_VERSION": source.version,
        "HAPROXY_SOURCE": source.origin,
        "HAPROXY_SHA256": source.sha256,
        "HAPROXY_SUBVERS": source.subversion,
        "HAPROXY_DEBIAN_VERSION": source.debian_version or "",
    }
    return _build_image(
        client,
        name=HAPROXY,
        tag=haproxy_tag(source.version),
        entries=entries,
        dockerfile="Dockerfile",
        buildargs=buildargs,
        base=base,
        emitter=emitter,
        rebuild=rebuild,
        network_mode=network_mode,
        note=source.reason,
    )


def debian_patches(archive: Path) -> dict[str, bytes]:
    """``debian/patches/*`` of a Debian ``debian.tar.xz``: the quilt series and its patches
    (only those the series names, so build-time-only patches stay out)."""
    files: dict[str, bytes] = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            name = member.name.lstrip("./")
            if member.isfile() and name.startswith("debian/patches/"):
                handle = tar.extractfile(member)
                if handle is not None:
                    files[name.removeprefix("debian/patches/")] = handle.read()
    series = files.get("series", b"")
    wanted = [
        line.split("#", 1)[0].split()[0] for line in series.decode().splitlines() if line.split("#", 1)[0].strip()
    ]
    missing = [name for name in wanted if name not in files]
    if missing:
        raise LabgenError(f"{archive}: the patch series names missing patches: {', '.join(missing)}")
    return {"series": series, **{name: files[name] for name in wanted}}


# --------------------------------------------------------------------------- Jenkins


def _jenkins_common(jenkins_root: Path) -> list[tuple[str, Path | bytes]]:
    entries: list[tuple[str, Path | bytes]] = [
        ("entrypoint.sh", jenkins_root / "entrypoint.sh"),
        ("jenkins-healthcheck", jenkins_root / "jenkins-healthcheck"),
    ]
    entries += _tree(jenkins_root / "nfsmount", "nfsmount")
    entries += _tree(jenkins_root / "homecheck", "homecheck")
    return entries + shared_entries()


def shared_entries() -> list[tuple[str, Path | bytes]]:
    """What the image programs share with labgen, as `labgen/` in a build context: the wire
    helpers and the layout's names (both stdlib only). In the image `labgen` and `labgen.model`
    are bare namespaces (empty `__init__.py`): the rest of labgen is not there."""
    package = Path(labgen.__file__).resolve().parent
    return [
        ("labgen/__init__.py", b""),
        *_tree(package / "wire", "labgen/wire"),
        ("labgen/model/__init__.py", b""),
        ("labgen/model/names.py", package / "model" / "names.py"),
    ]


def _choose_jenkins(
    lab: Lab,
    requested: Literal["auto", "real", "lite"],
    war_path: Path | None,
    jdk_path: Path | None,
    mirror: str,
    timeout: float,
    emitter: Emitter,
    allow_unofficial: bool = False,
) -> tuple[Flavour, str, JenkinsWar | None, JdkTarball | None]:
    want = requested if requested != "auto" else lab.jenkins.flavour
    if want == "lite":
        reason = "the lite stand-in was asked for (--jenkins lite)"
        emitter.emit("build.jenkins", f"Jenkins: {reason}; it is NOT Jenkins", "warn", flavour="lite", reason=reason)
        return "lite", reason, None, None

    problems: list[str] = []
    jdk_info: JdkTarball | None = None
    if jdk_path is not None:
        jdk_info = inspect_jdk(jdk_path)  # a bad JDK given on purpose is an error, even in auto
    else:
        problems.append(
            "no Java 8/11 JDK tarball was given (--jdk PATH); Debian 12 ships only OpenJDK 17, "
            "which Jenkins 2.190.2 refuses"
        )
    war: JenkinsWar | None = None
    try:
        if jdk_info is None and want == "auto" and war_path is None:
            # no JDK, so the lite flavour it is: look for the war without a 77 MB download
            war = resolve_jenkins_war(JENKINS_VERSION, mirror=mirror, allow_download=False, emitter=emitter)
        else:
            war = resolve_jenkins_war(
                JENKINS_VERSION,
                explicit=war_path,
                mirror=mirror,
                timeout=timeout,
                allow_unofficial=allow_unofficial,
                emitter=emitter,
            )
    except EnvironmentProblem as exc:
        problems.append(exc.message)
    if not problems:
        assert war is not None and jdk_info is not None
        reason = f"jenkins.war {JENKINS_VERSION} ({war.origin}) and Java {jdk_info.version} are available"
        emitter.emit(
            "build.jenkins", f"Jenkins: real {JENKINS_VERSION}: {reason}", "info", flavour="real", reason=reason
        )
        return "real", reason, war, jdk_info
    reason = "; ".join(problems)
    if want == "real":
        raise EnvironmentProblem(
            f"cannot build the real Jenkins {JENKINS_VERSION} image: {reason}",
            hint=f"labgen build --jenkins real --jenkins-war PATH --jdk PATH (a Java 8 or 11 JDK tarball), "
            f"or put jenkins.war in {cache_dir()}; or use the stand-in: --jenkins lite",
        )
    emitter.emit(
        "build.jenkins",
        f"USING THE LITE JENKINS STAND-IN, NOT JENKINS {JENKINS_VERSION}: {reason}. It imitates what HAProxy, "
        "the failover logic and Jenkins clients see; give --jenkins-war and --jdk for the real one.",
        "warn",
        flavour="lite",
        reason=reason,
    )
    return "lite", reason, None, None


# --------------------------------------------------------------------------- building


def _tree(folder: Path, prefix: str = "") -> list[tuple[str, Path | bytes]]:
    """Every file under ``folder`` (sorted), as (path in the build context, file)."""
    if not folder.is_dir():
        raise LabgenError(f"build files missing: {folder} is not a folder")
    entries: list[tuple[str, Path | bytes]] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        entries.append(((f"{prefix}/" if prefix else "") + rel.as_posix(), path))
    return entries


def context_hash(
    entries: list[tuple[str, Path | bytes]], buildargs: Mapping[str, str], base_id: str, dockerfile: str
) -> str:
    """The content hash of a build: files (names, exec bits, bytes), build args, base id."""
    digest = hashlib.sha256()
    digest.update(
        json.dumps({"base": base_id, "args": dict(sorted(buildargs.items())), "dockerfile": dockerfile}).encode()
    )
    for name, item in sorted(entries, key=lambda e: e[0]):
        if isinstance(item, Path):
            file_digest = _memo_sha256(item)
            executable = os.access(item, os.X_OK)
        else:
            file_digest = hashlib.sha256(item).hexdigest()
            executable = False
        digest.update(f"\0{name}\0{int(executable)}\0{file_digest}".encode())
    return digest.hexdigest()


_SHA_MEMO: dict[tuple[str, int, int], str] = {}


def _memo_sha256(path: Path) -> str:
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA_MEMO:
        _SHA_MEMO[key] = sha256_file(path)
    return _SHA_MEMO[key]


def _context_tar(entries: list[tuple[str, Path | bytes]]) -> IO[bytes]:
    """The build context as an uncompressed tar in a spooled temporary file."""
    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20, dir=_big_tmp())  # noqa: SIM115 - returned open
    with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs: set[str] = set()
        for name, item in sorted(entries, key=lambda e: e[0]):
            parts = name.split("/")
            for i in range(1, len(parts)):
                directory = "/".join(parts[:i])
                if directory not in dirs:
                    dirs.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if isinstance(item, Path):
                info.size = item.stat().st_size
                info.mode = 0o755 if os.access(item, os.X_OK) or name.endswith(".sh") else 0o644
                with item.open("rb") as handle:
                    tar.addfile(info, handle)
            else:
                info.size = len(item)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(item))
    spool.seek(0)
    return spool


def _cached_image(client: docker.DockerClient, tag: str, content_hash: str) -> Any:
    import docker.errors

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    labels = image.attrs.get("Config", {}).get("Labels") or {}
    return image if labels.get(CONTENT_HASH_LABEL) == content_hash else None


def _build_image(
    client: docker.DockerClient,
    *,
    name: str,
    tag: str,
    entries: list[tuple[str, Path | bytes]],
    dockerfile: str,
    buildargs: dict[str, str],
    base: ImageBuild,
    emitter: Emitter,
    rebuild: bool,
    network_mode: str | None,
    note: str = "",
    cpu_shares: int | None = None,
) -> ImageBuild:
    """Build one image, or find it by content hash. ``cpu_shares`` (Docker's default weight is
    1024) lowers the priority of the build's RUN steps, for images off the critical path."""
    content_hash = context_hash(entries, buildargs, base.image_id, dockerfile)
    cached = None if rebuild else _cached_image(client, tag, content_hash)
    if cached is not None:
        emitter.emit("build.cached", f"{tag}: up to date", image=name, tag=tag)
        return ImageBuild(name, tag, cached.id, True, 0.0, int(cached.attrs.get("Size", 0)), content_hash)
    if PLAN_ONLY.get():
        return ImageBuild(name, tag, "", False, 0.0, 0, content_hash)
    emitter.emit("build.start", f"{tag}: building" + (f" ({note})" if note else ""), image=name, tag=tag)
    started = time.monotonic()
    image_id = None
    tail: list[str] = []
    context = _context_tar(entries)
    try:
        request = BuildRequest(
            tag, dockerfile, buildargs, {CONTENT_HASH_LABEL: content_hash}, rebuild, network_mode, cpu_shares
        )
        stream = _start_build(client, context, request, emitter)
        trace = BuildOutput()
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                raise LabgenError(
                    f"building {tag} failed: {str(detail).strip()}",
                    hint="last build output:\n    " + "\n    ".join(tail[-15:]) if tail else None,
                )
            aux = chunk.get("aux")
            if isinstance(aux, dict) and "ID" in aux:
                image_id = aux["ID"]
            for line, step in trace.lines(chunk):
                tail = [*tail, line][-40:]
                emitter.emit("build.progress", f"{tag}: {line}", image=name, tag=tag, line=line, step=step)
    except LabgenError:
        raise
    except Exception as exc:
        raise LabgenError(f"building {tag} failed: {exc}") from None
    finally:
        context.close()
    image = client.images.get(tag)
    if image_id and image.id != image_id:
        raise LabgenError(f"building {tag}: the tag points at {image.id}, not the image just built ({image_id})")
    seconds = time.monotonic() - started
    emitter.emit("build.done", f"{tag}: built in {seconds:.0f} s", "done", image=name, tag=tag, seconds=seconds)
    return ImageBuild(name, tag, image.id, False, seconds, int(image.attrs.get("Size", 0)), content_hash)


def _chunks(stream: Any) -> Iterator[dict[str, Any]]:
    for chunk in stream:
        if isinstance(chunk, dict):
            yield chunk


# --------------------------------------------------------------------------- builders

BUILDER_ENV = "LABGEN_BUILDER"  # buildkit (the default) or classic


def builder() -> str:
    """Which of the engine's builders labgen uses: BuildKit (stages run at once, an instruction is
    not a container commit), or the classic one (``LABGEN_BUILDER=classic``)."""
    value = os.environ.get(BUILDER_ENV, "buildkit").strip().lower()
    if value not in ("buildkit", "classic"):
        raise EnvironmentProblem(f"{BUILDER_ENV}={value!r}: allowed values are buildkit and classic")
    return value


@dataclass(frozen=True)
class BuildRequest:
    """One image build, as either builder is asked for it."""

    tag: str
    dockerfile: str
    buildargs: dict[str, str]
    labels: dict[str, str]
    nocache: bool
    network_mode: str | None
    cpu_shares: int | None  # the classic builder's RUN containers only


def _start_build(
    client: docker.DockerClient, context: IO[bytes], request: BuildRequest, emitter: Emitter
) -> Iterator[dict[str, Any]]:
    """The engine's build output as JSON messages, from BuildKit when the engine has it."""
    import docker.errors

    if builder() == "buildkit":
        try:
            return _buildkit(client, context, request)
        except docker.errors.APIError as exc:  # refused before building: an engine without BuildKit
            emitter.emit("build.builder", f"{request.tag}: BuildKit refused ({exc.explanation or exc}); classic")
            context.seek(0)
    stream = client.api.build(
        fileobj=context,
        custom_context=True,
        tag=request.tag,
        dockerfile=request.dockerfile,
        buildargs=request.buildargs,
        labels=request.labels,
        rm=True,
        forcerm=True,
        pull=False,
        nocache=request.nocache,
        container_limits={"cpushares": request.cpu_shares} if request.cpu_shares else None,
        decode=True,
        network_mode=request.network_mode,
    )
    return _chunks(stream)


def _buildkit(client: docker.DockerClient, context: IO[bytes], request: BuildRequest) -> Iterator[dict[str, Any]]:
    """``POST /build?version=2``: BuildKit with the context tar as the request body (no session,
    which docker-py cannot open). Images come from the engine's own store, as with ``pull=False``."""
    api = client.api
    params: dict[str, str] = {
        "version": "2",
        "t": request.tag,
        "dockerfile": request.dockerfile,
        "buildargs": json.dumps(request.buildargs),
        "labels": json.dumps(request.labels),
    }
    if request.nocache:
        params["nocache"] = "1"
    if request.network_mode:
        params["networkmode"] = request.network_mode
    response = api._post(  # docker-py's build() has no `version` parameter
        api._url("/build"), params=params, data=context, headers={"Content-Type": "application/x-tar"}, stream=True
    )
    api._raise_for_status(response)
    return (json.loads(line) for line in response.iter_lines() if line)


class BuildOutput:
    """Lines of a build's output, ``(line, is_a_step)``: the classic builder's ``stream`` text, or
    BuildKit's progress (``aux`` of ``moby.buildkit.trace``: a base64 protobuf StatusResponse),
    whose steps are its vertices as they start and whose lines are the RUN steps' output."""

    def __init__(self) -> None:
        self.started: set[bytes] = set()

    def lines(self, chunk: dict[str, Any]) -> list[tuple[str, bool]]:
        aux = chunk.get("aux")
        if chunk.get("id") != "moby.buildkit.trace" or not isinstance(aux, str):
            text = str(chunk.get("stream", ""))
            return [(line.rstrip(), line.startswith("Step ")) for line in text.splitlines() if line.strip()]
        found: list[tuple[str, bool]] = []
        for number, value in protobuf_fields(base64.b64decode(aux)):
            if not isinstance(value, bytes):
                continue
            fields = dict(protobuf_fields(value))
            if number == 1:  # Vertex: digest 1, name 3, cached 4, started 5, error 7
                digest, name = fields.get(1, b""), _text(fields.get(3, b""))
                if 5 in fields and digest not in self.started and not name.startswith("[internal]"):
                    self.started.add(digest)  # type: ignore[arg-type]
                    found.append((name + (" (cached)" if fields.get(4) else ""), True))
                if fields.get(7):
                    found.append((f"error: {_text(fields[7])}", False))
            elif number == 3:  # VertexLog: msg 4
                found += [(line.rstrip(), False) for line in _text(fields.get(4, b"")).splitlines() if line.strip()]
        return found


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def protobuf_fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """The (field number, value) pairs of a protobuf message: varints as int, length-delimited as
    bytes, fixed-width ones as bytes. Enough for BuildKit's progress messages."""
    at = 0
    while at < len(data):
        key, at = _varint(data, at)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, at = _varint(data, at)
        elif wire == 2:
            size, at = _varint(data, at)
            value, at = data[at : at + size], at + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, at = data[at : at + width], at + width
        else:
            return  # groups: not used by BuildKit
        yield number, value


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while at < len(data):
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    return value, at
