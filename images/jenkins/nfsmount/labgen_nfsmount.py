#!/usr/bin/env python3
"""labgen_nfsmount: mount an NFSv4 export through FUSE with a userspace NFS client.

The machines labgen runs on have no kernel NFS client, but they have FUSE.  This
program talks NFSv4 with libnfs (Debian package libnfs13, version 4.0, loaded
with ctypes, synchronous API) and serves the export as a FUSE file system with
fusepy (Debian package python3-fusepy, module ``fusepy``; PyPI's fusepy is
module ``fuse``, also accepted).

Usage:
    labgen_nfsmount.py nfs://SERVER/PSEUDO?version=4[&nfsport=2049] MOUNTPOINT
        [--foreground] [--uid N --gid N] [--wait SECONDS]
        [--cache open|none] [--retry-window SECONDS] [--timeout SECONDS]
        [--keepalive SECONDS] [--[no-]allow-other] [--debug]

How it works (details in README.md next to this file):
  * one libnfs context; FUSE runs single-threaded because libnfs contexts are
    not thread-safe; a lock guards the context against the keep-alive thread;
  * the kernel caches no attributes, entries or negative lookups
    (attr/entry/negative_timeout=0); file data bypasses the page cache
    (--cache none: direct_io) or is cached only while a file is open (--cache
    open, the default: dropped on every open and whenever the size seen by
    getattr changes; close-to-open consistency like a kernel NFS client, and
    mmap keeps working);
  * libnfs 4.0 keeps one NFSv4 open-owner per context and loses its open state
    when one file is opened twice or changed by path (chmod, truncate, utimes)
    while open.  So this program holds at most ONE NFSv4 open at a time: the
    file used by the last read/write, closed before any other operation that
    could touch it and when the mount is idle;
  * on a connection error, a timeout, or lost NFSv4 state (server restart,
    expired lease) the context is re-created (for up to --retry-window seconds)
    and the operation retried once.
"""

import argparse
import contextlib
import ctypes
import errno
import os
import socket
import struct
import sys
import threading
import time
import urllib.parse

PROG = "labgen_nfsmount"
LIBNFS_SONAME = "libnfs.so.13"

# ---------------------------------------------------------------------------
# logging: one line per event on the stderr we were started with (kept after
# libfuse daemonizes and points fd 2 at /dev/null)
# ---------------------------------------------------------------------------

_log_fd = 2
_debug = False


def log(msg):
    line = f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {PROG}[{os.getpid()}]: {msg}\n"
    with contextlib.suppress(OSError):
        os.write(_log_fd, line.encode("utf-8", "replace"))


def dlog(msg):
    if _debug:
        log("debug: " + msg)


# ---------------------------------------------------------------------------
# libnfs binding (libnfs 4.0, /usr/include/nfsc/libnfs.h)
# ---------------------------------------------------------------------------


class NfsUrl(ctypes.Structure):
    _fields_ = [("server", ctypes.c_char_p), ("path", ctypes.c_char_p), ("file", ctypes.c_char_p)]


class NfsStat64(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "nfs_dev",
            "nfs_ino",
            "nfs_mode",
            "nfs_nlink",
            "nfs_uid",
            "nfs_gid",
            "nfs_rdev",
            "nfs_size",
            "nfs_blksize",
            "nfs_blocks",
            "nfs_atime",
            "nfs_mtime",
            "nfs_ctime",
            "nfs_atime_nsec",
            "nfs_mtime_nsec",
            "nfs_ctime_nsec",
            "nfs_used",
        )
    ]


class NfsStatvfs64(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_uint64)
        for name in (
            "f_bsize",
            "f_frsize",
            "f_blocks",
            "f_bfree",
            "f_bavail",
            "f_files",
            "f_ffree",
            "f_favail",
            "f_fsid",
            "f_flag",
            "f_namemax",
        )
    ]


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class NfsDirent(ctypes.Structure):
    pass


NfsDirent._fields_ = [
    ("next", ctypes.POINTER(NfsDirent)),
    ("name", ctypes.c_char_p),
    ("inode", ctypes.c_uint64),
    ("type", ctypes.c_uint32),
    ("mode", ctypes.c_uint32),
    ("size", ctypes.c_uint64),
    ("atime", Timeval),
    ("mtime", Timeval),
    ("ctime", Timeval),
    ("uid", ctypes.c_uint32),
    ("gid", ctypes.c_uint32),
    ("nlink", ctypes.c_uint32),
    ("dev", ctypes.c_uint64),
    ("rdev", ctypes.c_uint64),
    ("blksize", ctypes.c_uint64),
    ("blocks", ctypes.c_uint64),
    ("used", ctypes.c_uint64),
    ("atime_nsec", ctypes.c_uint32),
    ("mtime_nsec", ctypes.c_uint32),
    ("ctime_nsec", ctypes.c_uint32),
]

_P = ctypes.c_void_p  # struct nfs_context *, struct nfsfh *, ...
_PP = ctypes.POINTER(ctypes.c_void_p)
_S = ctypes.c_char_p
_I = ctypes.c_int
_U64 = ctypes.c_uint64

