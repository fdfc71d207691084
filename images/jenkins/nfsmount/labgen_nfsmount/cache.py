"""The kernel NFS client's caching rules (nfs(5)), as pure code: attribute timeouts between
acregmin/acregmax (files) and acdirmin/acdirmax (directories), doubled while the attributes do
not change and reset to the minimum when they do; negative lookups (lookupcache); directory
listings valid while their directory's attributes are; close-to-open (cto): an open always
fetches the attributes again and keeps the cached data only when they did not change.

Everything is keyed by path (the operations are path-based).  The FUSE layer lets the kernel keep
attributes only as long as these rules would answer them (kernelfuse.py: what is left of an entry's
timeout, at most 1 s, forgotten at an open that finds a change; nothing with --fuse libfuse) and no
missing names, so the rules below decide when the server is asked again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from labgen.wire.nfs_options import CacheOptions, parse_mount_options

Attrs = dict[str, int]  # a FUSE stat dict: st_mode, st_size, st_mtime (ns), st_ctime (ns), ...
Stamp = tuple[int, int, int]  # what tells a change: (mtime ns, ctime ns, size)
__all__ = ["AttrCache", "Attrs", "CacheOptions", "Stamp", "parse_mount_options", "stamp"]


CONTENT_MAX_FILE = 256 * 1024  # bytes: files this mount wrote that it keeps whole (config.xml, build.xml...)
CONTENT_MAX_TOTAL = 32 << 20


def stamp(attrs: Attrs) -> Stamp:
    return (attrs.get("st_mtime", 0), attrs.get("st_ctime", 0), attrs.get("st_size", 0))


def _data_key(st: Stamp) -> tuple[int, int]:
    """What tells that a file's data changed: mtime and size."""
    return (st[0], st[2])


def parent_of(path: str) -> str:
    head = path.rstrip("/").rpartition("/")[0]
    return head or "/"


@dataclass
class _Entry:
    attrs: Attrs
    fetched: float
    timeo: float


@dataclass
class _Negative:
    parent_stamp: Stamp  # the parent directory's when the name was found missing


@dataclass
class _Listing:
    names: list[str]
    dir_stamp: Stamp


class _PathIndex:
    """Every path a table of the cache holds, by parent directory, with their ancestors: the paths under a
    renamed or removed directory are found by walking down from it, not by scanning every table (a home of
    thousands of jobs holds tens of thousands of entries, and every atomic write is a rename)."""

    def __init__(self) -> None:
        self._children: dict[str, set[str]] = {}

    def add(self, path: str) -> None:
        while path != "/":
            parent = parent_of(path)
            children = self._children.setdefault(parent, set())
            if path in children:
                return  # its ancestors are in already
            children.add(path)
            path = parent

    def pop_tree(self, path: str) -> list[str]:
        """`path` and every path under it, taken out of the index."""
        self._children.get(parent_of(path), set()).discard(path)
        found, stack = [path], [path]
        while stack:
            below = self._children.pop(stack.pop(), ())
            found.extend(below)
            stack.extend(below)
        return found


