"""The NFS session: one libnfs context, re-created after failures, and the one NFSv4 open it may hold."""

from __future__ import annotations

import ctypes
import errno
import itertools
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

from labgen.wire.poll import Deadline
from labgen_nfsmount.compound import CompoundClient
from labgen_nfsmount.errors import NfsError, NotConnected, needs_reconnect
from labgen_nfsmount.libnfs import Ctx, Handle, LibNfs, NfsStat64, enc
from labgen_nfsmount.log import dlog, log

T = TypeVar("T")


@dataclass  # no slots=True: Python 3.10+, and the real Jenkins image has Debian 11's 3.9
class _Cached:
    """The one NFSv4 open this session may hold between operations, owned by
    one FUSE file handle (key)."""

    key: int | None
    path: str
    accmode: int
    fh: Handle
    gen: int

    def serves(self, key: int, path: str, accmode: int, gen: int) -> bool:
        """True when this open can do the I/O of FUSE handle `key` on `path` with `accmode`."""
        return (
            self.gen == gen
            and self.key == key
            and self.path == path
            and (self.accmode == accmode or self.accmode == os.O_RDWR)
        )


class NfsSession:
    def __init__(
        self,
        lib: LibNfs,
        url: str,
        uid: int | None = None,
        gid: int | None = None,
        timeout: int = 15,
        retry_window: float = 60.0,
    ) -> None:
        self.lib = lib
        self.url = url
        self.uid = uid
        self.gid = gid
        self.timeout = timeout
        self.retry_window = retry_window
        self.lock = threading.RLock()
        self.ctx: Ctx | None = None
        self.gen = 0
        self.broken: str | None = None  # reason the context must be replaced
        self.cached: _Cached | None = None
        self.raw: CompoundClient | None = None
        self.renew_path: str | None = None  # a file to OPEN/CLOSE to renew the lease
        self.server = self.export = "?"
        self.readmax = self.writemax = 65536
        # libnfs 4.0 fails to encode an NFSv4 WRITE of more than about
        # 4096 bytes minus the RPC header (3944 data bytes with ganesha's VFS
        # handles), whatever the server's maxwrite; writes go in chunks
        self.write_chunk = 3584
        self.last_renew = time.monotonic()  # last OPEN/READ/WRITE (lease)
        self.reconnects = 0
        self.down_since: float | None = None  # set while the server stays unreachable
        self.client_name = f"labgen-nfsmount:{socket.gethostname()}:{os.getpid()}:{os.urandom(6).hex()}"

    # -- connection management ------------------------------------------
    def error_text(self, ctx: Ctx | None = None) -> str:
        ctx = ctx or self.ctx
        msg = self.lib.nfs_get_error(ctx) if ctx else None
        return msg.decode("utf-8", "replace") if msg else ""

    def connect(self) -> Ctx:
        """Create a context and mount; raise NfsError on failure."""
        lib = self.lib
        ctx = lib.nfs_init_context()
        if not ctx:
            raise NfsError(errno.ENOMEM, "nfs_init_context failed")
        try:
            self._mount(ctx)
        except BaseException:
            lib.nfs_destroy_context(ctx)
            raise
        old, self.ctx = self.ctx, ctx
        self.last_renew = time.monotonic()
        self.gen += 1
        self.broken = None
        self.cached = None
        if old:
            lib.nfs_destroy_context(old)
        return ctx

    def _mount(self, ctx: Ctx) -> None:
        """Set up the new context `ctx` and mount the export with it."""
        lib = self.lib
        lib.nfs_set_version(ctx, 4)
        server, export = self._parse_url(ctx)  # after set_version, before the options that override the URL's
        self._set_options(ctx)
        ret = lib.nfs_mount(ctx, enc(server), enc(export))
        if ret != 0:
            raise NfsError(-ret if ret < 0 else errno.EIO, f"mount {server}:{export} failed: {self.error_text(ctx)}")
        self.server, self.export = server, export
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query)
        port = int(q.get("nfsport", ["2049"])[0])
        uid, gid = self.identity()
        if self.raw is not None:
            self.raw.close()
        self.raw = CompoundClient(server, port, export, uid, gid, self.timeout)
        self.readmax = int(lib.nfs_get_readmax(ctx)) or 65536
        self.writemax = int(lib.nfs_get_writemax(ctx)) or 65536

    def identity(self) -> tuple[int, int]:
        """The uid and gid every request carries (AUTH_SYS)."""
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query)
        uid = self.uid if self.uid is not None else int(q.get("uid", [os.getuid()])[0])
        gid = self.gid if self.gid is not None else int(q.get("gid", [os.getgid()])[0])
        return uid, gid

    def _parse_url(self, ctx: Ctx) -> tuple[str, str]:
        """(server, export) of the URL, parsed by libnfs into `ctx`."""
        lib = self.lib
        url = lib.nfs_parse_url_dir(ctx, enc(self.url))
        if not url:
            raise NfsError(errno.EINVAL, f"bad NFS URL {self.url!r}: {self.error_text(ctx)}")
        try:
            server = url.contents.server
            export = url.contents.path
        finally:
            lib.nfs_destroy_url(url)
        if not server or not export:
            raise NfsError(errno.EINVAL, f"bad NFS URL {self.url!r}: need nfs://SERVER/PATH")
        return server.decode(), export.decode() or "/"

    def _set_options(self, ctx: Ctx) -> None:
        lib = self.lib
        if self.uid is not None:
            lib.nfs_set_uid(ctx, self.uid)
        if self.gid is not None:
            lib.nfs_set_gid(ctx, self.gid)
        lib.nfs_set_autoreconnect(ctx, 0)  # we reconnect ourselves
        lib.nfs_set_dircache(ctx, 0)  # no client-side caching
        lib.nfs_set_readahead(ctx, 0)
        lib.nfs_set_tcp_syncnt(ctx, 3)  # give up connect() ~15s
        if self.timeout and self.timeout > 0:
            lib.nfs_set_timeout(ctx, int(self.timeout) * 1000)
        lib.nfs_umask(ctx, 0)  # the kernel applied it
        # unique per process (two containers may both run as pid 7 in
        # the same second); a fresh verifier tells the server that state
        # of an earlier context of ours is void
        lib.nfs4_set_client_name(ctx, enc(self.client_name))
        lib.nfs4_set_verifier(ctx, os.urandom(8))

    def connect_wait(self, wait: float) -> Ctx:
        """connect(), retrying until `wait` seconds have passed."""
        deadline = Deadline(wait)
        delay = 0.2
        first = True
        while True:
            try:
                return self.connect()
            except NfsError as e:
                if deadline.expired():
                    raise
                if first and wait > 0:
                    log(f"NFS server not answering ({e.strerror}); retrying for up to {wait:.0f}s")
                    first = False
                time.sleep(min(delay, max(0.05, deadline.remaining())))
                delay = min(delay * 1.5, 2.0)

    def reconnect(self, reason: str) -> Ctx:
        """Replace the context.  The first failure waits up to retry_window
        for the server; while it stays down, later operations make a single
        attempt each and fail with EIO at once (no 60 s stall per call)."""
        start = time.monotonic()
        old, self.ctx = self.ctx, None
        self.cached = None
        if old:
            # open handles of the old context are dropped with it
            self.lib.nfs_destroy_context(old)
        down_since = self.down_since
        try:
            ctx = self.connect_wait(0 if down_since is not None else self.retry_window)
        except NfsError as e:
            if down_since is None:
                self.down_since = start
                log(
                    f"reconnect failed after {time.monotonic() - start:.1f}s ({reason}): {e.strerror}; failing "
                    "operations with EIO until the server is back"
                )
            raise NotConnected(errno.EIO, f"not connected: {e.strerror}") from e
        self.reconnects += 1
        if down_since is not None:
            log(f"reconnected to {self.server}:{self.export} after an outage of {time.monotonic() - down_since:.0f}s")
            self.down_since = None
        else:
            log(f"reconnected to {self.server}:{self.export} in {time.monotonic() - start:.1f}s ({reason})")
        return ctx

    def close(self) -> None:
        with self.lock:
            if self.ctx:
                self.drop_cached()
                self.lib.nfs_destroy_context(self.ctx)
                self.ctx = None
            if self.raw is not None:
                self.raw.close()

    # -- running operations ---------------------------------------------
    def check(self, ret: int, opname: str, path: str = "") -> int:
        """Turn a negative libnfs return value into NfsError."""
        if ret < 0:
            msg = self.error_text() or os.strerror(-ret)
            raise NfsError(-ret, f"{opname} {path}: {msg}")
        return ret

    def lstat(self, ctx: Ctx, path: str) -> NfsStat64:
        st = NfsStat64()
        self.check(self.lib.nfs_lstat64(ctx, enc(path), ctypes.byref(st)), "stat", path)
        return st

    @overload
    def run(self, opname: str, func: Callable[[Ctx], T], *, keep_open: bool = False) -> T: ...
    @overload
    def run(
        self,
        opname: str,
        func: Callable[[Ctx], int],
        retry_ok: Callable[[NfsError], bool] | None,
        keep_open: bool = False,
    ) -> int: ...
    def run(
        self,
        opname: str,
        func: Callable[[Ctx], Any],
        retry_ok: Callable[[NfsError], bool] | None = None,
        keep_open: bool = False,
    ) -> Any:
        """Run func(ctx) under the lock.  Unless keep_open, the cached NFSv4
        open is closed first.  On a transport error or lost state: new
        context, one retry.  retry_ok(exc) may accept an error of the retry
        as success (the first attempt may have done the work): then 0."""
        with self.lock:
            if not keep_open:
                self.drop_cached()
            ctx = self.ctx
            if ctx is None or self.broken:
                ctx = self.reconnect(self.broken or "not connected")
            try:
                return func(ctx)
            except NfsError as e:
                if isinstance(e, NotConnected) or not needs_reconnect(e):
                    raise
                first = e
            ctx = self.reconnect(f"{opname} failed: {first.strerror}")
            try:
                return func(ctx)
            except NfsError as e:
                if retry_ok is not None and retry_ok(e):
                    return 0
                raise

    # -- the single cached open ------------------------------------------
    def close_fh(self, ctx: Ctx, fh: Handle, path: str) -> None:
        """nfs_close(); a failure that calls for a new context marks the session broken."""
        ret = self.lib.nfs_close(ctx, fh)
        if ret < 0:
            e = NfsError(-ret, f"close {path}: {self.error_text()}")
            dlog(str(e.strerror))
            if needs_reconnect(e):
                self.broken = e.strerror

    def drop_cached(self) -> None:
        c, self.cached = self.cached, None
        if c is not None and c.gen == self.gen and self.ctx and not self.broken:
            self.close_fh(self.ctx, c.fh, c.path)

    def with_file(
        self, ctx: Ctx, key: int | None, path: str, accmode: int, func: Callable[[Handle], T], fresh: bool = False
    ) -> T:
        """func(nfsfh) on `path` opened with accmode.  The open is cached
        for FUSE file handle `key` and reused by its next read/write when
        nothing happened in between; fresh=True always opens anew (the name
        may now refer to another file, replaced by another client)."""
        c = self.cached
        if fresh or key is None or c is None or not c.serves(key, path, accmode, self.gen):
            self.drop_cached()
            fhp = ctypes.c_void_p()
            self.check(self.lib.nfs_open(ctx, enc(path), accmode, ctypes.byref(fhp)), "open", path)
            c = self.cached = _Cached(key, path, accmode, fhp.value, self.gen)
            self.renew_path = path
        try:
            ret = func(c.fh)
            self.last_renew = time.monotonic()
            return ret
        except NfsError as e:
            if needs_reconnect(e):
                self.cached = None  # the context will be replaced
            else:
                self.drop_cached()
            raise

    # -- keep-alive -----------------------------------------------------
    def keepalive(self, interval: float, stop: threading.Event) -> None:
        """When no file was opened, read or written for `interval` seconds:
        close the cached open, check the server answers, and renew the NFSv4
        lease (OPEN+CLOSE of a known file) so the server keeps our client id
        (keep interval below the server's lease time, 60 s by default); a
        dead server is noticed here, not by the next application call."""
        while not stop.wait(interval / 2.0):
            if time.monotonic() - self.last_renew < interval:
                continue
            if not self.lock.acquire(timeout=1):
                continue
            try:
                self.run("keepalive", self._probe)
            except NfsError as e:
                dlog(f"keepalive: {e.strerror}")
            except Exception as e:  # the thread must not die
                log(f"keepalive error: {e!r}")
            finally:
                self.lock.release()

    def _probe(self, ctx: Ctx) -> None:
        st = NfsStat64()
        self.check(self.lib.nfs_stat64(ctx, b"/", ctypes.byref(st)), "stat", "/")
        path = self.renew_path
        if path:
            try:
                self.with_file(ctx, None, path, os.O_RDONLY, lambda fh: 0)
                self.drop_cached()
            except NfsError as e:
                if needs_reconnect(e):
                    raise
                self.renew_path = None


class SessionPool:
    """Several NfsSessions (libnfs contexts, each its own NFSv4 client and TCP connection), so that
    several FUSE threads have NFS calls in flight at once: a libnfs context is not thread-safe and its
    synchronous calls wait for one reply at a time.  A FUSE file handle always uses the same session
    (its NFSv4 open lives there); other operations take an idle one."""

    def __init__(self, sessions: list[NfsSession]) -> None:
        if not sessions:
            raise ValueError("a pool needs at least one session")
        self.sessions = sessions
        self.lib = sessions[0].lib
        self._turn = itertools.count()

    def for_handle(self, fid: int) -> NfsSession:
        return self.sessions[fid % len(self.sessions)]

    def idle(self) -> NfsSession:
        """A session no other thread is using right now, else the next one in turn (then we wait for it)."""
        n = len(self.sessions)
        start = next(self._turn)
        for i in range(n):
            s = self.sessions[(start + i) % n]
            if s.lock.acquire(blocking=False):
                s.lock.release()
                return s
        return self.sessions[start % n]

    def connect_wait(self, wait: float) -> None:
        for s in self.sessions:
            s.connect_wait(wait)

    def close(self) -> None:
        for s in self.sessions:
            s.close()
