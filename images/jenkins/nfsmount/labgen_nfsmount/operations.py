"""The FUSE file system: fusepy operations on top of an NfsSession."""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol, TypeVar

from labgen_nfsmount.cache import AttrCache, Attrs, CacheOptions, Stamp, parent_of, stamp
from labgen_nfsmount.compound import CompoundClient
from labgen_nfsmount.errors import NfsError
from labgen_nfsmount.libnfs import Ctx, Handle, NfsStat64, NfsStatvfs64, enc
from labgen_nfsmount.log import dlog, log
from labgen_nfsmount.session import NfsSession, SessionPool
from labgen_nfsmount.threadstate import keep_thread_state
from labgen_nfsmount.xdr import SetTime

T = TypeVar("T")

UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


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


WRITEBACK_LIMIT = 4 << 20  # bytes buffered per handle before they are sent (unstable, committed at close)
# seconds buffered data may wait for close/fsync: the next write sends it (the kernel's dirty_expire_centisecs)
WRITEBACK_EXPIRE = 30.0


READAHEAD = 1 << 20  # bytes fetched at once when a handle reads a file front to back
OPEN_READ = 64 * 1024  # bytes read with the attributes at a read-only open (close-to-open in one round trip)


class OpenFile:
    __slots__ = ("accmode", "ahead", "append", "dirty", "lock", "path", "uncommitted", "whole")

    def __init__(self, path: str, flags: int, whole: bool = False) -> None:
        self.path = path
        self.whole = whole  # created empty by this handle and written only from 0 on, in one piece
        self.accmode = flags & os.O_ACCMODE
        self.append = bool(flags & os.O_APPEND)
        self.dirty: Dirty | None = None
        self.uncommitted = False  # unstable writes sent, no COMMIT yet
        self.ahead: tuple[int, bytes, bool] | None = None  # read ahead: data of the file from an offset, eof
        self.lock = threading.Lock()  # FUSE threads may use one handle at once


def import_fusepy() -> ModuleType | None:
    for name in ("fusepy", "fuse"):  # Debian python3-fusepy, PyPI fusepy
        try:
            mod = __import__(name)
        except ImportError:
            continue
        if hasattr(mod, "FUSE") and hasattr(mod, "Operations"):
            return mod
    return None


def make_operations(
    fusepy: ModuleType, pool: SessionPool, direct_io: bool, options: CacheOptions | None = None
) -> NfsOperations:
    """NfsOperations on top of fusepy.Operations (of whichever module import_fusepy() found)."""
    cls = type("NfsOperations", (NfsOperations, fusepy.Operations), {})
    ops: NfsOperations = cls(pool, direct_io, fusepy.FuseOSError, options or CacheOptions())
    return ops


def _ns(sec: int, nsec: int) -> int:
    return sec * 10**9 + nsec


def _accept(errno_value: int) -> Callable[[NfsError], bool]:
    """retry_ok for NfsSession.run: the retry failing with `errno_value` means the first attempt did the work."""
    return lambda e: e.errno == errno_value


