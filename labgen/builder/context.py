"""Build contexts: which files go in (``images/`` and what labgen shares with the image programs),
their content hash, and the tar the engine is sent."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import IO

import labgen
from labgen.errors import BuildFailed
from labgen.wire.files import sha256_file

Entry = tuple[str, Path | bytes]  # (path in the build context, a file or its bytes)
COMMON_DIR = "common"  # under images/: the shell the HAProxy and Jenkins entrypoints share


def images_root() -> Path:
    """The build contexts: ``labgen/_data/images`` in a wheel, else the repo's ``images/``."""
    packaged = Path(labgen.__file__).resolve().parent / "_data" / "images"
    if packaged.is_dir():
        return packaged
    repo = Path(labgen.__file__).resolve().parent.parent / "images"
    if repo.is_dir():
        return repo
    raise BuildFailed(f"labgen's image build files are missing (looked in {packaged} and {repo})")


def tree(folder: Path, prefix: str = "") -> list[Entry]:
    """Every file under ``folder`` (sorted), as (path in the build context, file)."""
    if not folder.is_dir():
        raise BuildFailed(f"build files missing: {folder} is not a folder")
    entries: list[Entry] = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_dir() or "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        entries.append(((f"{prefix}/" if prefix else "") + rel.as_posix(), path))
    return entries


def shared_entries() -> list[Entry]:
    """What the image programs share with labgen, as `labgen/` in a build context: the wire
    helpers and the layout's names (both stdlib only). In the image `labgen` and `labgen.model`
    are bare namespaces (empty `__init__.py`): the rest of labgen is not there."""
    package = Path(labgen.__file__).resolve().parent
    return [
        ("labgen/__init__.py", b""),
        *tree(package / "wire", "labgen/wire"),
        ("labgen/model/__init__.py", b""),
        ("labgen/model/names.py", package / "model" / "names.py"),
    ]


def entrypoint_helpers(root: Path, folder: str) -> list[Entry]:
    """What the images' entrypoints source (``images/common`` under ``root``), as ``folder/`` in a
    build context: the Dockerfile copies that folder where its entrypoint looks."""
    return tree(root / COMMON_DIR, folder)


def context_hash(entries: list[Entry], buildargs: Mapping[str, str], base_id: str, dockerfile: str) -> str:
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


def context_tar(entries: list[Entry]) -> IO[bytes]:
    """The build context as an uncompressed tar in a spooled temporary file."""
    spool = tempfile.SpooledTemporaryFile(max_size=64 << 20, dir=big_tmp())  # noqa: SIM115 - returned open
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


def big_tmp() -> str | None:
    """A temp dir for a ~100 MB tarball: $TMPDIR, else /var/tmp (often not a small tmpfs)."""
    if os.environ.get("TMPDIR"):
        return None
    return "/var/tmp" if os.access("/var/tmp", os.W_OK) else None
