"""labgen's images in the engine, and in a file a CI cache can keep: list, key, save, load, prune.

An image is labgen's when a tag of it is in a repository of labgen's namespace (``labgen/``, or the
one LABGEN_IMAGE_NAMESPACE names) or it carries labgen's component label (the build stages left
behind by a multi-stage build do). "Needed" means: the image `build_images` would use for the
spec, found by tag *and* content hash (a plan, nothing is built).

A saved file is ``docker save`` of the needed images (layers shared between them stored once),
with one more member first, ``labgen-images.json``: each image's name, tag, id and content hash,
and the key of what determined them (`images_key`). ``docker load`` ignores that member; `load`
reads it and checks that every image the file names is in the engine afterwards with that id
and that content hash, so `labgen up` finds them in the cache and builds nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import labgen
from labgen.builder.base import BULLSEYE, base_recipe
from labgen.builder.context import images_root, shared_entries
from labgen.builder.images import build_images
from labgen.builder.options import BuildOptions
from labgen.builder.result import BuildResult
from labgen.engine import client as engine_client
from labgen.errors import LabgenError
from labgen.events import NULL_EMITTER, Emitter
from labgen.model.names import COMPONENT_LABEL, CONTENT_HASH_LABEL, ImageTags
from labgen.model.spec import LabSpec
from labgen.wire.files import sha256_file

if TYPE_CHECKING:
    import docker

MANIFEST = "labgen-images.json"
SAVE_FORMAT = 1
CHUNK = 1 << 20


@dataclass
class EngineImage:
    """One of labgen's images in the engine (or, with ``id == ""``, one the spec needs that is missing)."""

    tags: list[str]
    id: str
    content_hash: str
    component: str
    size: int
    needed: bool
    created: str = ""

    @property
    def tag(self) -> str:
        return self.tags[0] if self.tags else "<none>"


@dataclass
class ImagesReport:
    images: list[EngineImage]
    plan: BuildResult

    @property
    def missing(self) -> list[str]:
        return [image.tag for image in self.plan.images if not image.image_id]

    def to_json(self) -> dict[str, Any]:
        return {
            "images": [{**asdict(image), "tag": image.tag} for image in self.images],
            "missing": self.missing,
            "haproxy_version": self.plan.haproxy_version,
            "jenkins_flavour": self.plan.flavour,
        }


def plan(
    lab: LabSpec, options: BuildOptions | None = None, *, client: docker.DockerClient | None = None
) -> BuildResult:
    """What `build_images` would use for ``lab``, built or not (``image_id == ""`` when missing)."""
    return build_images(lab, replace(options or BuildOptions(), plan_only=True), client=client or engine_client())


def labgen_images(client: docker.DockerClient) -> list[Any]:
    """labgen's top-level images: tagged in a repository of labgen's namespace (LABGEN_IMAGE_NAMESPACE),
    or dangling with labgen's labels."""
    prefix = ImageTags.of(os.environ).prefix
    found = []
    for image in client.images.list():
        labels = image.attrs.get("Config", {}).get("Labels") or {}
        if any(tag.startswith(prefix) for tag in image.tags) or COMPONENT_LABEL in labels:
            found.append(image)
    return found


def list_images(
    lab: LabSpec, options: BuildOptions | None = None, *, client: docker.DockerClient | None = None
) -> ImagesReport:
    client = client or engine_client()
    wanted = plan(lab, options, client=client)
    needed = {image.image_id for image in wanted.images if image.image_id}
    rows = []
    for image in labgen_images(client):
        labels = image.attrs.get("Config", {}).get("Labels") or {}
        rows.append(
            EngineImage(
                tags=sorted(image.tags),
                id=image.id,
                content_hash=labels.get(CONTENT_HASH_LABEL, ""),
                component=labels.get(COMPONENT_LABEL, ""),
                size=int(image.attrs.get("Size", 0)),
                needed=image.id in needed,
                created=str(image.attrs.get("Created", ""))[:19],
            )
        )
    for image in wanted.images:
        if not image.image_id:
            rows.append(EngineImage([image.tag], "", image.content_hash, image.name, 0, True))
    rows.sort(key=lambda row: (not row.needed, row.tag, row.id))
    return ImagesReport(rows, wanted)


# --------------------------------------------------------------------------- the cache key