# Only calls checked to work against nfs-ganesha 4.3 over NFSv4 are bound.
# Not used, with reasons (libnfs 4.0, NFSv4): nfs_utimes(path, NULL) and
# nfs_fchmod() segfault; nfs_chmod/chown/utimes/truncate fail on directories
# and break open state (see RawSetattr); nfs_close() of a handle whose open
# failed crashes.
_PROTOTYPES = {
    "nfs_init_context": (_P, []),
    "nfs_destroy_context": (None, [_P]),
    "nfs_get_error": (_S, [_P]),
    "nfs_parse_url_dir": (ctypes.POINTER(NfsUrl), [_P, _S]),
    "nfs_destroy_url": (None, [ctypes.POINTER(NfsUrl)]),
    "nfs_set_version": (_I, [_P, _I]),
    "nfs_set_uid": (None, [_P, _I]),
    "nfs_set_gid": (None, [_P, _I]),
    "nfs_set_timeout": (None, [_P, _I]),
    "nfs_set_autoreconnect": (None, [_P, _I]),
    "nfs_set_dircache": (None, [_P, _I]),
    "nfs_set_readahead": (None, [_P, ctypes.c_uint32]),
    "nfs_set_tcp_syncnt": (None, [_P, _I]),
    "nfs_umask": (ctypes.c_uint16, [_P, ctypes.c_uint16]),
    "nfs4_set_client_name": (None, [_P, _S]),
    "nfs4_set_verifier": (None, [_P, ctypes.c_char_p]),
    "nfs_mount": (_I, [_P, _S, _S]),
    "nfs_get_readmax": (_U64, [_P]),
    "nfs_get_writemax": (_U64, [_P]),
    "nfs_stat64": (_I, [_P, _S, ctypes.POINTER(NfsStat64)]),
    "nfs_lstat64": (_I, [_P, _S, ctypes.POINTER(NfsStat64)]),
    "nfs_open": (_I, [_P, _S, _I, _PP]),
    "nfs_create": (_I, [_P, _S, _I, _I, _PP]),
    "nfs_close": (_I, [_P, _P]),
    # libnfs 4.0: (nfs, fh, offset, count, buf); older releases differ
    "nfs_pread": (_I, [_P, _P, _U64, _U64, ctypes.c_void_p]),
    "nfs_pwrite": (_I, [_P, _P, _U64, _U64, ctypes.c_void_p]),
    "nfs_fsync": (_I, [_P, _P]),
    "nfs_mkdir2": (_I, [_P, _S, _I]),
    "nfs_rmdir": (_I, [_P, _S]),
    "nfs_unlink": (_I, [_P, _S]),
    "nfs_opendir": (_I, [_P, _S, _PP]),
    "nfs_readdir": (ctypes.POINTER(NfsDirent), [_P, _P]),
    "nfs_closedir": (None, [_P, _P]),
    "nfs_statvfs64": (_I, [_P, _S, ctypes.POINTER(NfsStatvfs64)]),
    "nfs_readlink": (_I, [_P, _S, ctypes.c_char_p, _I]),
    "nfs_symlink": (_I, [_P, _S, _S]),
    "nfs_rename": (_I, [_P, _S, _S]),
    "nfs_link": (_I, [_P, _S, _S]),
}


def load_libnfs(name=LIBNFS_SONAME):
    lib = ctypes.CDLL(name, use_errno=True)
    for fname, (restype, argtypes) in _PROTOTYPES.items():
        func = getattr(lib, fname)
        func.restype = restype
        func.argtypes = argtypes
    return lib


def _enc(path):
    return path.encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


class NfsError(OSError):
    """A failed libnfs call: errno plus libnfs's error string."""


class NotConnected(NfsError):
    pass


# libnfs maps several NFS4ERR_* codes to EIO/EINVAL/EAGAIN, so lost state is
# recognized by the error text, which names the NFS4 status.
_STATE_LOST_MARKERS = (
    "NFS4ERR_STALE_CLIENTID",
    "NFS4ERR_EXPIRED",
    "NFS4ERR_STALE_STATEID",
    "NFS4ERR_BAD_STATEID",
    "NFS4ERR_OLD_STATEID",
    "NFS4ERR_BAD_SEQID",
    "NFS4ERR_ADMIN_REVOKED",
    "NFS4ERR_LEASE_MOVED",
    "NFS4ERR_FHEXPIRED",
)
# errno values that are answers of the file system, not transport problems
_FS_ERRNOS = {
    errno.ENOENT,
    errno.EEXIST,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOTEMPTY,
    errno.EACCES,
    errno.EPERM,
    errno.ENAMETOOLONG,
    errno.EROFS,
    errno.ENOSPC,
    errno.EFBIG,
    errno.EXDEV,
    errno.ELOOP,
    errno.EMLINK,
    errno.ERANGE,
    errno.EINVAL,
    errno.ENXIO,
    errno.EDQUOT,
}
_TRANSPORT_MARKERS = (
    "socket",
    "connect",
    "timed out",
    "timeout",
    "poll",
    "nfs_service",
    "eof",
    "reset",
    "disconnect",
    "queue",
)


def needs_reconnect(exc):
    """True when a new context could help: transport trouble or lost state."""
    msg = str(exc.strerror or "")
    if any(m in msg for m in _STATE_LOST_MARKERS):
        return True
    if "NFS4ERR_" in msg:
        return False  # a regular answer of the server
    if exc.errno in _FS_ERRNOS:
        # libnfs returns -1 (EPERM) when it cannot even queue a request
        low = msg.lower()
        return any(m in low for m in _TRANSPORT_MARKERS)
    return True  # EIO, EFAULT, EINTR (timeout), ...


