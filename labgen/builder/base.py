"""The base image: a Debian root file system made with ``mmdebstrap`` from this machine's own apt
sources and ``docker import``-ed (no image is pulled); every other image starts ``FROM`` it."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from labgen.builder.apt_sources import base_apt_sources
from labgen.builder.context import big_tmp
from labgen.builder.driver import cached_image
from labgen.builder.options import BuildOptions
from labgen.builder.result import ImageBuild
from labgen.errors import BuildFailed, DockerFailed, ToolMissing
from labgen.events import Emitter
from labgen.model.names import (
    BASE_IMAGE,
    BASE_SUITE,
    COMPONENT_LABEL,
    CONTENT_HASH_LABEL,
    DEBIAN_SUITE_LABEL,
    JAVA11_BASE_IMAGE,
    JAVA11_SUITE,
    ImageTags,
)

if TYPE_CHECKING:
    import docker

# Bump when the base recipe changes in a way the hashed inputs do not show.
BASE_RECIPE_VERSION = 2


@dataclass(frozen=True)
class Base:
    """A Debian release labgen builds images on: its image's name (a key of BuildResult.tags), and
    what is installed into it; its tag is `ImageTags.base` of its suite."""

    name: str
    suite: str
    packages: tuple[str, ...]


# Installed into the base once rather than by several images: python3 (the Jenkins image's
# programs, and nfs-ganesha's own dependency) with what it pulls in (libssl3, libtirpc3, the
# Kerberos libraries), which the HAProxy and NFS images need too.
BASE_PACKAGES = ("python3", "libssl3")
BOOKWORM = Base(BASE_IMAGE, BASE_SUITE, BASE_PACKAGES)
# the real Jenkins on Debian 11's OpenJDK 11 (its image programs run on Debian 11's Python 3.9)
BULLSEYE = Base(JAVA11_BASE_IMAGE, JAVA11_SUITE, ("python3",))
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


def base_recipe(base: Base = BOOKWORM) -> dict[str, object]:
    """Everything a base image is made from (its content hash is computed over this)."""
    sources = base_apt_sources(suite=base.suite)
    include = [*base.packages, *(["ca-certificates"] if "https://" in sources else [])]
    return {
        "recipe": BASE_RECIPE_VERSION,
        "suite": base.suite,
        "options": list(MMDEBSTRAP_OPTIONS),
        "include": include,
        "sources": sources,
    }


def recipe_hash(recipe: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def ensure_base(
    client: docker.DockerClient, options: BuildOptions, emitter: Emitter, tags: ImageTags, base: Base = BOOKWORM
) -> ImageBuild:
    """A base image: found by its recipe's hash, else made with mmdebstrap and imported."""
    name, suite, tag = base.name, base.suite, tags.base(base.suite)
    recipe = base_recipe(base)
    content_hash = recipe_hash(recipe)
    cached = None if options.rebuild else cached_image(client, tag, content_hash)
    if cached is not None:
        emitter.emit("build.cached", f"{tag}: up to date", image=name, tag=tag)
        return ImageBuild(name, tag, cached.id, True, 0.0, int(cached.attrs.get("Size", 0)), content_hash)
    if options.plan_only:
        return ImageBuild(name, tag, "", False, 0.0, 0, content_hash)
    if shutil.which("mmdebstrap") is None:
        raise ToolMissing(
            f"cannot make the base image {tag}: mmdebstrap is not installed",
            hint="apt-get install mmdebstrap (it builds a Debian root file system from this machine's apt sources)",
        )
    emitter.emit(
        "build.start",
        f"{tag}: mmdebstrap {suite} (Debian packages, host's apt sources)",
        image=name,
        tag=tag,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="labgen-base-", dir=big_tmp()) as tmp_name:
        tarball = _mmdebstrap(recipe, Path(tmp_name), name, tag, emitter)
        emitter.emit(
            "build.progress",
            f"{tag}: docker import",
            image=name,
            tag=tag,
            line="docker import",
            step=True,
        )
        changes = [
            f"LABEL {COMPONENT_LABEL}=base {CONTENT_HASH_LABEL}={content_hash} {DEBIAN_SUITE_LABEL}={suite}",
            "ENV LANG=C.UTF-8",
            'CMD ["/bin/bash"]',
        ]
        repository, version = tag.rsplit(":", 1)
        try:
            client.api.import_image_from_file(str(tarball), repository=repository, tag=version, changes=changes)
        except Exception as exc:
            raise DockerFailed(f"docker import of the base image failed: {exc}") from None
    image = client.images.get(tag)
    seconds = time.monotonic() - started
    emitter.emit("build.done", f"{tag}: built in {seconds:.0f} s", "done", image=name, tag=tag, seconds=seconds)
    return ImageBuild(name, tag, image.id, False, seconds, int(image.attrs.get("Size", 0)), content_hash)


def _mmdebstrap(recipe: dict[str, object], tmp: Path, name: str, tag: str, emitter: Emitter) -> Path:
    """The root file system of ``recipe`` as a tarball in ``tmp``."""
    sources_file = tmp / "debian.sources"
    sources_file.write_text(str(recipe["sources"]), encoding="utf-8")
    tarball = tmp / "rootfs.tar"
    cmd = ["mmdebstrap", *MMDEBSTRAP_OPTIONS]
    include = recipe["include"]
    assert isinstance(include, list)
    if include:
        cmd.append("--include=" + ",".join(include))
    cmd += [str(recipe["suite"]), str(tarball), str(sources_file)]
    _run_streaming(cmd, image=name, tag=tag, emitter=emitter)
    return tarball


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
        raise BuildFailed(
            f"building {tag} failed: {cmd[0]} exited with {proc.returncode}:\n  " + "\n  ".join(tail[-8:]),
            hint="mmdebstrap needs root, or unprivileged user namespaces for its unshare mode",
        )