def images_key(lab: LabSpec) -> str:
    """A key for a CI cache of the images ``lab`` needs, from what determines them, without Docker:
    labgen's version, the base recipe (suite, options, packages, the host's apt sources), every
    file of the build contexts, and the spec fields that choose images. Same key, same inputs."""
    digest = hashlib.sha256()
    choice = {
        "labgen": labgen.__version__,
        "base": base_recipe(),
        # the real Jenkins' base (Debian 11, for its OpenJDK 11), unless the spec asks for lite
        **({} if lab.jenkins.flavour == "lite" else {"java11_base": base_recipe(BULLSEYE)}),
        "haproxy": lab.haproxy.version,
        "jenkins": [lab.jenkins.flavour, lab.jenkins.version],
        "profile": lab.profile,
    }
    digest.update(json.dumps(choice, sort_keys=True).encode())
    root = images_root()
    files = [(f"images/{path.relative_to(root).as_posix()}", path) for path in sorted(root.rglob("*"))]
    files += [(name, item) for name, item in shared_entries() if isinstance(item, Path)]
    for name, path in files:
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(f"\0{name}\0{int(os.access(path, os.X_OK))}\0{sha256_file(path)}".encode())
    return digest.hexdigest()[:32]


# --------------------------------------------------------------------------- save


@dataclass
class SaveResult:
    file: Path
    images: list[dict[str, str]]
    bytes: int
    seconds: float
    key: str


def save_images(
    lab: LabSpec,
    file: Path,
    options: BuildOptions | None = None,
    *,
    client: docker.DockerClient | None = None,
    emitter: Emitter = NULL_EMITTER,
) -> SaveResult:
    """``docker save`` the images ``lab`` needs into ``file``, with their content hashes."""
    client = client or engine_client()
    started = time.monotonic()
    wanted = plan(lab, options, client=client)
    present = [image for image in wanted.images if image.image_id]
    missing = [image.tag for image in wanted.images if not image.image_id]
    if not present:
        raise LabgenError(
            "nothing to save: none of the images this lab needs is built",
            hint="build them first: `labgen build` (with the same spec options)",
        )
    if missing:
        raise LabgenError(
            f"not every image this lab needs is built (missing or out of date: {', '.join(missing)})",
            hint="build them first: `labgen build` (with the same spec options), then save",
        )
    manifest = {
        "format": SAVE_FORMAT,
        "labgen": labgen.__version__,
        "key": images_key(lab),
        "saved": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "images": [
            {"name": image.name, "tag": image.tag, "id": image.image_id, "content_hash": image.content_hash}
            for image in present
        ],
    }
    tags = [image.tag for image in present]
    emitter.emit("images.save", f"saving {len(tags)} images to {file}: {', '.join(tags)}", "step", tags=tags)
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    part = file.with_name(f".{file.name}.part")
    try:
        with part.open("wb") as handle:
            _write_saved(client, tags, manifest, handle, emitter)
        os.replace(part, file)
    finally:
        part.unlink(missing_ok=True)
    size = file.stat().st_size
    seconds = time.monotonic() - started
    emitter.emit("images.saved", f"saved {size / 1e6:.0f} MB in {seconds:.0f} s: {file}", "done", bytes=size)
    return SaveResult(file, manifest["images"], size, seconds, manifest["key"])  # type: ignore[arg-type]


def _write_saved(
    client: docker.DockerClient, tags: list[str], manifest: dict[str, Any], handle: IO[bytes], emitter: Emitter
) -> None:
    """The manifest, then every member of the engine's ``docker save`` tar stream, copied as it comes."""
    api = client.api
    # GET /images/get?names=A&names=B: one tar for several images (docker-py's get_image takes one)
    response = api._get(api._url("/images/get"), params={"names": tags}, stream=True)
    api._raise_for_status(response)
    data = json.dumps(manifest, indent=2).encode()
    copied = 0
    last = time.monotonic()
    with tarfile.open(fileobj=handle, mode="w|", format=tarfile.PAX_FORMAT) as out:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        out.addfile(info, _BytesReader(data))
        response.raw.decode_content = True
        with tarfile.open(fileobj=response.raw, mode="r|") as saved:
            for member in saved:
                source = saved.extractfile(member) if member.isfile() else None
                out.addfile(member, source)
                copied += member.size
                if time.monotonic() - last > 2:
                    last = time.monotonic()
                    emitter.emit("images.progress", f"saving: {copied / 1e6:.0f} MB", bytes=copied)


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk = self._data[self._at : end]
        self._at += len(chunk)
        return chunk


# --------------------------------------------------------------------------- load


@dataclass
class LoadResult:
    file: Path
    images: list[dict[str, str]]
    key: str
    seconds: float
    already: list[str] = field(default_factory=list)  # tags that were in the engine already