# ---------------------------------------------------------------------------
# SETATTR without libnfs
#
# libnfs 4.0 implements chmod/chown/utimes/truncate over NFSv4 as OPEN +
# SETATTR + CLOSE: that fails on directories and symlinks (NFS4ERR_ISDIR) and
# destroys the open state of the same file held by the context.  NFSv4 allows
# SETATTR with the anonymous stateid, so attribute changes are sent here as
# one COMPOUND {PUTROOTFH, LOOKUP..., SETATTR} on a small connection of our
# own (ONC RPC over TCP, AUTH_SYS), no client id or open state involved.
# ---------------------------------------------------------------------------

NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND = 100003, 4, 1
OP_LOOKUP, OP_PUTROOTFH, OP_SETATTR = 15, 24, 34
FATTR4_SIZE, FATTR4_MODE, FATTR4_OWNER, FATTR4_OWNER_GROUP = 4, 33, 36, 37
FATTR4_TIME_ACCESS_SET, FATTR4_TIME_MODIFY_SET = 48, 54
SET_TO_SERVER_TIME4, SET_TO_CLIENT_TIME4 = 0, 1
NFS4ERR_DELAY, NFS4ERR_GRACE = 10008, 10013

_NFS4_ERRNO = {
    1: ("NFS4ERR_PERM", errno.EPERM),
    2: ("NFS4ERR_NOENT", errno.ENOENT),
    5: ("NFS4ERR_IO", errno.EIO),
    6: ("NFS4ERR_NXIO", errno.ENXIO),
    13: ("NFS4ERR_ACCESS", errno.EACCES),
    17: ("NFS4ERR_EXIST", errno.EEXIST),
    18: ("NFS4ERR_XDEV", errno.EXDEV),
    20: ("NFS4ERR_NOTDIR", errno.ENOTDIR),
    21: ("NFS4ERR_ISDIR", errno.EISDIR),
    22: ("NFS4ERR_INVAL", errno.EINVAL),
    27: ("NFS4ERR_FBIG", errno.EFBIG),
    28: ("NFS4ERR_NOSPC", errno.ENOSPC),
    30: ("NFS4ERR_ROFS", errno.EROFS),
    31: ("NFS4ERR_MLINK", errno.EMLINK),
    63: ("NFS4ERR_NAMETOOLONG", errno.ENAMETOOLONG),
    66: ("NFS4ERR_NOTEMPTY", errno.ENOTEMPTY),
    69: ("NFS4ERR_DQUOT", errno.EDQUOT),
    70: ("NFS4ERR_STALE", errno.ESTALE),
    10029: ("NFS4ERR_SYMLINK", errno.ELOOP),
    10032: ("NFS4ERR_ATTRNOTSUPP", errno.EOPNOTSUPP),
    10039: ("NFS4ERR_BADOWNER", errno.EINVAL),
    10040: ("NFS4ERR_BADCHAR", errno.EINVAL),
    10041: ("NFS4ERR_BADNAME", errno.EINVAL),
}


def _xdr_u32(v):
    return struct.pack(">I", v & 0xFFFFFFFF)


def _xdr_opaque(b):
    return _xdr_u32(len(b)) + b + b"\0" * (-len(b) % 4)


def _xdr_settime(ns_or_none):
    if ns_or_none is None:
        return _xdr_u32(SET_TO_SERVER_TIME4)
    sec, nsec = divmod(int(ns_or_none), 10**9)
    return _xdr_u32(SET_TO_CLIENT_TIME4) + struct.pack(">qI", sec, nsec)


