"""Files written whole or not at all, and their checksums."""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path


def write_atomic(
    path: Path, data: bytes, *, mode: int | None = None, fsync: bool = True, fsync_dir: bool = True
) -> None:
    """Temporary file beside `path`, fsync, rename over `path`, fsync the directory.

    Readers see the old content or the new one, never a part; on error `path` is untouched. The
    temporary name is random, so writers in several containers (same pid) never share one. A new
    file gets `mode` (default 0o666 less the umask, as open() gives)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666 if mode is None else mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)  # open() applied the umask
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync_dir:
        with contextlib.suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def format_seconds(value: float | None, digits: int = 2) -> str:
    """`1.23 s`, or `never` for a moment that did not come."""
    return "never" if value is None else f"{value:.{digits}f} s"
