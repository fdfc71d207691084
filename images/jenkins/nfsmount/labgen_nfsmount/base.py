"""What the FUSE operations (metadata.py, data.py) share: the state of a mount (its session pool, attribute
cache, open handles), the helpers that run an NFS call and turn its failure into a FUSE error, and the
attributes of a path through the attribute cache."""

from __future__ import annotations

import errno
import itertools
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from labgen_nfsmount.cache import AttrCache, Attrs, CacheOptions
from labgen_nfsmount.compound import CompoundClient
from labgen_nfsmount.errors import NfsError
from labgen_nfsmount.libnfs import Ctx, NfsStat64
from labgen_nfsmount.log import dlog
from labgen_nfsmount.openstate import HeldOpen
from labgen_nfsmount.session import NfsSession, SessionPool

T = TypeVar("T")


class FileInfo(Protocol):
    """The fields of libfuse's struct fuse_file_info used here (fusepy passes it as is: raw_fi=True)."""

    fh: int
    flags: int
    direct_io: int
    keep_cache: int


class Dirty:
    """Data written through one FUSE handle and not yet sent: one contiguous extent (Jenkins writes
    files front to back), sent in large WRITEs at close, fsync, or when it grows past WRITEBACK_LIMIT."""

    __slots__ = ("data", "since", "start")

    def __init__(self, start: int) -> None:
        self.start = start
        self.data = bytearray()
        self.since = time.monotonic()  # when the extent began (old data goes out, as the kernel's flusher does)

    @property
    def end(self) -> int:
        return self.start + len(self.data)

    def absorb(self, offset: int, data: bytes) -> bool:
        """Put `data` at `offset` into the extent when it touches or overlaps it; False when it does not."""
        if not self.start <= offset <= self.end:
            return False
        rel = offset - self.start
        self.data[rel : rel + len(data)] = data
        return True


class OpenFile:
    __slots__ = ("accmode", "ahead", "append", "dirty", "held", "lock", "path", "uncommitted", "whole")

    def __init__(self, path: str, flags: int, whole: bool = False) -> None:
        self.path = path
        self.whole = whole  # created empty by this handle and written only from 0 on, in one piece
        self.accmode = flags & os.O_ACCMODE
        self.append = bool(flags & os.O_APPEND)
        self.dirty: Dirty | None = None
        self.uncommitted = False  # unstable writes sent, no COMMIT yet
        self.ahead: tuple[int, bytes, bool] | None = None  # read ahead: data of the file from an offset, eof
        self.held: HeldOpen | None = None  # the NFSv4 open of the create, closed with the first WRITE
        self.lock = threading.Lock()  # FUSE threads may use one handle at once


class OperationsBase:
    """The state and helpers of NfsOperations (operations.py), which its mixins MetadataOperations and
    DataOperations use."""

    def __init__(
        self, pool: SessionPool, direct_io: bool, fuse_error: Callable[[int], OSError], options: CacheOptions
    ) -> None:
        self.pool = pool
        self.cache = AttrCache(options)
        self.identity = pool.sessions[0].identity()
        self.lib = pool.lib
        self.direct_io = direct_io
        self.fuse_error = fuse_error  # fusepy.FuseOSError
        self.files: dict[int, OpenFile] = {}
        self._fids = itertools.count(1)  # next() is atomic under the GIL: FUSE threads share it
        self.mountpoint = "?"
        self.keepalive_interval = 0.0
        self.stop = threading.Event()

    # -- helpers --
    def _run(
        self,
        opname: str,
        func: Callable[[NfsSession, Ctx], T],
        keep_open: bool = False,
        session: NfsSession | None = None,
    ) -> T:
        """func(session, ctx) on `session` (default: an idle one of the pool)."""
        s = session or self.pool.idle()
        try:
            return s.run(opname, lambda ctx: func(s, ctx), keep_open=keep_open)
        except NfsError as e:
            raise self._fuse_error(e) from e

    def _run_retry_ok(
        self, opname: str, func: Callable[[NfsSession, Ctx], int], retry_ok: Callable[[NfsError], bool]
    ) -> int:
        s = self.pool.idle()
        try:
            return s.run(opname, lambda ctx: func(s, ctx), retry_ok)
        except NfsError as e:
            raise self._fuse_error(e) from e

    def _fuse_error(self, e: NfsError) -> OSError:
        dlog(f"{e.strerror} -> {errno.errorcode.get(e.errno or 0, e.errno)}")
        return self.fuse_error(e.errno or errno.EIO)

    @staticmethod
    def _raw(s: NfsSession) -> CompoundClient:
        raw = s.raw
        if raw is None:  # set by every successful connect, before any operation runs
            raise NfsError(errno.EIO, "not connected")
        return raw

    # -- attributes (through the attribute cache) --
    def _fetch(self, path: str) -> Attrs:
        """The attributes of `path` from the server (GETATTR), stored in the cache; ENOENT is remembered
        as a negative entry (lookupcache=all)."""
        try:
            attrs = self._run("getattr", lambda s, ctx: self._getattr(s, ctx, path), keep_open=True)
        except OSError as e:
            if e.errno == errno.ENOENT:
                self.cache.store_missing(path)
            raise
        self.cache.store(path, attrs)
        return attrs

    def _getattr(self, s: NfsSession, ctx: Ctx, path: str) -> Attrs:
        """GETATTR with our own COMPOUND; libnfs's stat when the answer cannot be told (an owner name)."""
        attrs = self._raw(s).getattr(path)[1]
        return attrs if attrs is not None else _attrs(s.lstat(ctx, path))

    def _store(self, path: str, attrs: Attrs | None) -> None:
        if attrs is not None:
            self.cache.store(path, attrs)

    def _attrs(self, path: str) -> Attrs:
        """The attributes of `path` as the kernel NFS client would have them: cached ones within their
        timeout, a negative entry while the parent is unchanged, else asked from the server."""
        attrs = self.cache.fresh(path)
        if attrs is not None:
            return attrs
        parent = self.cache.missing_parent(path)
        if parent is not None and path != parent and self.cache.known_missing(path, self._attrs(parent)):
            raise self.fuse_error(errno.ENOENT)
        return self._fetch(path)

    # -- open handles --
    def _drop_read_ahead(self, path: str) -> None:
        """This mount changed `path`: no handle may answer a read from what it fetched before."""
        for of in list(self.files.values()):
            if of.path == path:
                of.ahead = None


def _ns(sec: int, nsec: int) -> int:
    return sec * 10**9 + nsec


def _attrs(st: NfsStat64) -> Attrs:
    return {
        "st_mode": st.nfs_mode,
        "st_ino": st.nfs_ino,
        "st_nlink": st.nfs_nlink,
        "st_uid": st.nfs_uid,
        "st_gid": st.nfs_gid,
        "st_rdev": st.nfs_rdev,
        "st_size": st.nfs_size,
        "st_blksize": st.nfs_blksize or 4096,
        "st_blocks": st.nfs_blocks or (st.nfs_used + 511) // 512,
        "st_atime": _ns(st.nfs_atime, st.nfs_atime_nsec),
        "st_mtime": _ns(st.nfs_mtime, st.nfs_mtime_nsec),
        "st_ctime": _ns(st.nfs_ctime, st.nfs_ctime_nsec),
    }