class RawSetattr:
    """Send NFSv4 SETATTR compounds (anonymous stateid) to the server."""

    def __init__(self, host, port, export, uid, gid, timeout):
        self.host, self.port = host, port
        self.export_parts = [c for c in export.split("/") if c]
        self.uid, self.gid = uid, gid
        self.timeout = timeout if timeout and timeout > 0 else None
        self.sock = None
        self.xid = int.from_bytes(os.urandom(4), "big")

    def close(self):
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def _cred(self):
        machine = socket.gethostname().encode()[:255]
        body = _xdr_u32(int(time.time())) + _xdr_opaque(machine) + _xdr_u32(self.uid) + _xdr_u32(self.gid) + _xdr_u32(0)
        return _xdr_u32(1) + _xdr_opaque(body)  # AUTH_SYS

    def _recv_exact(self, n):
        chunks = []
        while n:
            b = self.sock.recv(n)
            if not b:
                raise OSError(errno.ECONNRESET, "connection closed by server")
            chunks.append(b)
            n -= len(b)
        return b"".join(chunks)

    def _call(self, payload):
        self.xid = (self.xid + 1) & 0xFFFFFFFF
        msg = (
            _xdr_u32(self.xid)
            + _xdr_u32(0)
            + _xdr_u32(2)
            + _xdr_u32(NFS4_PROGRAM)
            + _xdr_u32(NFS_V4)
            + _xdr_u32(NFSPROC4_COMPOUND)
            + self._cred()
            + _xdr_u32(0)
            + _xdr_u32(0)
            + payload
        )
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(_xdr_u32(0x80000000 | len(msg)) + msg)
        while True:
            reply = b""
            last = False
            while not last:
                mark = struct.unpack(">I", self._recv_exact(4))[0]
                last = bool(mark & 0x80000000)
                reply += self._recv_exact(mark & 0x7FFFFFFF)
            if struct.unpack(">I", reply[:4])[0] == self.xid:
                return reply  # else: a late reply to an old call

    def setattr(self, path, size=None, mode=None, uid=None, gid=None, atime=False, mtime=False):
        """atime/mtime: False = leave, None = server time, int = ns."""
        attrs = []  # (number, encoded value), ascending
        if size is not None:
            attrs.append((FATTR4_SIZE, struct.pack(">Q", size)))
        if mode is not None:
            attrs.append((FATTR4_MODE, _xdr_u32(mode & 0o7777)))
        if uid is not None:
            attrs.append((FATTR4_OWNER, _xdr_opaque(str(uid).encode())))
        if gid is not None:
            attrs.append((FATTR4_OWNER_GROUP, _xdr_opaque(str(gid).encode())))
        if atime is not False:
            attrs.append((FATTR4_TIME_ACCESS_SET, _xdr_settime(atime)))
        if mtime is not False:
            attrs.append((FATTR4_TIME_MODIFY_SET, _xdr_settime(mtime)))
        if not attrs:
            return 0
        words = [0, 0]
        for num, _ in attrs:
            words[num // 32] |= 1 << (num % 32)
        fattr = _xdr_u32(2) + _xdr_u32(words[0]) + _xdr_u32(words[1]) + _xdr_opaque(b"".join(v for _, v in attrs))
        parts = self.export_parts + [c for c in path.split("/") if c]
        ops = [_xdr_u32(OP_PUTROOTFH)]
        for comp in parts:
            ops.append(_xdr_u32(OP_LOOKUP) + _xdr_opaque(_enc(comp)))
        ops.append(_xdr_u32(OP_SETATTR) + _xdr_u32(0) + b"\0" * 12 + fattr)
        payload = _xdr_opaque(b"labgen") + _xdr_u32(0) + _xdr_u32(len(ops)) + b"".join(ops)
        reconnected = False
        delays = [0.1, 0.3, 1.0]
        while True:
            try:
                reply = self._call(payload)
            except OSError as e:  # includes socket.timeout
                self.close()
                if not reconnected:  # e.g. the server restarted
                    reconnected = True
                    continue
                raise NfsError(errno.EIO, f"setattr {path}: socket error: {e}") from e
            status = self._status(reply, path)
            if status in (NFS4ERR_DELAY, NFS4ERR_GRACE) and delays:
                time.sleep(delays.pop(0))
                continue
            if status == 0:
                return 0
            name, err = _NFS4_ERRNO.get(status, (f"NFS4ERR_{status}", errno.EIO))
            raise NfsError(err, f"setattr {path} failed with {name}({status})")

    def _status(self, reply, path):
        try:
            msg_type, reply_stat = struct.unpack(">II", reply[4:12])
            if msg_type != 1 or reply_stat != 0:
                raise NfsError(errno.EIO, f"setattr {path}: RPC denied")
            vlen = struct.unpack(">I", reply[16:20])[0]
            pos = 20 + vlen + (-vlen % 4)
            accept_stat, status = struct.unpack(">II", reply[pos : pos + 8])
        except struct.error as e:
            raise NfsError(errno.EIO, f"setattr {path}: bad RPC reply") from e
        if accept_stat != 0:
            raise NfsError(errno.EIO, f"setattr {path}: RPC accept_stat {accept_stat}")
        return status


# ---------------------------------------------------------------------------
# the NFS session: one libnfs context, re-created after failures
# ---------------------------------------------------------------------------


class _Cached:
    """The one NFSv4 open this session may hold between operations, owned by
    one FUSE file handle (key)."""

    __slots__ = ("accmode", "fh", "gen", "key", "path")

    def __init__(self, key, path, accmode, fh, gen):
        self.key, self.path, self.accmode = key, path, accmode
        self.fh, self.gen = fh, gen


class NfsSession:
    def __init__(self, lib, url, uid=None, gid=None, timeout=15, retry_window=60.0):
        self.lib = lib
        self.url = url
        self.uid = uid
        self.gid = gid
        self.timeout = timeout
        self.retry_window = retry_window
        self.lock = threading.RLock()
        self.ctx = None
        self.gen = 0
        self.broken = None  # reason the context must be replaced
        self.cached = None  # _Cached or None
        self.raw = None  # RawSetattr
        self.renew_path = None  # a file to OPEN/CLOSE to renew the lease
        self.server = self.export = "?"
        self.readmax = self.writemax = 65536
        # libnfs 4.0 fails to encode an NFSv4 WRITE of more than about
        # 4096 bytes minus the RPC header (3944 data bytes with ganesha's VFS
        # handles), whatever the server's maxwrite; writes go in chunks
        self.write_chunk = 3584
        self.last_renew = time.monotonic()  # last OPEN/READ/WRITE (lease)
        self.reconnects = 0
        self.down_since = None  # set while the server stays unreachable
        self.client_name = f"labgen-nfsmount:{socket.gethostname()}:{os.getpid()}:{os.urandom(6).hex()}"

    # -- connection management ------------------------------------------
    def error_text(self, ctx=None):
        ctx = ctx or self.ctx
        msg = self.lib.nfs_get_error(ctx) if ctx else None
        return msg.decode("utf-8", "replace") if msg else ""

    def connect(self):
        """Create a context and mount; raise NfsError on failure."""
        lib = self.lib
        ctx = lib.nfs_init_context()
        if not ctx:
            raise NfsError(errno.ENOMEM, "nfs_init_context failed")
        ok = False
        try:
            lib.nfs_set_version(ctx, 4)
            url = lib.nfs_parse_url_dir(ctx, _enc(self.url))
            if not url:
                raise NfsError(errno.EINVAL, f"bad NFS URL {self.url!r}: {self.error_text(ctx)}")
            try:
                server = url.contents.server
                export = url.contents.path
            finally:
                lib.nfs_destroy_url(url)
            if not server or not export:
                raise NfsError(errno.EINVAL, f"bad NFS URL {self.url!r}: need nfs://SERVER/PATH")
            server = server.decode()
            export = export.decode() or "/"
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
            lib.nfs4_set_client_name(ctx, _enc(self.client_name))
            lib.nfs4_set_verifier(ctx, os.urandom(8))
            ret = lib.nfs_mount(ctx, _enc(server), _enc(export))
            if ret != 0:
                raise NfsError(
                    -ret if ret < 0 else errno.EIO, f"mount {server}:{export} failed: {self.error_text(ctx)}"
                )
            self.server, self.export = server, export
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query)
            port = int(q.get("nfsport", ["2049"])[0])
            uid = self.uid if self.uid is not None else int(q.get("uid", [os.getuid()])[0])
            gid = self.gid if self.gid is not None else int(q.get("gid", [os.getgid()])[0])
            if self.raw is not None:
                self.raw.close()
            self.raw = RawSetattr(server, port, export, uid, gid, self.timeout)
            self.readmax = int(lib.nfs_get_readmax(ctx)) or 65536
            self.writemax = int(lib.nfs_get_writemax(ctx)) or 65536
            ok = True
        finally:
            if not ok:
                lib.nfs_destroy_context(ctx)
        old, self.ctx = self.ctx, ctx
        self.last_renew = time.monotonic()
        self.gen += 1
        self.broken = None
        self.cached = None
        if old:
            lib.nfs_destroy_context(old)

    def connect_wait(self, wait):
        """connect(), retrying until `wait` seconds have passed."""
        deadline = time.monotonic() + max(0.0, wait)
        delay = 0.2
        first = True
        while True:
            try:
                self.connect()
                return
            except NfsError as e:
                if time.monotonic() >= deadline:
                    raise
                if first and wait > 0:
                    log(f"NFS server not answering ({e.strerror}); retrying for up to {wait:.0f}s")
                    first = False
                time.sleep(min(delay, max(0.05, deadline - time.monotonic())))
                delay = min(delay * 1.5, 2.0)

    def reconnect(self, reason):
        """Replace the context.  The first failure waits up to retry_window
        for the server; while it stays down, later operations make a single
        attempt each and fail with EIO at once (no 60 s stall per call)."""
        start = time.monotonic()
        old, self.ctx = self.ctx, None
        self.cached = None
        if old:
            # open handles of the old context are dropped with it
            self.lib.nfs_destroy_context(old)
        outage = self.down_since is not None
        try:
            self.connect_wait(0 if outage else self.retry_window)
        except NfsError as e:
            if not outage:
                self.down_since = start
                log(
                    f"reconnect failed after {time.monotonic() - start:.1f}s ({reason}): {e.strerror}; failing "
                    "operations with EIO until the server is back"
                )
            raise NotConnected(errno.EIO, f"not connected: {e.strerror}") from e
        self.reconnects += 1
        if outage:
            log(
                f"reconnected to {self.server}:{self.export} "
                f"after an outage of {time.monotonic() - self.down_since:.0f}s"
            )
            self.down_since = None
        else:
            log(f"reconnected to {self.server}:{self.export} in {time.monotonic() - start:.1f}s ({reason})")

    def close(self):
        with self.lock:
            if self.ctx:
                self.drop_cached()
                self.lib.nfs_destroy_context(self.ctx)
                self.ctx = None
            if self.raw is not None:
                self.raw.close()

    # -- running operations ---------------------------------------------
    def check(self, ret, opname, path=""):
        """Turn a negative libnfs return value into NfsError."""
        if ret < 0:
            msg = self.error_text() or os.strerror(-ret)
            raise NfsError(-ret, f"{opname} {path}: {msg}")
        return ret

    def run(self, opname, func, retry_ok=None, keep_open=False):
        """Run func(ctx) under the lock.  Unless keep_open, the cached NFSv4
        open is closed first.  On a transport error or lost state: new
        context, one retry.  retry_ok(exc) may accept an error of the retry
        as success (the first attempt may have done the work)."""
        with self.lock:
            if not keep_open:
                self.drop_cached()
            if self.ctx is None or self.broken:
                self.reconnect(self.broken or "not connected")
            try:
                return func(self.ctx)
            except NfsError as e:
                if isinstance(e, NotConnected) or not needs_reconnect(e):
                    raise
                first = e
            self.reconnect(f"{opname} failed: {first.strerror}")
            try:
                return func(self.ctx)
            except NfsError as e:
                if retry_ok is not None and retry_ok(e):
                    return 0
                raise

    # -- the single cached open ------------------------------------------
    def _close_fh(self, fh, path):
        ret = self.lib.nfs_close(self.ctx, fh)
        if ret < 0:
            e = NfsError(-ret, f"close {path}: {self.error_text()}")
            dlog(e.strerror)
            if needs_reconnect(e):
                self.broken = e.strerror

    def drop_cached(self):
        c, self.cached = self.cached, None
        if c is not None and c.gen == self.gen and self.ctx and not self.broken:
            self._close_fh(c.fh, c.path)

    def with_file(self, ctx, key, path, accmode, func, fresh=False):
        """func(nfsfh) on `path` opened with accmode.  The open is cached
        for FUSE file handle `key` and reused by its next read/write when
        nothing happened in between; fresh=True always opens anew (the name
        may now refer to another file, replaced by another client)."""
        c = self.cached
        if (
            fresh
            or key is None
            or not (
                c is not None
                and c.gen == self.gen
                and c.key == key
                and c.path == path
                and (c.accmode == accmode or c.accmode == os.O_RDWR)
            )
        ):
            self.drop_cached()
            fhp = ctypes.c_void_p()
            self.check(self.lib.nfs_open(ctx, _enc(path), accmode, ctypes.byref(fhp)), "open", path)
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
    def keepalive(self, interval, stop):
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

                def probe(ctx):
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

                self.run("keepalive", probe)
            except NfsError as e:
                dlog(f"keepalive: {e.strerror}")
            except Exception as e:  # the thread must not die
                log(f"keepalive error: {e!r}")
            finally:
                self.lock.release()


