"""Where labgen keeps lab state (generated files, secrets, event log) and its download cache,
and the checks every path a user gives passes before anything is written."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from labgen.errors import BadPath, BadSpecField

NAME_MAX = 255  # bytes in one path component (Linux)
PATH_MAX = 4096  # bytes in a whole path (Linux)
SYSTEM_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


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
    if path.is_dir():
        raise BadPath(f"{option} {path}: is a folder; give a file name (e.g. {path / 'labgen.yaml'})")
    parent = path.parent
    if not parent.exists():
        raise BadPath(f"{option} {path}: the folder {parent} does not exist", hint=f"create it: mkdir -p {parent}")
    _writable_folder(parent, option, path)
