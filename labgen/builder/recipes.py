"""What each image is built from: its build context's files, Dockerfile and build arguments."""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from labgen.builder.context import COMMON_DIR, Entry, entrypoint_helpers, shared_entries, tree
from labgen.builder.flavour import JENKINS_VERSION, JenkinsChoice
from labgen.builder.haproxy_source import HAProxySource
from labgen.errors import BuildFailed
from labgen.model.lua import LUA_NAMES_FILE, names_lua
from labgen.model.names import HAPROXY, JAVA11_SUITE, JENKINS_IMAGE, NFS, ImageTags, image_buildargs
from labgen.model.spec import LabSpec

BACKGROUND_CPU_SHARES = 256  # a quarter of Docker's default weight: off HAProxy's critical path


@dataclass(frozen=True)
class Recipe:
    """One image's build: name, tag, context, Dockerfile, build args; ``cpu_shares`` (Docker's default
    weight is 1024) lowers the priority of its RUN steps; ``note`` is said when it starts."""

    name: str
    tag: str
    entries: list[Entry]
    dockerfile: str
    buildargs: dict[str, str]
    note: str = ""
    cpu_shares: int | None = None


def base_args(tags: ImageTags) -> dict[str, str]:
    """Every image's build args: its base, and the label keys and shared paths from the model."""
    return {"BASE_IMAGE": tags.base(), **image_buildargs()}


def haproxy_recipe(root: Path, source: HAProxySource, tags: ImageTags) -> Recipe:
    """HAProxy compiled from ``source``, with Debian's patches when it is Debian's source package."""
    entries: list[Entry] = tree(root / "haproxy") + entrypoint_helpers(root, COMMON_DIR)
    entries.append((LUA_NAMES_FILE, names_lua().encode()))  # the promoter's names, from the model
    entries.append(("src/haproxy.tar.gz", source.path))
    series = b""
    if source.debian_archive is not None:
        patches = debian_patches(source.debian_archive)
        series = patches.pop("series", b"")
        entries += [(f"src/patches/{name}", data) for name, data in sorted(patches.items())]
    entries.append(("src/patches/series", series))
    buildargs = {
        **base_args(tags),
        "HAPROXY_VERSION": source.version,
        "HAPROXY_SOURCE": source.origin,
        "HAPROXY_SHA256": source.sha256,
        "HAPROXY_SUBVERS": source.subversion,
        "HAPROXY_DEBIAN_VERSION": source.debian_version or "",
    }
    return Recipe(HAPROXY, tags.haproxy(source.version), entries, "Dockerfile", buildargs, note=source.reason)


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
        raise BuildFailed(f"{archive}: the patch series names missing patches: {', '.join(missing)}")
    return {"series": series, **{name: files[name] for name in wanted}}


def nfs_recipe(root: Path, tags: ImageTags) -> Recipe:
    return Recipe(NFS, tags.nfs, tree(root / NFS), "Dockerfile", base_args(tags), cpu_shares=BACKGROUND_CPU_SHARES)


def jenkins_recipe(jenkins_root: Path, lab: LabSpec, choice: JenkinsChoice, tags: ImageTags) -> Recipe:
    """The Jenkins image of the chosen flavour: the real war on a Java runtime, or lite."""
    if choice.flavour == "real":
        war, jdk = choice.war, choice.jdk
        assert war is not None
        entries = _jenkins_common(jenkins_root) + tree(jenkins_root / "real", "real")
        entries += [("artifacts/jenkins.war", war.path), ("artifacts/jdk.tar.gz", jdk.path if jdk else NO_JDK)]
        buildargs = {
            **base_args(tags),
            "BASE_IMAGE": tags.base() if jdk else tags.base(JAVA11_SUITE),
            "JAVA_FROM": "tarball" if jdk else "debian",
            "JENKINS_VERSION": JENKINS_VERSION,
            "JENKINS_SHA256": war.sha256,
            "JDK_DIR": jdk.top if jdk else "",
            "JAVA_VERSION": jdk.version if jdk else "11",
        }
        dockerfile = "real/Dockerfile"
    else:
        entries = _jenkins_common(jenkins_root) + tree(jenkins_root / "lite", "lite")
        buildargs = {**base_args(tags), "JENKINS_VERSION": JENKINS_VERSION}
        dockerfile = "lite/Dockerfile"
    tag = tags.jenkins(choice.flavour, lab.jenkins.version)
    return Recipe(JENKINS_IMAGE, tag, entries, dockerfile, buildargs, cpu_shares=BACKGROUND_CPU_SHARES)


def _empty_tarball() -> bytes:
    """A gzipped tar of one empty folder, byte for byte the same every time (no dates): the real
    Dockerfile's ``ADD artifacts/jdk.tar.gz`` when Java comes from Debian."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.USTAR_FORMAT) as tar,
    ):
        info = tarfile.TarInfo("no-jdk")
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
        tar.addfile(info)
    return buffer.getvalue()


NO_JDK = _empty_tarball()


def _jenkins_common(jenkins_root: Path) -> list[Entry]:
    entries: list[Entry] = [
        ("entrypoint.sh", jenkins_root / "entrypoint.sh"),
        ("jenkins-healthcheck", jenkins_root / "jenkins-healthcheck"),
    ]
    entries += tree(jenkins_root / "nfsmount", "nfsmount")
    entries += tree(jenkins_root / "homecheck", "homecheck")
    # into labgen/ beside what labgen shares with the image's programs: both Dockerfiles copy that folder
    return entries + shared_entries() + entrypoint_helpers(jenkins_root.parent, "labgen")