def read_manifest(file: Path) -> dict[str, Any]:
    """The ``labgen-images.json`` of a saved file; a clear error when it is not one."""
    try:
        with tarfile.open(file, mode="r|") as tar:
            member = next(iter(tar), None)
            if member is None or member.name != MANIFEST:
                raise LabgenError(
                    f"{file} is not a file saved by `labgen images save` (its first member is not {MANIFEST})"
                )
            handle = tar.extractfile(member)
            manifest = json.loads(handle.read(1 << 20) if handle else b"{}")
    except (OSError, EOFError, tarfile.TarError, ValueError, RecursionError) as exc:
        raise LabgenError(f"cannot read {file}: {exc}", hint="save one with `labgen images save FILE`") from None
    if not isinstance(manifest, dict):
        raise LabgenError(f"{file}: its manifest is not a JSON object", hint="save one with `labgen images save FILE`")
    if manifest.get("format") != SAVE_FORMAT or not isinstance(manifest.get("images"), list):
        raise LabgenError(f"{file}: format {manifest.get('format')!r} is not one this labgen reads ({SAVE_FORMAT})")
    return manifest


def load_images(
    file: Path, *, client: docker.DockerClient | None = None, emitter: Emitter = NULL_EMITTER
) -> LoadResult:
    """``docker load`` a saved file, then check every image it names: tag, id and content hash."""
    file = Path(file)
    started = time.monotonic()
    manifest = read_manifest(file)  # the file first: a missing or foreign one is bad input, Docker or not
    client = client or engine_client()
    images = manifest["images"]
    already = [image["tag"] for image in images if _matches(client, image)]
    emitter.emit(
        "images.load", f"loading {len(images)} images from {file} ({file.stat().st_size / 1e6:.0f} MB)", "step"
    )
    with file.open("rb") as handle:
        try:
            for chunk in client.api.load_image(_Progress(handle, emitter)):
                if "error" in chunk:
                    raise LabgenError(f"docker load of {file} failed: {chunk['error']}")
                if chunk.get("stream"):
                    emitter.emit("images.progress", str(chunk["stream"]).strip())
        except LabgenError:
            raise
        except Exception as exc:
            raise LabgenError(f"docker load of {file} failed: {exc}") from None
    wrong = [image["tag"] for image in images if not _matches(client, image)]
    if wrong:
        raise LabgenError(
            f"{file}: after docker load, these images are not what the file says (tag, id or content hash): "
            + ", ".join(wrong),
            hint="the file is damaged or was changed; save it again with `labgen images save`",
        )
    seconds = time.monotonic() - started
    emitter.emit("images.loaded", f"loaded and checked {len(images)} images in {seconds:.0f} s", "done")
    return LoadResult(file, images, str(manifest.get("key", "")), seconds, already)


def _matches(client: docker.DockerClient, recorded: dict[str, str]) -> bool:
    import docker.errors

    try:
        image = client.images.get(recorded["tag"])
    except docker.errors.ImageNotFound:
        return False
    labels = image.attrs.get("Config", {}).get("Labels") or {}
    return bool(image.id == recorded["id"] and labels.get(CONTENT_HASH_LABEL) == recorded["content_hash"])


class _Progress:
    """A file object that reports how much of it was read (docker load takes a while)."""

    def __init__(self, handle: IO[bytes], emitter: Emitter) -> None:
        self.handle = handle
        self.emitter = emitter
        self.total = os.fstat(handle.fileno()).st_size
        self.read_bytes = 0
        self.last = time.monotonic()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.read_bytes += len(data)
        if time.monotonic() - self.last > 2:
            self.last = time.monotonic()
            done = self.read_bytes / self.total * 100 if self.total else 100
            self.emitter.emit("images.progress", f"loading: {done:.0f} % of {self.total / 1e6:.0f} MB")
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK):
            yield chunk


# --------------------------------------------------------------------------- prune


@dataclass
class PruneResult:
    removed: list[str]
    kept: list[str]
    in_use: list[str]
    freed: int


def prune_images(
    lab: LabSpec,
    options: BuildOptions | None = None,
    *,
    client: docker.DockerClient | None = None,
    emitter: Emitter = NULL_EMITTER,
    dry_run: bool = False,
) -> PruneResult:
    """Remove labgen's images that the lab's build does not use (old versions, other flavours,
    build stages). Images a container uses are left alone (and listed as such)."""
    import docker.errors

    client = client or engine_client()
    report = list_images(lab, options, client=client)
    result = PruneResult([], [], [], 0)
    for image in report.images:
        if not image.id:
            continue
        name = f"{image.tag} ({image.id[7:19]})"
        if image.needed:
            result.kept.append(name)
            continue
        if dry_run:
            result.removed.append(name)
            result.freed += image.size
            continue
        try:
            for ref in image.tags or [image.id]:
                client.images.remove(ref, noprune=False)
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # a container (or a child image) uses it
                result.in_use.append(name)
                continue
            raise LabgenError(f"cannot remove {name}: {exc.explanation or exc}") from None
        emitter.emit("images.removed", f"removed {name}", image=image.id)
        result.removed.append(name)
        result.freed += image.size
    return result
