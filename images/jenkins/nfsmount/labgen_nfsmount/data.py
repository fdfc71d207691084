"""The FUSE operations on file data: create, open, read (read-ahead), write (buffered per handle, written
back in large WRITEs), flush, fsync, release; libnfs's open for what the server refuses without one."""

from __future__ import annotations

import ctypes
import errno
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from labgen_nfsmount.base import Dirty, FileInfo, OpenFile, OperationsBase
from labgen_nfsmount.cache import Attrs, Stamp, parent_of, stamp
from labgen_nfsmount.errors import NfsError
from labgen_nfsmount.libnfs import Ctx, Handle
from labgen_nfsmount.log import dlog
from labgen_nfsmount.openstate import HeldOpen
from labgen_nfsmount.session import NfsSession

T = TypeVar("T")

WRITEBACK_LIMIT = 4 << 20  # bytes buffered per handle before they are sent (unstable, committed at close)
# seconds buffered data may wait for close/fsync: the next write sends it (the kernel's dirty_expire_centisecs)
WRITEBACK_EXPIRE = 30.0


READAHEAD = 1 << 20  # bytes fetched at once when a handle reads a file front to back
OPEN_READ = 64 * 1024  # bytes read with the attributes at a read-only open (close-to-open in one round trip)


class DataOperations(OperationsBase):
    """create, open, read, write, flush, fsync, release: a mixin of NfsOperations."""

    if TYPE_CHECKING:  # MetadataOperations', the other mixin of NfsOperations

        def getattr(self, path: str, fh: FileInfo | None = None) -> dict[str, int]: ...

    # -- handles --
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

    # -- files --
    def create(self, path: str, mode: int, fi: FileInfo) -> int:
        flags = fi.flags
        fid = self._new_fid()

        def op(session: NfsSession, ctx: Ctx) -> int:
            parent, attrs, held = self._raw(session).create(
                path, mode & 0o7777, exclusive=bool(flags & os.O_EXCL), hold=True
            )
            opened.append(held)
            for each in self.pool.sessions:  # every context's keep-alive renews its lease with it
                each.renew_path = path
            created.extend([(parent_of(path), parent), (path, attrs)])
            return 0

        created: list[tuple[str, Attrs | None]] = []
        opened: list[HeldOpen | None] = []
        try:
            self._run("create", op, session=self.pool.for_handle(fid))
        finally:
            self.cache.changed(path)
        for each_path, attrs in created:
            self._store(each_path, attrs)
        self._register(fi, fid, path, flags, keep_cache=False)
        self.files[fid].whole = True
        self.files[fid].held = opened[-1] if opened else None
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
        held, of.held = of.held, None
        try:
            _, after = self._run(
                "write",
                lambda s, ctx: self._raw(s).write(path, offset, data, commit=commit, close=held),
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
        if of is not None and of.held is not None:  # created and never written
            held, of.held, path = of.held, None, of.path
            try:
                self._run("close", lambda s, ctx: self._raw(s).close_held(held, path), keep_open=True, session=session)
            except OSError as e:  # the file is there; its open state ends with the old connection's lease
                dlog(f"release {of.path}: {e}")
        c = session.cached
        if c is None or c.key != fi.fh:
            return 0  # no libnfs open of ours (the usual case): no need to wait for the session
        with session.lock:
            c = session.cached
            if c is not None and c.key == fi.fh:
                session.drop_cached()
        return 0

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