@dataclass
class AttrCache:
    """Attributes, negative lookups and directory listings by path, with the kernel's rules; thread-safe."""

    options: CacheOptions = field(default_factory=CacheOptions)
    clock: Callable[[], float] = time.monotonic
    _attrs: dict[str, _Entry] = field(default_factory=dict)
    _negative: dict[str, _Negative] = field(default_factory=dict)
    _listings: dict[str, _Listing] = field(default_factory=dict)
    _data: dict[str, tuple[int, int]] = field(default_factory=dict)  # (mtime, size) of the cached data
    # whole small files as this mount wrote them, while their (mtime, size) is the data's: the FUSE
    # kernel module keeps only full pages of what was written, so the tail of a small file would be
    # read back from the server where a kernel NFS client serves it from its page cache
    _content: dict[str, tuple[tuple[int, int], bytes]] = field(default_factory=dict)
    _content_bytes: int = 0
    _index: _PathIndex = field(default_factory=_PathIndex)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- attributes --
    def fresh(self, path: str) -> Attrs | None:
        """The cached attributes of `path` if they are still within their timeout (stat/lookup may use them)."""
        if self.options.lookupcache == "none":
            return None
        with self._lock:
            entry = self._attrs.get(path)
            if entry is None or self.clock() - entry.fetched >= entry.timeo:
                return None
            return entry.attrs

    def remaining(self, path: str) -> float:
        """Seconds the cached attributes of `path` stay within their timeout (0: none, or lookupcache=none):
        how long the kernel may keep them too."""
        if self.options.lookupcache == "none":
            return 0.0
        with self._lock:
            entry = self._attrs.get(path)
            if entry is None:
                return 0.0
            return max(0.0, entry.timeo - (self.clock() - entry.fetched))

    def cached(self, path: str) -> Attrs | None:
        """The last attributes seen for `path`, however old (no decision may rest on them alone)."""
        with self._lock:
            entry = self._attrs.get(path)
            return entry.attrs if entry else None

    def store(self, path: str, attrs: Attrs) -> None:
        """Attributes just fetched from the server: the timeout doubles (up to the maximum) while they are
        unchanged, and goes back to the minimum when they changed."""
        is_dir = (attrs.get("st_mode", 0) & 0o170000) == 0o040000
        low, high = self.options.timeouts(is_dir)
        with self._lock:
            self._negative.pop(path, None)
            old = self._attrs.get(path)
            unchanged = old is not None and stamp(old.attrs) == stamp(attrs)
            timeo = min(max(old.timeo * 2, low), high) if old is not None and unchanged else low
            self._attrs[path] = _Entry(attrs, self.clock(), timeo)
            self._index.add(path)

    # -- negative lookups --
    def store_missing(self, path: str) -> None:
        """`path` was just found missing: remembered (lookupcache=all) against its parent's cached attributes."""
        if self.options.lookupcache != "all":
            return
        parent = parent_of(path)
        with self._lock:
            self._attrs.pop(path, None)
            entry = self._attrs.get(parent)
            if entry is not None:
                self._negative[path] = _Negative(stamp(entry.attrs))
                self._index.add(path)

    def missing_parent(self, path: str) -> str | None:
        """The parent whose fresh attributes decide whether `path` is still missing, when a negative entry
        exists (then call known_missing with them)."""
        with self._lock:
            return parent_of(path) if path in self._negative else None

    def known_missing(self, path: str, parent_attrs: Attrs) -> bool:
        """True while the parent directory has not changed since `path` was found missing (the kernel's
        negative dentry check); a changed parent drops the entry."""
        with self._lock:
            neg = self._negative.get(path)
            if neg is None:
                return False
            if neg.parent_stamp == stamp(parent_attrs):
                return True
            del self._negative[path]
            return False

    # -- directory listings --
    def listing(self, path: str, dir_attrs: Attrs) -> list[str] | None:
        """The cached listing of directory `path` if the directory has not changed since it was read."""
        with self._lock:
            entry = self._listings.get(path)
            if entry is None or entry.dir_stamp != stamp(dir_attrs):
                return None
            return entry.names

    def store_listing(self, path: str, names: list[str], dir_attrs: Attrs) -> None:
        with self._lock:
            self._listings[path] = _Listing(names, stamp(dir_attrs))
            self._index.add(path)

    # -- file data (close-to-open) --
    def data_valid(self, path: str, attrs: Attrs) -> bool:
        """On open: may the kernel keep the data it cached of `path`?  Only when the attributes just
        fetched are the ones the cached data belongs to (cto); then they become the data's again.
        Data is judged by mtime and size, as the kernel client does (a rename or chmod changes the
        ctime, not the data)."""
        with self._lock:
            now = _data_key(stamp(attrs))
            valid = self._data.get(path) == now
            self._data[path] = now
            self._index.add(path)
            return valid

    def data_written(self, path: str, after: Stamp | None) -> None:
        """Our own writes reached the server; `after` is the file's stamp right after them (None: unknown,
        then the next open drops the cached data)."""
        with self._lock:
            if after is None:
                self._data.pop(path, None)
            else:
                self._data[path] = _data_key(after)
                self._index.add(path)

    def remember_content(self, path: str, after: Stamp, data: bytes) -> None:
        """This mount just wrote all of `path`'s `data`; the server's stamp after it is `after`."""
        if len(data) > CONTENT_MAX_FILE:
            return
        with self._lock:
            self._forget_content(path)
            self._content[path] = (_data_key(after), data)
            self._content_bytes += len(data)
            self._index.add(path)
            while self._content_bytes > CONTENT_MAX_TOTAL:
                self._forget_content(next(iter(self._content)))

    def content(self, path: str) -> bytes | None:
        """The whole data of `path` as this mount wrote it, while it is still the data an open just
        judged valid (data_valid); None when it has to be read from the server."""
        with self._lock:
            item = self._content.get(path)
            if item is None or self._data.get(path) != item[0]:
                return None
            return item[1]

    def _forget_content(self, path: str) -> None:
        item = self._content.pop(path, None)
        if item is not None:
            self._content_bytes -= len(item[1])

    # -- our own changes --
    def changed(self, *paths: str) -> None:
        """We changed `paths` (and so their parent directories): forget what was cached about them."""
        with self._lock:
            for path in paths:
                for key in (path, parent_of(path)):
                    self._attrs.pop(key, None)
                    self._listings.pop(key, None)
                self._negative.pop(path, None)
                self._data.pop(path, None)
                self._forget_content(path)

    def attrs_changed(self, path: str) -> None:
        """We changed attributes of `path` (chmod, utimes...): its directory did not change."""
        with self._lock:
            self._attrs.pop(path, None)

    def renamed(self, old: str, new: str) -> None:
        """We renamed `old` to `new` (replacing what `new` was): the data cached for `old` is now `new`'s."""
        with self._lock:
            old_paths = self._index.pop_tree(old)
            moved = {new + key[len(old) :]: self._data[key] for key in old_paths if key in self._data}
            contents = {new + key[len(old) :]: self._content[key] for key in old_paths if key in self._content}
            self._forget_tree(old, old_paths)
            self._forget_tree(new, self._index.pop_tree(new))
            self._data.update(moved)
            for key, item in contents.items():
                self._content[key] = item
                self._content_bytes += len(item[1])
            for key in (*moved, *contents):
                self._index.add(key)

    def changed_tree(self, path: str) -> None:
        """`path` was renamed or removed: forget it, everything under it, and its parent."""
        with self._lock:
            self._forget_tree(path, self._index.pop_tree(path))

    def _forget_tree(self, path: str, paths: list[str]) -> None:
        for key in paths:
            for table in (self._attrs, self._negative, self._listings, self._data):
                table.pop(key, None)
            self._forget_content(key)
        self._attrs.pop(parent_of(path), None)
        self._listings.pop(parent_of(path), None)
