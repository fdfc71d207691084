"""Where labgen keeps lab state (generated files, secrets, event log) and its download cache,
and the checks every path a user gives passes before anything is written."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from labgen.errors import BadPath, BadSpecField, LabgenError, SpecError, os_problem

NAME_MAX = 255  # bytes in one path component (Linux)
PATH_MAX = 4096  # bytes in a whole path (Linux)
SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))
# Where labgen never writes lab files: the system's own folders (and anything in them) ...
SYSTEM_TREES = tuple(
    Path(p)
    for p in (
        *("/etc", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/run", "/var/lib"),
        *("/var/log", "/var/cache", "/var/spool", "/var/run", "/var/lock", "/var/mail", "/var/backups"),
    )
)
# ... and folders that hold other folders, not files (writing into them itself is a mistake)
SYSTEM_FOLDERS = tuple(Path(p) for p in ("/", "/home", "/root", "/var", "/opt", "/srv", "/mnt", "/media", "/tmp"))


def state_root() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "labgen" / "labs"


def lab_dir(name: str) -> Path:
    """The lab's state folder: compose.yaml, configs, secrets.env, events.jsonl, reports."""
    if not name or "/" in name or name in (".", "..") or "\0" in name:
        raise BadSpecField(f"{name!r:.60} is not a lab name")
    return state_root() / name


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/labgen`` (``~/.cache/labgen`` when unset or not absolute)."""
    base = os.environ.get("XDG_CACHE_HOME") or ""
    root = Path(base) if base.strip() and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "labgen"


# ---- paths from the command line -------------------------------------------------------------------


def user_path(raw: str, option: str) -> Path:
    """A path as typed: not empty, not over-long, not under /proc, /sys or /dev."""
    if not raw.strip():
        raise BadPath(f"{option}: empty path; give a file or folder name (use . for this folder)")
    if "\0" in raw:
        raise BadPath(f"{option}: a path cannot contain a NUL character")
    path = Path(raw).expanduser()
    encoded = os.fsencode(path)
    if len(encoded) >= PATH_MAX or any(len(os.fsencode(part)) > NAME_MAX for part in path.parts):
        raise BadPath(
            f"{option}: path too long ({len(encoded)} bytes); allowed: {NAME_MAX} bytes per name, {PATH_MAX} in all"
        )
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise BadPath(f"{option} {raw}: cannot resolve the path: {exc}") from None
    for root in SYSTEM_ROOTS:
        if resolved == root or root in resolved.parents:
            raise BadPath(f"{option} {raw}: {root} is the kernel's, not a place for lab files")
    return path


def refuse_system_folder(path: Path, option: str) -> None:
    """Lab files never go into `/`, /etc, /usr and the like (root could write there)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:
        raise SpecError(f"{option} {path}: cannot resolve the path: {exc}") from None
    for tree in SYSTEM_TREES:
        if resolved == tree or tree in resolved.parents:
            raise SpecError(
                f"{option} {path}: {tree} is the system's, not a place for lab files",
                hint="choose a folder of your own, e.g. ./my-lab",
            )
    if resolved in SYSTEM_FOLDERS:
        raise SpecError(
            f"{option} {path}: {resolved} holds folders, not a lab's files", hint="choose a folder in it, e.g. ./my-lab"
        )


def _writable_folder(folder: Path, option: str, wanted: Path) -> None:
    """`folder` exists: it must be a folder labgen may create files in."""
    if not folder.is_dir():
        raise BadPath(f"{option} {wanted}: {folder} is a file, but a folder is needed there")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadPath(
            f"{option} {wanted}: {folder} is read-only for you",
            hint="choose a folder you may write to (or fix its permissions)",
        )


def check_output_folder(path: Path, option: str, files: Iterable[str] = ()) -> None:
    """`path` is (or can become) a folder in which each of `files` (relative paths) can be
    written; SpecError naming the obstacle otherwise. Nothing is created."""
    refuse_system_folder(path, option)
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():  # dangling
            raise BadPath(f"{option} {path}: {ancestor} is a broken symbolic link")
        ancestor = ancestor.parent
    _writable_folder(ancestor, option, path)
    for rel in files:
        target = path / rel
        for folder in reversed(target.relative_to(path).parents):
            here = path / folder
            if here.exists():
                _writable_folder(here, option, path)
        if target.is_dir():
            raise BadPath(f"{option} {path}: {target} is a folder, but labgen writes a file there")


def check_output_file(path: Path, option: str) -> None:
    """`path` can be written as a file: its folder exists and is writable; it is not a folder."""
    refuse_system_folder(path.parent, option)
    if path.is_dir():
        raise BadPath(f"{option} {path}: is a folder; give a file name (e.g. {path / 'labgen.yaml'})")
    parent = path.parent
    if not parent.exists():
        raise BadPath(f"{option} {path}: the folder {parent} does not exist", hint=f"create it: mkdir -p {parent}")
    _writable_folder(parent, option, path)


# ---- files labgen reads -------------------------------------------------------------------------------

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}
_KINDS.update({stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"})


def read_regular_file(path: Path, limit: int, what: str, error: type[LabgenError] = SpecError) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes.

    Opened without blocking (a FIFO would wait for a writer for ever), checked on the open file
    (a symbolic link to /dev/zero is a device, a sparse file of 3 GB is too big) before a byte is
    read, and read at most `limit` + 1 bytes (a file growing meanwhile). `error` is raised with
    what is wrong; an OSError becomes `os_problem`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise os_problem(exc, f"read {what}", path) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise error(f"{path}: {kind}, not a regular file; {what} must be a regular file")
        if info.st_size > limit:
            raise error(f"{path}: {info.st_size} bytes; {what} is at most {limit} bytes")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise error(f"{path}: more than {limit} bytes; {what} is at most {limit} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise os_problem(exc, f"read {what}", path) from None
    finally:
        os.close(fd)