class NfsOperations:
    """The FUSE operations (fusepy, raw_fi=True).  A mixin: make_operations() adds fusepy.Operations as base,
    which dispatches the calls and answers those not defined here (mknod, opendir...)."""

    use_ns = True  # times as integer nanoseconds
    flag_utime_omit_ok = 1  # we handle UTIME_NOW / UTIME_OMIT
    # not offered: libfuse answers ENOSYS and the kernel stops asking
    # (xattrs), locks stay local to this mount (no NFSv4 LOCK)
    getxattr = setxattr = listxattr = removexattr = None
    lock = ioctl = bmap = None

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

    def __call__(self, op: str, *args: Any) -> Any:
        """fusepy's dispatch, on a thread state kept for libfuse's worker thread."""
        keep_thread_state()
        method = getattr(self, op, None)
        if method is None:
            raise self.fuse_error(errno.EFAULT)
        return method(*args)

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

    def _path_op(
        self, opname: str, cfunc: Callable[..., int], path: str, *args: int, retry_ok: Callable[[NfsError], bool]
    ) -> int:
        def op(s: NfsSession, ctx: Ctx) -> int:
            return s.check(cfunc(ctx, enc(path), *args), opname, path)

        return self._run_retry_ok(opname, op, retry_ok)

    def _file(self, fi: FileInfo) -> OpenFile:
        of = self.files.get(fi.fh)
        if of is None:
            raise self.fuse_error(errno.EBADF)
        return of

    def _new_fid(self) -> int:
        return next(self._fids)

    def _with_file(
        self, opname: str, fi: FileInfo, path: str, accmode: int, io: Callable[[NfsSession, Ctx, Handle], T]
    ) -> T:
        """io(session, ctx, nfsfh) on the open of FUSE handle `fi` (in the session the handle belongs to),
        opened anew when needed."""
        return self._run(
            opname,
            lambda s, ctx: s.with_file(ctx, fi.fh, path, accmode, lambda fh: io(s, ctx, fh)),
            keep_open=True,
            session=self.pool.for_handle(fi.fh),
        )

    # -- lifecycle --
    def init(self, path: str) -> None:
        # started here, in the serving (possibly daemonized) process
        pool = self.pool
        if self.keepalive_interval > 0:
            for i, session in enumerate(pool.sessions):
                threading.Thread(
                    target=session.keepalive,
                    args=(self.keepalive_interval, self.stop),
                    name=f"nfs-keepalive-{i}",
                    daemon=True,
                ).start()
        first = pool.sessions[0]
        log(
            f"mounted nfs://{first.server}{first.export} on {self.mountpoint} "
            f"(NFSv4, {len(pool.sessions)} connections, client id {first.client_name})"
        )

    def destroy(self, path: str) -> None:
        self.stop.set()
        self.pool.close()
        log(f"unmounted {self.mountpoint}")

    # -- metadata (through the attribute cache) --
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

    def getattr(self, path: str, fh: FileInfo | None = None) -> dict[str, int]:
        if fh is not None and fh.fh in self.files:
            path = self.files[fh.fh].path
        attrs = self._attrs(path)
        dirty_end = max((of.dirty.end for of in list(self.files.values()) if of.path == path and of.dirty), default=0)
        if dirty_end > attrs["st_size"]:
            return {**attrs, "st_size": dirty_end}  # the size our buffered writes give it, as on kernel NFS
        return attrs

    def opendir(self, path: str) -> int:
        # close-to-open holds for directories too: the kernel client asks the server for a directory's
        # attributes when it is opened (nfs_lookup_verify_inode, LOOKUP_OPEN), so a listing or a missing
        # name cached before the other master changed the directory is not reused (nocto: it may be)
        # (the attributes and the listing in one COMPOUND, used by the readdir that follows)
        if self.cache.options.cto and self._read_listing(path) is None:
            self._fetch(path)
        return 0

    def readdir(self, path: str, fh: FileInfo) -> list[str]:
        dir_attrs = self._attrs(path)
        names = self.cache.listing(path, dir_attrs)
        if names is None:
            names = self._read_listing(path)
        if names is None:
            names = self._run("readdir", lambda s, ctx: self._list_dir(s, ctx, path), keep_open=True)
            self.cache.store_listing(path, names, dir_attrs)
        return [".", "..", *names]

    def _read_listing(self, path: str) -> list[str] | None:
        """The directory's attributes and entries, each entry with its attributes (NFSv4 READDIR, as the
        kernel's READDIRPLUS fills its attribute cache), in one COMPOUND; None when they cannot be told."""
        try:
            dir_attrs, entries = self._run("readdir", lambda s, ctx: self._raw(s).listing(path), keep_open=True)
        except OSError as e:
            if e.errno == errno.ENOENT:
                self.cache.store_missing(path)
                raise
            return None
        if dir_attrs is None:
            return None
        self.cache.store(path, dir_attrs)
        names = [name for name, _ in entries]
        self.cache.store_listing(path, names, dir_attrs)
        prefix = path.rstrip("/") + "/"
        for name, attrs in entries:
            self._store(prefix + name, attrs)
        return names

    def _list_dir(self, s: NfsSession, ctx: Ctx, path: str) -> list[str]:
        lib = self.lib
        dirp = ctypes.c_void_p()
        s.check(lib.nfs_opendir(ctx, enc(path), ctypes.byref(dirp)), "opendir", path)
        names = []
        try:
            while True:
                ent = lib.nfs_readdir(ctx, dirp)
                if not ent:
                    break
                name = ent.contents.name.decode("utf-8", "surrogateescape")
                if name not in (".", ".."):
                    names.append(name)
        finally:
            lib.nfs_closedir(ctx, dirp)
        return names

    def statfs(self, path: str) -> dict[str, int]:
        def op(s: NfsSession, ctx: Ctx) -> NfsStatvfs64:
            sv = NfsStatvfs64()
            s.check(self.lib.nfs_statvfs64(ctx, enc(path), ctypes.byref(sv)), "statfs", path)
            return sv

        try:
            sv = self._run("statfs", op, keep_open=True)
        except OSError:
            return {"f_bsize": 4096, "f_frsize": 4096, "f_namemax": 255}
        return {
            "f_bsize": sv.f_bsize or 4096,
            "f_frsize": sv.f_frsize or sv.f_bsize or 4096,
            "f_blocks": sv.f_blocks,
            "f_bfree": sv.f_bfree,
            "f_bavail": sv.f_bavail,
            "f_files": sv.f_files,
            "f_ffree": sv.f_ffree,
            "f_favail": sv.f_favail,
            "f_namemax": sv.f_namemax or 255,
        }

    def readlink(self, path: str) -> str:
        def op(s: NfsSession, ctx: Ctx) -> str:
            buf = ctypes.create_string_buffer(4097)
            s.check(self.lib.nfs_readlink(ctx, enc(path), buf, 4096), "readlink", path)
            return buf.value.decode("utf-8", "surrogateescape")

        return self._run("readlink", op, keep_open=True)

    # -- namespace --
    def _changing(self, opname: str, run: Callable[[], int], *paths: str) -> int:
        """run() changes `paths` (entries of their directories): the cache forgets them, also on failure."""
        try:
            return run()
        finally:
            self.cache.changed(*paths)

    def mkdir(self, path: str, mode: int) -> int:
        """One COMPOUND, which brings back the new directory's attributes and its parent's: the kernel
        looks the new directory up at once."""
        made: list[Attrs | None] = []

        def op(s: NfsSession, ctx: Ctx) -> int:
            made[:] = self._raw(s).mkdir(path, mode & 0o7777)
            return 0

        self._changing("mkdir", lambda: self._run_retry_ok("mkdir", op, _accept(errno.EEXIST)), path)
        if made:
            self._store(parent_of(path), made[0])
            self._store(path, made[1])
        return 0

    def rmdir(self, path: str) -> int:
        # the kernel has checked that path is a directory (NFSv4 REMOVE removes any type)
        try:
            return self._path_op("rmdir", self.lib.nfs_rmdir, path, retry_ok=_accept(errno.ENOENT))
        finally:
            self.cache.changed_tree(path)

    def unlink(self, path: str) -> int:
        return self._changing(
            "unlink", lambda: self._path_op("unlink", self.lib.nfs_unlink, path, retry_ok=_accept(errno.ENOENT)), path
        )

    def rename(self, old: str, new: str) -> int:
        """One COMPOUND, which brings back both directories' attributes and the renamed object's."""
        after: list[Attrs | None] = []

        def op(s: NfsSession, ctx: Ctx) -> int:
            after[:] = self._raw(s).rename(old, new)
            return 0

        self._write_back_under(old)  # our WRITEs go by name
        try:
            self._run_retry_ok("rename", op, _accept(errno.ENOENT))
        finally:
            self.cache.renamed(old, new)
        if after:
            source_dir, target_dir, renamed = after
            self._store(parent_of(old), source_dir)
            self._store(parent_of(new), target_dir)
            self._store(new, renamed)
        prefix = old.rstrip("/") + "/"
        for of in list(self.files.values()):
            if of.path == old:
                of.path = new
            elif of.path.startswith(prefix):
                of.path = new.rstrip("/") + of.path[len(old.rstrip("/")) :]
        return 0

    def symlink(self, target: str, source: str) -> int:
        # fusepy: create the link `target`, pointing to `source`
        def op(s: NfsSession, ctx: Ctx) -> int:
            return s.check(self.lib.nfs_symlink(ctx, enc(source), enc(target)), "symlink", target)

        return self._changing("symlink", lambda: self._run_retry_ok("symlink", op, _accept(errno.EEXIST)), target)

    def link(self, target: str, source: str) -> int:
        # fusepy: create the hard link `target` to the file `source`
        def op(s: NfsSession, ctx: Ctx) -> int:
            return s.check(self.lib.nfs_link(ctx, enc(source), enc(target)), "link", target)

        return self._changing("link", lambda: self._run("link", op), target, source)

    # -- attributes --
    @staticmethod
    def _raw(s: NfsSession) -> CompoundClient:
        raw = s.raw
        if raw is None:  # set by every successful connect, before any operation runs
            raise NfsError(errno.EIO, "not connected")
        return raw

    def _setattr(self, opname: str, path: str, change: Callable[[CompoundClient], int]) -> int:
        """change(raw): a SETATTR sent with our own RPC connection, which leaves libnfs's open state alone.
        Buffered data of `path` goes out first (as the kernel writes back before a SETATTR)."""
        self._write_back_under(path)
        try:
            return self._run(opname, lambda s, ctx: change(self._raw(s)), keep_open=True)
        finally:
            self.cache.attrs_changed(path)

    def chmod(self, path: str, mode: int) -> int:
        return self._setattr("chmod", path, lambda raw: raw.setattr(path, mode=mode & 0o7777))

    def chown(self, path: str, uid: int, gid: int) -> int:
        new_uid = None if uid in (-1, 0xFFFFFFFF) else uid
        new_gid = None if gid in (-1, 0xFFFFFFFF) else gid
        if new_uid is None and new_gid is None:
            return 0
        return self._setattr("chown", path, lambda raw: raw.setattr(path, uid=new_uid, gid=new_gid))

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        # False: leave unchanged, None: server's current time
        atime: SetTime
        mtime: SetTime
        if times is None:
            atime = mtime = None
        else:
            atime, mtime = [False if v == UTIME_OMIT else None if v == UTIME_NOW else v for v in times]
        return self._setattr("utimens", path, lambda raw: raw.setattr(path, atime=atime, mtime=mtime))

    def truncate(self, path: str, length: int, fh: FileInfo | None = None) -> int:
        if fh is not None and fh.fh in self.files:
            path = self.files[fh.fh].path
        ret = self._setattr("truncate", path, lambda raw: raw.setattr(path, size=length))
        self._drop_read_ahead(path)
        self.cache.data_written(path, None)
        return ret

    # -- files --
    def create(self, path: str, mode: int, fi: FileInfo) -> int:
        flags = fi.flags
        accmode = flags & os.O_ACCMODE
        fid = self._new_fid()

        def op(session: NfsSession, ctx: Ctx) -> int:
            fhp = ctypes.c_void_p()
            ret = self.lib.nfs_create(ctx, enc(path), accmode | (flags & os.O_EXCL), mode & 0o7777, ctypes.byref(fhp))
            if ret == -errno.EEXIST and not flags & os.O_EXCL:
                # created by someone else since the kernel's lookup: open(2) without O_EXCL opens it
                return 0
            session.check(ret, "create", path)
            session.close_fh(ctx, fhp.value, path)
            for each in self.pool.sessions:  # every context's keep-alive renews its lease with it
                each.renew_path = path
            # libnfs 4.0 creates EXCLUSIVE4 style: mode 0600, verifier in the times; set the real ones, and
            # have the attributes of the file and its directory back (as from the kernel client's OPEN)
            parent, attrs = self._raw(session).setattr_created(path, mode & 0o7777)
            created.extend([(parent_of(path), parent), (path, attrs)])
            return 0

        created: list[tuple[str, Attrs | None]] = []
        try:
            self._run("create", op, session=self.pool.for_handle(fid))
        finally:
            self.cache.changed(path)
        for each_path, attrs in created:
            self._store(each_path, attrs)
        self._register(fi, fid, path, flags, keep_cache=False)
        self.files[fid].whole = True
        return 0

    def open(self, path: str, fi: FileInfo) -> int:
        flags = fi.flags
        # close-to-open: an open asks the server for the attributes (nocto: cached ones will do) and
        # keeps the cached data only when they did not change since it was cached
        # (a read-only open: the attributes and the first OPEN_READ bytes in one COMPOUND)
        first = self._open_read(path) if self.cache.options.cto and flags & os.O_ACCMODE == os.O_RDONLY else None
        attrs = first[0] if first is not None else self._fetch(path) if self.cache.options.cto else self._attrs(path)
        self._check_access(attrs, flags & os.O_ACCMODE)
        keep = self.cache.data_valid(path, attrs)
        fid = self._new_fid()
        self._register(fi, fid, path, flags, keep_cache=keep)
        if first is not None and not keep:
            self.files[fid].ahead = (0, first[2], first[1])
        return 0

    def _open_read(self, path: str) -> tuple[Attrs, bool, bytes] | None:
        """(attrs, eof, data) of `path` from one GETATTR+READ COMPOUND, stored in the cache; None when it
        cannot be had that way (not readable without an open, an owner name): then GETATTR alone."""
        try:
            attrs, eof, data = self._run(
                "open", lambda s, ctx: self._raw(s).open_read(path, min(OPEN_READ, s.readmax)), keep_open=True
            )
        except OSError as e:
            if e.errno == errno.ENOENT:
                self.cache.store_missing(path)
                raise
            return None
        if attrs is None:
            return None
        self.cache.store(path, attrs)
        return attrs, eof, data

    def _check_access(self, attrs: Attrs, accmode: int) -> None:
        """open(2)'s permission check (the kernel client's OPEN does it at the server): mode bits against
        the identity every request carries."""
        uid, gid = self.identity
        if uid == 0:
            return
        mode = attrs["st_mode"]
        bits = 6 if attrs["st_uid"] == uid else 3 if attrs["st_gid"] == gid else 0
        allowed = (mode >> bits) & 0o7
        need = {os.O_RDONLY: 4, os.O_WRONLY: 2}.get(accmode, 6)
        if allowed & need != need:
            raise self.fuse_error(errno.EACCES)

    def _register(self, fi: FileInfo, fid: int, path: str, flags: int, keep_cache: bool) -> int:
        self.files[fid] = OpenFile(path, flags)
        fi.fh = fid
        fi.direct_io = 1 if self.direct_io else 0
        fi.keep_cache = 1 if keep_cache and not self.direct_io else 0
        return 0

    def read(self, path: str, size: int, offset: int, fi: FileInfo) -> bytes:
        of = self._file(fi)
        self._write_back_under(of.path)  # reads see our own writes
        path = of.path
        whole = self.cache.content(path)
        if whole is not None:
            return whole[offset : offset + size]
        ahead = of.ahead
        if ahead is not None and ahead[0] <= offset and (offset + size <= ahead[0] + len(ahead[1]) or ahead[2]):
            return ahead[1][offset - ahead[0] : offset - ahead[0] + size]  # (past the end of the file: b"")
        session = self.pool.for_handle(fi.fh)
        # what the handle has of the range already (the start of it), then from where that ends
        head = b""
        if ahead is not None and ahead[0] <= offset < ahead[0] + len(ahead[1]):
            head = ahead[1][offset - ahead[0] :]
        start = offset + len(head)
        # reading on from where the last read of this handle ended: fetch ahead, as the kernel does
        sequential = ahead is not None and start == ahead[0] + len(ahead[1])
        want = max(size - len(head), READAHEAD) if sequential or offset == 0 else size - len(head)

        def op(s: NfsSession, ctx: Ctx) -> tuple[bytes, bool]:
            chunks = [head]
            got = 0
            eof = False
            while got < want:
                eof, data = self._raw(s).read(path, start + got, min(want - got, s.readmax))
                chunks.append(data)
                got += len(data)
                if eof or not data:
                    break
            return b"".join(chunks), eof

        try:
            data, eof = self._run("read", op, keep_open=True, session=session)
        except OSError as e:
            if e.errno != errno.EACCES:
                raise
        else:
            of.ahead = (offset, data, eof)
            return data[:size]
        return self._read_with_open(path, size, offset, fi, of)  # e.g. a write-only file read through O_RDWR

    def write(self, path: str, data: bytes, offset: int, fi: FileInfo) -> int:
        of = self._file(fi)
        with of.lock:
            if self.cache.options.sync:
                self._send_dirty(fi, of, commit=False)
                pos = self._fetch(of.path)["st_size"] if of.append else offset
                self._send(fi, of, pos, data, commit=False)
                return len(data)
            if of.append:
                # as the kernel client appends: at the end it knows (its own buffered data, else the size
                # cached within the attribute timeout, fetched again once that passed), buffered like any write
                offset = of.dirty.end if of.dirty is not None else self.getattr(of.path)["st_size"]
            if of.dirty is None or not of.dirty.absorb(offset, data):
                if of.dirty is not None or offset != 0:
                    of.whole = False
                self._send_dirty(fi, of, commit=False)
                of.dirty = Dirty(offset)
                of.dirty.absorb(offset, data)
            if len(of.dirty.data) >= WRITEBACK_LIMIT or time.monotonic() - of.dirty.since >= WRITEBACK_EXPIRE:
                of.whole = False
                self._send_dirty(fi, of, commit=False)
        return len(data)

    def _send_dirty(self, fi: FileInfo, of: OpenFile, commit: bool) -> None:
        """Send the handle's buffered data (of.lock held); with commit, also COMMIT what went out unstable."""
        dirty, of.dirty = of.dirty, None
        if dirty is not None and dirty.data:
            self._send(fi, of, dirty.start, bytes(dirty.data), commit=commit)
        elif commit and of.uncommitted:
            session = self.pool.for_handle(fi.fh)
            self._run("commit", lambda s, ctx: self._raw(s).commit(of.path), keep_open=True, session=session)
            of.uncommitted = False

    def _send(self, fi: FileInfo, of: OpenFile, offset: int, data: bytes, commit: bool) -> None:
        """WRITE `data` at `offset` in large pieces; the cache then knows the file's new attributes."""
        path = of.path
        session = self.pool.for_handle(fi.fh)
        after: Attrs | None = None
        try:
            _, after = self._run(
                "write",
                lambda s, ctx: self._raw(s).write(path, offset, data, commit=commit),
                keep_open=True,
                session=session,
            )
        except OSError as e:
            if e.errno != errno.EACCES:
                raise
            # the server checks a WRITE without an open against the file's mode: a file created read-only
            # and written through that same open(2) needs libnfs's open (small pieces)
            self._write_with_open(path, data, offset, fi, of)
        of.uncommitted = not commit
        self._drop_read_ahead(path)
        self.cache.attrs_changed(path)
        after_stamp: Stamp | None = None
        if after is not None:
            self.cache.store(path, after)  # the attributes right after our WRITE, as the kernel has them
            after_stamp = stamp(after)
        self.cache.data_written(path, after_stamp)
        if of.whole and offset == 0 and after_stamp is not None and after_stamp[2] == len(data):
            self.cache.remember_content(path, after_stamp, data)
        of.whole = False  # a later write of this handle sends only what changed

    def _drop_read_ahead(self, path: str) -> None:
        """This mount changed `path`: no handle may answer a read from what it fetched before."""
        for of in list(self.files.values()):
            if of.path == path:
                of.ahead = None

    def _write_back_under(self, path: str) -> None:
        """Send the buffered data of every handle open on `path` or below it (before a read, rename or
        SETATTR, which must see it)."""
        prefix = path.rstrip("/") + "/"
        for fid, of in list(self.files.items()):
            if of.dirty is not None and (of.path == path or of.path.startswith(prefix)):
                with of.lock:
                    self._send_dirty(_Fid(fid), of, commit=False)

    def flush(self, path: str, fi: FileInfo) -> int:
        # every close(2): written back and committed, as a kernel NFS client does at close (cto)
        of = self.files.get(fi.fh)
        if of is not None:
            with of.lock:
                self._send_dirty(fi, of, commit=True)
        return 0

    def fsync(self, path: str, datasync: int, fi: FileInfo) -> int:
        of = self._file(fi)
        with of.lock:
            self._send_dirty(fi, of, commit=True)
            if of.uncommitted:
                self._send_dirty(fi, of, commit=True)
        return 0

    def release(self, path: str, fi: FileInfo) -> int:
        of = self.files.get(fi.fh)
        if of is not None:
            try:
                with of.lock:
                    self._send_dirty(fi, of, commit=True)
            except OSError as e:  # close(2) got it from flush already
                dlog(f"release {of.path}: {e}")
        self.files.pop(fi.fh, None)
        session = self.pool.for_handle(fi.fh)
        c = session.cached
        if c is None or c.key != fi.fh:
            return 0  # no libnfs open of ours (the usual case): no need to wait for the session
        with session.lock:
            c = session.cached
            if c is not None and c.key == fi.fh:
                session.drop_cached()
        return 0

    def access(self, path: str, amode: int) -> int:
        return 0  # the server checks permissions on each operation

    # -- the libnfs open, for what the server refuses without one --
    def _read_with_open(self, path: str, size: int, offset: int, fi: FileInfo, of: OpenFile) -> bytes:
        accmode = os.O_RDWR if of.accmode == os.O_RDWR else os.O_RDONLY

        def io(session: NfsSession, ctx: Ctx, fh: Handle) -> bytes:
            buf = ctypes.create_string_buffer(size)
            got = 0
            while got < size:
                count = min(size - got, session.readmax)
                n = session.check(
                    self.lib.nfs_pread(ctx, fh, offset + got, count, ctypes.byref(buf, got)), "read", path
                )
                if n == 0:
                    break
                got += n
            return buf.raw[:got]

        return self._with_file("read", fi, path, accmode, io)

    def _write_with_open(self, path: str, data: bytes, offset: int, fi: FileInfo, of: OpenFile) -> None:
        accmode = os.O_RDWR if of.accmode == os.O_RDWR else os.O_WRONLY
        size = len(data)

        def io(session: NfsSession, ctx: Ctx, fh: Handle) -> int:
            buf = ctypes.create_string_buffer(data, size)
            done = 0
            while done < size:
                count = min(size - done, session.writemax, session.write_chunk)
                ret = self.lib.nfs_pwrite(ctx, fh, offset + done, count, ctypes.byref(buf, done))
                if ret < 0 and "encode" in session.error_text() and session.write_chunk > 512:
                    # libnfs 4.0 encodes an NFSv4 WRITE into a ~4 KiB buffer; a longer file handle leaves
                    # less room
                    session.write_chunk //= 2
                    dlog(f"write chunk lowered to {session.write_chunk}")
                    continue
                n = session.check(ret, "write", path)
                if n <= 0:
                    raise NfsError(errno.EIO, f"write {path}: short write")
                done += n
            session.check(self.lib.nfs_fsync(ctx, fh), "fsync", path)
            return done

        self._with_file("write", fi, path, accmode, io)


class _Fid:
    """A stand-in FileInfo for writing back another handle's data (only .fh is read)."""

    __slots__ = ("direct_io", "fh", "flags", "keep_cache")

    def __init__(self, fh: int) -> None:
        self.fh = fh
        self.flags = self.direct_io = self.keep_cache = 0


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