# ---------------------------------------------------------------------------
# FUSE operations
# ---------------------------------------------------------------------------

UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


class OpenFile:
    __slots__ = ("accmode", "append", "path")

    def __init__(self, path, flags):
        self.path = path
        self.accmode = flags & os.O_ACCMODE
        self.append = bool(flags & os.O_APPEND)


def import_fusepy():
    for name in ("fusepy", "fuse"):  # Debian python3-fusepy, PyPI fusepy
        try:
            mod = __import__(name)
        except ImportError:
            continue
        if hasattr(mod, "FUSE") and hasattr(mod, "Operations"):
            return mod
    return None


def make_operations(fusepy, session, direct_io):
    FuseOSError = fusepy.FuseOSError
    lib = session.lib
    check = session.check

    def ns(sec, nsec):
        return sec * 10**9 + nsec

    def lstat(ctx, path):
        st = NfsStat64()
        check(lib.nfs_lstat64(ctx, _enc(path), ctypes.byref(st)), "stat", path)
        return st

    class NfsOperations(fusepy.Operations):
        use_ns = True  # times as integer nanoseconds
        flag_utime_omit_ok = 1  # we handle UTIME_NOW / UTIME_OMIT
        # not offered: libfuse answers ENOSYS and the kernel stops asking
        # (xattrs), locks stay local to this mount (no NFSv4 LOCK)
        getxattr = setxattr = listxattr = removexattr = None
        lock = ioctl = bmap = None

        def __init__(self):
            self.files = {}
            self.next_fh = 1
            self.mountpoint = "?"
            self.keepalive_interval = 0
            self.stop = threading.Event()

        # -- helpers --
        def _run(self, opname, func, **kw):
            try:
                return session.run(opname, func, **kw)
            except NfsError as e:
                dlog(f"{e.strerror} -> {errno.errorcode.get(e.errno, e.errno)}")
                raise FuseOSError(e.errno or errno.EIO) from e

        def _path_op(self, opname, cfunc, path, *args, **kw):
            def op(ctx):
                return check(cfunc(ctx, _enc(path), *args), opname, path)

            return self._run(opname, op, **kw)

        def _file(self, fi):
            of = self.files.get(fi.fh)
            if of is None:
                raise FuseOSError(errno.EBADF)
            return of

        def _new_fid(self):
            fid = self.next_fh
            self.next_fh += 1
            return fid

        def _register(self, fi, fid, path, flags):
            self.files[fid] = OpenFile(path, flags)
            fi.fh = fid
            fi.direct_io = 1 if direct_io else 0
            fi.keep_cache = 0
            return 0

        # -- lifecycle --
        def init(self, path):
            # started here, in the serving (possibly daemonized) process
            if self.keepalive_interval > 0:
                threading.Thread(
                    target=session.keepalive,
                    args=(self.keepalive_interval, self.stop),
                    name="nfs-keepalive",
                    daemon=True,
                ).start()
            log(
                f"mounted nfs://{session.server}{session.export} on {self.mountpoint} "
                f"(NFSv4, client id {session.client_name})"
            )

        def destroy(self, path):
            self.stop.set()
            session.close()
            log(f"unmounted {self.mountpoint}")

        # -- metadata --
        def getattr(self, path, fh=None):
            st = self._run("getattr", lambda ctx: lstat(ctx, path), keep_open=True)
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
                "st_atime": ns(st.nfs_atime, st.nfs_atime_nsec),
                "st_mtime": ns(st.nfs_mtime, st.nfs_mtime_nsec),
                "st_ctime": ns(st.nfs_ctime, st.nfs_ctime_nsec),
            }

        def readdir(self, path, fh):
            def op(ctx):
                dirp = ctypes.c_void_p()
                check(lib.nfs_opendir(ctx, _enc(path), ctypes.byref(dirp)), "opendir", path)
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

            return [".", "..", *self._run("readdir", op, keep_open=True)]

        def statfs(self, path):
            def op(ctx):
                sv = NfsStatvfs64()
                check(lib.nfs_statvfs64(ctx, _enc(path), ctypes.byref(sv)), "statfs", path)
                return sv

            try:
                sv = session.run("statfs", op, keep_open=True)
            except NfsError:
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

        def readlink(self, path):
            def op(ctx):
                buf = ctypes.create_string_buffer(4097)
                check(lib.nfs_readlink(ctx, _enc(path), buf, 4096), "readlink", path)
                return buf.value.decode("utf-8", "surrogateescape")

            return self._run("readlink", op, keep_open=True)

        # -- namespace --
        def mkdir(self, path, mode):
            return self._path_op(
                "mkdir", lib.nfs_mkdir2, path, mode & 0o7777, retry_ok=lambda e: e.errno == errno.EEXIST
            )

        def rmdir(self, path):
            # the kernel has checked that path is a directory (NFSv4 REMOVE
            # removes any type)
            return self._path_op("rmdir", lib.nfs_rmdir, path, retry_ok=lambda e: e.errno == errno.ENOENT)

        def unlink(self, path):
            return self._path_op("unlink", lib.nfs_unlink, path, retry_ok=lambda e: e.errno == errno.ENOENT)

        def rename(self, old, new):
            def op(ctx):
                return check(lib.nfs_rename(ctx, _enc(old), _enc(new)), "rename", old + " -> " + new)

            self._run("rename", op, retry_ok=lambda e: e.errno == errno.ENOENT)
            for of in self.files.values():
                if of.path == old:
                    of.path = new
                elif of.path.startswith(old.rstrip("/") + "/"):
                    of.path = new.rstrip("/") + of.path[len(old.rstrip("/")) :]
            return 0

        def symlink(self, target, source):
            # fusepy: create the link `target`, pointing to `source`
            def op(ctx):
                return check(lib.nfs_symlink(ctx, _enc(source), _enc(target)), "symlink", target)

            return self._run("symlink", op, retry_ok=lambda e: e.errno == errno.EEXIST)

        def link(self, target, source):
            # fusepy: create the hard link `target` to the file `source`
            def op(ctx):
                return check(lib.nfs_link(ctx, _enc(source), _enc(target)), "link", target)

            return self._run("link", op)

        # -- attributes --
        def _setattr(self, opname, path, **attrs):
            return self._run(opname, lambda ctx: session.raw.setattr(path, **attrs), keep_open=True)

        def chmod(self, path, mode):
            return self._setattr("chmod", path, mode=mode & 0o7777)

        def chown(self, path, uid, gid):
            uid = None if uid in (-1, 0xFFFFFFFF) else uid
            gid = None if gid in (-1, 0xFFFFFFFF) else gid
            if uid is None and gid is None:
                return 0
            return self._setattr("chown", path, uid=uid, gid=gid)

        def utimens(self, path, times=None):
            # False: leave unchanged, None: server's current time
            if times is None:
                atime = mtime = None
            else:
                atime, mtime = [False if v == UTIME_OMIT else None if v == UTIME_NOW else v for v in times]
            return self._setattr("utimens", path, atime=atime, mtime=mtime)

        def truncate(self, path, length, fh=None):
            if fh is not None and fh.fh in self.files:
                path = self.files[fh.fh].path
            return self._setattr("truncate", path, size=length)

        # -- files --
        def create(self, path, mode, fi):
            flags = fi.flags
            accmode = flags & os.O_ACCMODE
            fid = self._new_fid()

            def op(ctx):
                fhp = ctypes.c_void_p()
                ret = lib.nfs_create(ctx, _enc(path), accmode | (flags & os.O_EXCL), mode & 0o7777, ctypes.byref(fhp))
                if ret == -errno.EEXIST and not flags & os.O_EXCL:
                    # created by someone else since the kernel's lookup:
                    # open(2) semantics without O_EXCL is "open it"
                    session.with_file(ctx, fid, path, accmode, lambda fh: 0, fresh=True)
                    return 0
                check(ret, "create", path)
                session._close_fh(fhp.value, path)
                # libnfs 4.0 creates EXCLUSIVE4 style: mode 0600, verifier in
                # the times; set the real ones
                return session.raw.setattr(path, mode=mode & 0o7777, atime=None, mtime=None)

            self._run("create", op)
            return self._register(fi, fid, path, flags)

        def open(self, path, fi):
            flags = fi.flags
            fid = self._new_fid()
            # opening checks existence and permission; the open is cached for
            # the reads/writes that usually follow
            self._run(
                "open",
                lambda ctx: session.with_file(ctx, fid, path, flags & os.O_ACCMODE, lambda fh: 0, fresh=True),
                keep_open=True,
            )
            return self._register(fi, fid, path, flags)

        def read(self, path, size, offset, fi):
            of = self._file(fi)
            path = path or of.path
            accmode = os.O_RDWR if of.accmode == os.O_RDWR else os.O_RDONLY

            def io(fh):
                buf = ctypes.create_string_buffer(size)
                got = 0
                while got < size:
                    count = min(size - got, session.readmax)
                    n = check(lib.nfs_pread(session.ctx, fh, offset + got, count, ctypes.byref(buf, got)), "read", path)
                    if n == 0:
                        break
                    got += n
                return buf.raw[:got]

            return self._run("read", lambda ctx: session.with_file(ctx, fi.fh, path, accmode, io), keep_open=True)

        def write(self, path, data, offset, fi):
            of = self._file(fi)
            path = path or of.path
            accmode = os.O_RDWR if of.accmode == os.O_RDWR else os.O_WRONLY
            size = len(data)

            def io(fh):
                pos = offset
                if of.append:
                    pos = lstat(session.ctx, path).nfs_size
                buf = ctypes.create_string_buffer(data, size)
                done = 0
                while done < size:
                    count = min(size - done, session.writemax, session.write_chunk)
                    ret = lib.nfs_pwrite(session.ctx, fh, pos + done, count, ctypes.byref(buf, done))
                    if ret < 0 and "encode" in session.error_text() and session.write_chunk > 512:
                        # libnfs 4.0 encodes an NFSv4 WRITE into a ~4 KiB
                        # buffer; a longer file handle leaves less room
                        session.write_chunk //= 2
                        dlog(f"write chunk lowered to {session.write_chunk}")
                        continue
                    n = check(ret, "write", path)
                    if n <= 0:
                        raise NfsError(errno.EIO, f"write {path}: short write")
                    done += n
                return done

            return self._run("write", lambda ctx: session.with_file(ctx, fi.fh, path, accmode, io), keep_open=True)

        def flush(self, path, fi):
            return 0  # writes are sent to the server synchronously

        def fsync(self, path, datasync, fi):
            of = self._file(fi)
            path = path or of.path

            def io(fh):
                return check(lib.nfs_fsync(session.ctx, fh), "fsync", path)

            return self._run("fsync", lambda ctx: session.with_file(ctx, fi.fh, path, of.accmode, io), keep_open=True)

        def release(self, path, fi):
            self.files.pop(fi.fh, None)
            with session.lock:
                c = session.cached
                if c is not None and c.key == fi.fh:
                    session.drop_cached()
            return 0

        def access(self, path, amode):
            return 0  # the server checks permissions on each operation

    return NfsOperations()


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(prog=PROG, description="Mount an NFSv4 export with libnfs over FUSE.")
    p.add_argument("url", help="nfs://SERVER/PSEUDO?version=4[&nfsport=2049]")
    p.add_argument("mountpoint")
    p.add_argument(
        "--foreground",
        "-f",
        action="store_true",
        help="stay in the foreground (default: go to the background once mounted)",
    )
    p.add_argument("--uid", type=int, help="uid sent to the server with every request (AUTH_SYS); default: our own")
    p.add_argument("--gid", type=int, help="gid sent to the server")
    p.add_argument(
        "--wait", type=float, default=0.0, metavar="SECONDS", help="retry the initial mount this long (default 0)"
    )
    p.add_argument(
        "--retry-window",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="after a failure keep reconnecting this long before failing the operation with EIO (default 60)",
    )
    p.add_argument(
        "--timeout", type=int, default=15, metavar="SECONDS", help="RPC timeout, whole seconds (default 15, 0 = none)"
    )
    p.add_argument(
        "--keepalive",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="when idle this long, probe the server and renew the "
        "NFSv4 lease (default 20, 0 = off; keep it below the "
        "server's lease time)",
    )
    p.add_argument(
        "--cache",
        choices=("open", "none"),
        default="open",
        help="open (default): file data may be cached only while "
        "a file is open: dropped on every open and when the "
        "size changes; mmap works.  none: direct_io, no page "
        "cache at all, but no shared mmap (breaks Java 8 "
        "ZipFile on JARs in the mount)",
    )
    p.add_argument(
        "--allow-other",
        dest="allow_other",
        action="store_true",
        default=None,
        help="let other users use the mount (default when run as root)",
    )
    p.add_argument("--no-allow-other", dest="allow_other", action="store_false")
    p.add_argument("--debug", action="store_true", help="log every error")
    p.add_argument("--fuse-debug", action="store_true", help="libfuse debug output (implies foreground)")
    args = p.parse_args(argv)
    if not args.url.startswith("nfs://"):
        p.error("URL must start with nfs://")
    return args


def main(argv=None):
    global _log_fd, _debug
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _debug = args.debug
    # keep our stderr for logging after libfuse redirects fd 2 to /dev/null
    _log_fd = os.dup(2)

    url = args.url
    if "version=" not in urllib.parse.urlsplit(url).query:
        url += ("&" if "?" in url else "?") + "version=4"
    mountpoint = os.path.abspath(args.mountpoint)
    if not os.path.isdir(mountpoint):
        log(f"mount point {mountpoint} is not a directory")
        return 2
    fusepy = import_fusepy()
    if fusepy is None:
        log("fusepy is missing (apt-get install python3-fusepy)")
        return 2
    try:
        lib = load_libnfs()
    except (OSError, AttributeError) as e:
        log(f"cannot load {LIBNFS_SONAME}: {e} (apt-get install libnfs13)")
        return 2

    session = NfsSession(lib, url, uid=args.uid, gid=args.gid, timeout=args.timeout, retry_window=args.retry_window)
    try:
        session.connect_wait(args.wait)
    except NfsError as e:
        log(f"cannot mount {args.url}: {e.strerror}")
        return 1

    ops = make_operations(fusepy, session, direct_io=(args.cache == "none"))
    ops.mountpoint = mountpoint
    ops.keepalive_interval = args.keepalive

    allow_other = args.allow_other
    if allow_other is None:
        allow_other = os.geteuid() == 0
    options = dict(
        fsname=f"labgen-nfs:{session.server}:{session.export}",
        subtype="labgen_nfs",
        attr_timeout=0,
        entry_timeout=0,
        negative_timeout=0,
        use_ino=True,
        big_writes=True,
        max_write=131072,
        max_read=131072,
    )
    if allow_other:
        options["allow_other"] = True
    try:
        # libfuse handles SIGTERM/SIGINT/SIGHUP: it leaves its loop and
        # unmounts; nothreads: libnfs contexts are not thread-safe
        fusepy.FUSE(
            ops,
            mountpoint,
            raw_fi=True,
            foreground=args.foreground or args.fuse_debug,
            nothreads=True,
            debug=args.fuse_debug,
            **options,
        )
    except RuntimeError as e:
        log(f"FUSE failed on {mountpoint}: {e}")
        return 1
    finally:
        ops.stop.set()
        session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
