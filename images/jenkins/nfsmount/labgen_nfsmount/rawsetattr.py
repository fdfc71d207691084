"""SETATTR and WRITE without libnfs.

libnfs 4.0 implements chmod/chown/utimes/truncate over NFSv4 as OPEN +
SETATTR + CLOSE: that fails on directories and symlinks (NFS4ERR_ISDIR) and
destroys the open state of the same file held by the context.  NFSv4 allows
SETATTR with the anonymous stateid, so attribute changes are sent here as
one COMPOUND {PUTROOTFH, LOOKUP..., SETATTR} on a small connection of our
own (ONC RPC over TCP, AUTH_SYS), no client id or open state involved.

libnfs 4.0 also cannot encode an NFSv4 WRITE of more than about 3.9 KiB (its
request buffer has a fixed size), whatever the server's maxwrite.  WRITE with
the anonymous stateid is as legal as SETATTR (RFC 7530 9.1.4.3: the server
checks the caller's access as for a file without an open), so data goes out
here too: {PUTROOTFH, LOOKUP..., WRITE, [COMMIT]} with up to `WRITE_PIECE`
bytes per COMPOUND.

And the calls that need no open state and cost a round trip each with libnfs: GETATTR (the attributes
a stat needs), GETATTR+READ at an open (close-to-open and the first data at once), GETATTR+READDIR
with every entry's attributes (a listing that fills the attribute cache, as READDIRPLUS), and the
attributes of a file and its directory after this mount changed them (the kernel's post-op attributes).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import grp
import os
import pwd
import socket
import struct
import time
from dataclasses import dataclass, field

from labgen_nfsmount import xdr
from labgen_nfsmount.cache import Attrs
from labgen_nfsmount.errors import NfsError
from labgen_nfsmount.libnfs import enc

# NFSv4 status codes (RFC 7530) of a SETATTR answer: name and errno
NFS4_ERRNO = {
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


# bytes of file data per WRITE COMPOUND: under ganesha's default 1 MiB RPC buffers with room for the header
WRITE_PIECE = 512 * 1024
ANONYMOUS_STATEID = b"\0" * 16  # seqid 0, other all zeros
_PUTROOTFH = xdr.u32(xdr.OP_PUTROOTFH)
_SAVEFH, _RESTOREFH = xdr.u32(xdr.OP_SAVEFH), xdr.u32(xdr.OP_RESTOREFH)


@functools.lru_cache(maxsize=65536)
def _lookup(component: str) -> bytes:
    """A LOOKUP of one path component, encoded (a home's names repeat in every call)."""
    return xdr.u32(xdr.OP_LOOKUP) + xdr.opaque(enc(component))


class RawSetattr:
    """Send NFSv4 SETATTR and WRITE compounds (anonymous stateid) to the server."""

    def __init__(self, host: str, port: int, export: str, uid: int, gid: int, timeout: float | None) -> None:
        self.host, self.port = host, port
        self.export_parts = [c for c in export.split("/") if c]
        self.uid, self.gid = uid, gid
        # AUTH_SYS after its stamp: machine name, uid, gid, no other groups (the same in every call)
        machine = socket.gethostname().encode()[:255]
        self._cred_tail = xdr.opaque(machine) + xdr.u32(uid) + xdr.u32(gid) + xdr.u32(0)
        self.timeout = timeout if timeout and timeout > 0 else None
        self.sock: socket.socket | None = None
        self.xid = int.from_bytes(os.urandom(4), "big")

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def setattr(
        self,
        path: str,
        size: int | None = None,
        mode: int | None = None,
        uid: int | None = None,
        gid: int | None = None,
        atime: xdr.SetTime = False,
        mtime: xdr.SetTime = False,
    ) -> int:
        """Set the given attributes of `path` (relative to the export); 0, or NfsError.

        atime/mtime: False = leave, None = server time, int = ns."""
        attrs = self._encode_attrs(size, mode, uid, gid, atime, mtime)
        if not attrs:
            return 0
        fattr = xdr.bitmap([num for num, _ in attrs]) + xdr.opaque(b"".join(v for _, v in attrs))
        ops = self._lookups(path)
        ops.append(xdr.u32(xdr.OP_SETATTR) + ANONYMOUS_STATEID + fattr)
        self._send(self._compound(ops), path, "setattr")
        return 0

    def setattr_created(self, path: str, mode: int) -> tuple[Attrs | None, Attrs | None]:
        """Set the mode and both times (to the server's) of the file `path` just created, and read back
        its directory's attributes and its own in the same COMPOUND (what the kernel client's OPEN
        returns); (directory's, file's)."""
        fattr = _fattr(self._encode_attrs(None, mode, None, None, None, None))
        parts = [c for c in path.split("/") if c]
        ops = self._lookups("/".join(parts[:-1]))
        ops += [_GETATTR_FULL, xdr.u32(xdr.OP_LOOKUP) + xdr.opaque(enc(parts[-1]))]
        ops += [xdr.u32(xdr.OP_SETATTR) + ANONYMOUS_STATEID + fattr, _GETATTR_FULL]
        parent_attrs, attrs = _results(self._send(self._compound(ops), path, "setattr")).attrs
        return parent_attrs, attrs

    def mkdir(self, path: str, mode: int) -> tuple[Attrs | None, Attrs | None]:
        """MKDIR as the kernel client sends it: CREATE of a directory with its mode, and the attributes of
        the new directory and of its parent in the same COMPOUND; (parent's, new directory's), both None
        when only a resend after a lost connection answered (EXIST: the first one did it)."""
        parent, name = _split(path)
        create = xdr.u32(xdr.OP_CREATE) + xdr.u32(xdr.NF4DIR) + xdr.opaque(enc(name))
        create += _fattr(self._encode_attrs(None, mode, None, None, False, False))
        ops = [*self._lookups(parent), _SAVEFH, create, _GETATTR_FULL, _RESTOREFH, _GETATTR_FULL]
        reply = self._send(self._compound(ops), path, "mkdir", resent_ok=xdr.NFS4ERR_EXIST)
        if not reply:
            return None, None
        new_attrs, parent_attrs = _results(reply).attrs
        return parent_attrs, new_attrs

    def rename(self, old: str, new: str) -> tuple[Attrs | None, Attrs | None, Attrs | None]:
        """RENAME in one COMPOUND (the kernel client's), with the attributes it brings back: the source
        directory's, the target directory's and the renamed object's, all None when only a resend after a
        lost connection answered (NOENT: the first one did it)."""
        old_parent, old_name = _split(old)
        new_parent, new_name = _split(new)
        ops = [*self._lookups(old_parent), _SAVEFH, *self._lookups(new_parent)]
        ops += [xdr.u32(xdr.OP_RENAME) + xdr.opaque(enc(old_name)) + xdr.opaque(enc(new_name)), _GETATTR_FULL]
        ops += [_lookup(new_name), _GETATTR_FULL, _RESTOREFH, _GETATTR_FULL]
        reply = self._send(self._compound(ops), f"{old} -> {new}", "rename", resent_ok=xdr.NFS4ERR_NOENT)
        if not reply:
            return None, None, None
        target_dir, renamed, source_dir = _results(reply).attrs
        return source_dir, target_dir, renamed

    def write(self, path: str, offset: int, data: bytes | memoryview, commit: bool) -> tuple[int, Attrs | None]:
        """Write `data` at `offset` of `path` in as few COMPOUNDs as the RPC size allows; with `commit`,
        the data is on the server's disk when this returns (COMMIT in the last COMPOUND), as at close on
        a kernel NFS mount.  The number of bytes written and the file's attributes right after the last
        WRITE (a GETATTR in the same COMPOUND, as the kernel client asks for; None if they cannot be
        told: an owner that is not a number), or NfsError."""
        view = memoryview(data)
        done = 0
        while True:
            piece = view[done : done + WRITE_PIECE]
            last = done + len(piece) >= len(view)
            ops = self._lookups(path)
            ops.append(
                xdr.u32(xdr.OP_WRITE)
                + ANONYMOUS_STATEID
                + xdr.u64(offset + done)
                + xdr.u32(xdr.UNSTABLE4)
                + xdr.opaque(bytes(piece))
            )
            if last and commit:
                ops.append(xdr.u32(xdr.OP_COMMIT) + xdr.u64(0) + xdr.u32(0))
            ops.append(_GETATTR_FULL)
            results = _results(self._send(self._compound(ops), path, "write"))
            written = results.written
            if written <= 0 and piece:
                raise NfsError(errno.EIO, f"write {path}: the server wrote nothing")
            done += written
            if done >= len(view):
                return done, results.attrs[-1]

    def commit(self, path: str) -> None:
        """COMMIT every unstable write of `path` to the server's disk."""
        ops = self._lookups(path)
        ops.append(xdr.u32(xdr.OP_COMMIT) + xdr.u64(0) + xdr.u32(0))
        self._send(self._compound(ops), path, "commit")

    def read(self, path: str, offset: int, count: int) -> tuple[bool, bytes]:
        """Up to `count` bytes of `path` from `offset` in one COMPOUND (fewer at the end of the file), and
        whether they reach the end of the file (READ's eof: no second READ to learn it)."""
        ops = self._lookups(path)
        ops.append(xdr.u32(xdr.OP_READ) + ANONYMOUS_STATEID + xdr.u64(offset) + xdr.u32(count))
        reply = self._send(self._compound(ops), path, "read")
        return _read_result(reply, self._result_of(reply, xdr.OP_READ))

    def getattr(self, path: str, parent: bool = False) -> tuple[Attrs | None, Attrs | None]:
        """The attributes of `path` (and with `parent`, of its directory, in the same COMPOUND: what the
        kernel client gets back after changing a directory); (parent's or None, path's)."""
        parts = [c for c in path.split("/") if c]
        if parent and parts:
            ops = self._lookups("/".join(parts[:-1]))
            ops += [_GETATTR_FULL, xdr.u32(xdr.OP_LOOKUP) + xdr.opaque(enc(parts[-1])), _GETATTR_FULL]
            parent_attrs, attrs = _results(self._send(self._compound(ops), path, "getattr")).attrs
            return parent_attrs, attrs
        ops = self._lookups(path)
        ops.append(_GETATTR_FULL)
        return None, _results(self._send(self._compound(ops), path, "getattr")).attrs[0]

    def open_read(self, path: str, count: int) -> tuple[Attrs | None, bool, bytes]:
        """Close-to-open in one round trip: the attributes of `path` and its first `count` bytes
        (GETATTR and READ in one COMPOUND, the data as of those attributes); (attrs, eof, data)."""
        ops = self._lookups(path)
        ops.append(_GETATTR_FULL)
        ops.append(xdr.u32(xdr.OP_READ) + ANONYMOUS_STATEID + xdr.u64(0) + xdr.u32(count))
        results = _results(self._send(self._compound(ops), path, "read"))
        eof, data = results.read
        return results.attrs[0], eof, data

    def listing(self, path: str, count: int = 65536) -> tuple[Attrs | None, list[tuple[str, Attrs | None]]]:
        """The attributes of directory `path` and its entries with theirs (GETATTR and READDIR in one
        COMPOUND, more READDIRs while the listing goes on): what NFSv4 READDIR gives, as the kernel's
        READDIRPLUS."""
        entries: list[tuple[str, Attrs | None]] = []
        cookie, verifier = 0, b"\0" * 8
        dir_attrs: Attrs | None = None
        while True:
            ops = self._lookups(path)
            if cookie == 0:
                ops.append(_GETATTR_FULL)
            ops.append(
                xdr.u32(xdr.OP_READDIR) + xdr.u64(cookie) + verifier + xdr.u32(count) + xdr.u32(count) + _FULL_BITMAP
            )
            results = _results(self._send(self._compound(ops), path, "readdir"))
            if cookie == 0:
                dir_attrs = results.attrs[0]
            if results.readdir is None:
                raise NfsError(errno.EIO, f"readdir {path}: no READDIR result")
            verifier, more, eof = results.readdir
            entries += [(name, attrs) for _, name, attrs in more if name not in (".", "..")]
            if eof or not more:
                return dir_attrs, entries
            cookie = more[-1][0]  # go on after the last entry

    @staticmethod
    def _result_of(reply: bytes, wanted: int) -> int:
        """Where the result body of operation `wanted` starts in a successful COMPOUND reply of PUTROOTFH,
        LOOKUP... (results without a body) and then `wanted`."""
        pos = _results_offset(reply)
        count = struct.unpack(">I", reply[pos : pos + 4])[0]
        pos += 4
        for _ in range(count):
            op = struct.unpack(">I", reply[pos : pos + 4])[0]
            pos += 8
            if op == wanted:
                return pos
        raise NfsError(errno.EIO, f"no result of operation {wanted} in the reply")

    def _lookups(self, path: str) -> list[bytes]:
        """PUTROOTFH and the LOOKUPs to `path` (relative to the export)."""
        parts = self.export_parts + [c for c in path.split("/") if c]
        return [_PUTROOTFH, *(_lookup(comp) for comp in parts)]

    @staticmethod
    def _compound(ops: list[bytes]) -> bytes:
        return xdr.opaque(b"labgen") + xdr.u32(0) + xdr.u32(len(ops)) + b"".join(ops)

    @staticmethod
    def _encode_attrs(
        size: int | None, mode: int | None, uid: int | None, gid: int | None, atime: xdr.SetTime, mtime: xdr.SetTime
    ) -> list[tuple[int, bytes]]:
        """(attribute number, encoded value) of the attributes to set, in ascending order."""
        attrs = []
        if size is not None:
            attrs.append((xdr.FATTR4_SIZE, xdr.u64(size)))
        if mode is not None:
            attrs.append((xdr.FATTR4_MODE, xdr.u32(mode & 0o7777)))
        if uid is not None:
            attrs.append((xdr.FATTR4_OWNER, xdr.opaque(str(uid).encode())))
        if gid is not None:
            attrs.append((xdr.FATTR4_OWNER_GROUP, xdr.opaque(str(gid).encode())))
        if atime is not False:
            attrs.append((xdr.FATTR4_TIME_ACCESS_SET, xdr.settime(atime)))
        if mtime is not False:
            attrs.append((xdr.FATTR4_TIME_MODIFY_SET, xdr.settime(mtime)))
        return attrs

    def _send(self, payload: bytes, path: str, opname: str, resent_ok: int = 0) -> bytes:
        """Send the COMPOUND: reconnect once after a socket error, wait out DELAY/GRACE a few times; the
        reply of a COMPOUND that succeeded, else NfsError.  A resend after a socket error that fails with
        `resent_ok` (not idempotent: the first send may have done it) answers b"", as a success."""
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
                raise NfsError(errno.EIO, f"{opname} {path}: socket error: {e}") from e
            status = self._status(reply, path)
            if status in (xdr.NFS4ERR_DELAY, xdr.NFS4ERR_GRACE) and delays:
                time.sleep(delays.pop(0))
                continue
            if status == 0:
                return reply
            if reconnected and resent_ok and status == resent_ok:
                return b""
            name, err = NFS4_ERRNO.get(status, (f"NFS4ERR_{status}", errno.EIO))
            raise NfsError(err, f"{opname} {path} failed with {name}({status})")

    # -- ONC RPC --
    def _cred(self) -> bytes:
        body = xdr.u32(int(time.time())) + self._cred_tail
        return xdr.u32(1) + xdr.opaque(body)  # AUTH_SYS

    def _connected(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.sock

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = sock.recv_into(view[got:], n - got)
            if not k:
                raise OSError(errno.ECONNRESET, "connection closed by server")
            got += k
        return bytes(buf)

    def _call(self, payload: bytes) -> bytes:
        """One NFSv4 COMPOUND call; the reply with our xid (record marking, RFC 5531)."""
        self.xid = (self.xid + 1) & 0xFFFFFFFF
        header = [self.xid, 0, 2, xdr.NFS4_PROGRAM, xdr.NFS_V4, xdr.NFSPROC4_COMPOUND]  # xid, CALL, RPC version 2
        verifier = xdr.u32(0) + xdr.u32(0)  # AUTH_NONE
        msg = b"".join(xdr.u32(v) for v in header) + self._cred() + verifier + payload
        sock = self._connected()
        sock.sendall(xdr.u32(0x80000000 | len(msg)) + msg)
        while True:
            fragments = []
            last = False
            while not last:
                mark = struct.unpack(">I", self._recv_exact(sock, 4))[0]
                last = bool(mark & 0x80000000)
                fragments.append(self._recv_exact(sock, mark & 0x7FFFFFFF))
            reply = b"".join(fragments)
            if struct.unpack(">I", reply[:4])[0] == self.xid:
                return reply  # else: a late reply to an old call

    @staticmethod
    def _status(reply: bytes, path: str) -> int:
        """The COMPOUND's status from an RPC reply; NfsError when the call was not accepted."""
        try:
            pos = _status_offset(reply, path)
            return int(struct.unpack(">I", reply[pos : pos + 4])[0])
        except struct.error as e:
            raise NfsError(errno.EIO, f"setattr {path}: bad RPC reply") from e


def _status_offset(reply: bytes, path: str) -> int:
    """Where the COMPOUND status starts in an RPC reply; NfsError when the call was not accepted."""
    msg_type, reply_stat = struct.unpack(">II", reply[4:12])
    if msg_type != 1 or reply_stat != 0:
        raise NfsError(errno.EIO, f"nfs {path}: RPC denied")
    vlen = struct.unpack(">I", reply[16:20])[0]
    pos = 20 + vlen + (-vlen % 4)
    accept_stat = struct.unpack(">I", reply[pos : pos + 4])[0]
    if accept_stat != 0:
        raise NfsError(errno.EIO, f"nfs {path}: RPC accept_stat {accept_stat}")
    return pos + 4


# the attributes a stat needs (what libnfs's stat asks for), in attribute-number order
_FULL_ATTRS = (
    xdr.FATTR4_TYPE,
    xdr.FATTR4_SIZE,
    xdr.FATTR4_FILEID,
    xdr.FATTR4_MODE,
    xdr.FATTR4_NUMLINKS,
    xdr.FATTR4_OWNER,
    xdr.FATTR4_OWNER_GROUP,
    xdr.FATTR4_RAWDEV,
    xdr.FATTR4_SPACE_USED,
    xdr.FATTR4_TIME_ACCESS,
    xdr.FATTR4_TIME_METADATA,
    xdr.FATTR4_TIME_MODIFY,
)
_FULL_BITMAP = xdr.bitmap(list(_FULL_ATTRS))
_FULL_MASK = sum(1 << num for num in _FULL_ATTRS)
_GETATTR_FULL = xdr.u32(xdr.OP_GETATTR) + _FULL_BITMAP
# nfs_ftype4 -> the S_IFMT bits of st_mode
_FTYPE = {1: 0o100000, 2: 0o040000, 3: 0o060000, 4: 0o020000, 5: 0o120000, 6: 0o140000, 7: 0o010000}


@functools.lru_cache(maxsize=256)
def _id(text: bytes, user: bool) -> int | None:
    """The id of an owner or group string: a number (ganesha's answer for an id it has no name for), or
    `name@domain` looked up here as libnfs does (None when unknown here: then libnfs is asked)."""
    if text.isdigit():
        return int(text)
    name = text.split(b"@", 1)[0].decode("utf-8", "replace")
    try:
        return pwd.getpwnam(name).pw_uid if user else grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def decode_fattr(buf: bytes, pos: int) -> tuple[Attrs | None, int]:
    """A fattr4 at `pos`: FUSE stat attributes (None when they cannot be told: a name as owner, or an
    attribute missing), and where the fattr4 ends."""
    words = struct.unpack(">I", buf[pos : pos + 4])[0]
    mask = 0
    for i in range(words):
        mask |= struct.unpack(">I", buf[pos + 4 + 4 * i : pos + 8 + 4 * i])[0] << (32 * i)
    pos += 4 + 4 * words
    length = struct.unpack(">I", buf[pos : pos + 4])[0]
    pos += 4
    end = pos + length + (-length % 4)
    if mask != _FULL_MASK:  # not what we asked for
        return None, end
    vals: dict[int, int | None] = {}
    for num in _FULL_ATTRS:
        if num in (xdr.FATTR4_TYPE, xdr.FATTR4_MODE, xdr.FATTR4_NUMLINKS):
            vals[num] = struct.unpack(">I", buf[pos : pos + 4])[0]
            pos += 4
        elif num in (xdr.FATTR4_SIZE, xdr.FATTR4_FILEID, xdr.FATTR4_SPACE_USED):
            vals[num] = struct.unpack(">Q", buf[pos : pos + 8])[0]
            pos += 8
        elif num in (xdr.FATTR4_OWNER, xdr.FATTR4_OWNER_GROUP):
            n = struct.unpack(">I", buf[pos : pos + 4])[0]
            vals[num] = _id(bytes(buf[pos + 4 : pos + 4 + n]), num == xdr.FATTR4_OWNER)
            pos += 4 + n + (-n % 4)
        elif num == xdr.FATTR4_RAWDEV:
            major, minor = struct.unpack(">II", buf[pos : pos + 8])
            vals[num] = os.makedev(major, minor)
            pos += 8
        else:  # nfstime4
            sec, nsec = struct.unpack(">qI", buf[pos : pos + 12])
            vals[num] = sec * 10**9 + nsec
            pos += 12
    if None in vals.values():
        return None, end
    v: dict[int, int] = vals  # type: ignore[assignment]  # (no None left)
    attrs = {
        "st_mode": _FTYPE.get(v[xdr.FATTR4_TYPE], 0) | v[xdr.FATTR4_MODE] & 0o7777,
        "st_ino": v[xdr.FATTR4_FILEID],
        "st_nlink": v[xdr.FATTR4_NUMLINKS],
        "st_uid": v[xdr.FATTR4_OWNER],
        "st_gid": v[xdr.FATTR4_OWNER_GROUP],
        "st_rdev": v[xdr.FATTR4_RAWDEV],
        "st_size": v[xdr.FATTR4_SIZE],
        "st_blksize": 4096,
        "st_blocks": (v[xdr.FATTR4_SPACE_USED] + 511) // 512,
        "st_atime": v[xdr.FATTR4_TIME_ACCESS],
        "st_mtime": v[xdr.FATTR4_TIME_MODIFY],
        "st_ctime": v[xdr.FATTR4_TIME_METADATA],
    }
    return attrs, end


DirEntry = tuple[int, str, "Attrs | None"]  # cookie, name, attributes


@dataclass
class Results:
    """What a successful COMPOUND reply answered: each GETATTR's attributes in order (None: not told),
    the READ's (eof, data), the READDIR's (verifier, entries, eof), the WRITE's count."""

    attrs: list[Attrs | None] = field(default_factory=list)
    read: tuple[bool, bytes] = (False, b"")
    readdir: tuple[bytes, list[DirEntry], bool] | None = None
    written: int = 0


def _results(reply: bytes) -> Results:
    """Decode every operation's result of a successful COMPOUND reply."""
    pos = _results_offset(reply)
    count = struct.unpack(">I", reply[pos : pos + 4])[0]
    pos += 4
    out = Results()
    for _ in range(count):
        op = struct.unpack(">I", reply[pos : pos + 4])[0]
        pos += 8  # op, status (0: the COMPOUND succeeded)
        if op == xdr.OP_GETATTR:
            attrs, pos = decode_fattr(reply, pos)
            out.attrs.append(attrs)
        elif op == xdr.OP_READ:
            out.read = _read_result(reply, pos)
            n = len(out.read[1])
            pos += 8 + n + (-n % 4)
        elif op == xdr.OP_READDIR:
            out.readdir, pos = _readdir_result(reply, pos)
        elif op == xdr.OP_WRITE:
            out.written = struct.unpack(">I", reply[pos : pos + 4])[0]
            pos += 16  # count, committed, verifier
        elif op == xdr.OP_COMMIT:
            pos += 8
        elif op == xdr.OP_CREATE:
            words = struct.unpack(">I", reply[pos + 20 : pos + 24])[0]
            pos += 24 + 4 * words  # change_info4, then the attributes set
        elif op == xdr.OP_RENAME:
            pos += 40  # the source's and the target's change_info4
        elif op == xdr.OP_SETATTR:
            words = struct.unpack(">I", reply[pos : pos + 4])[0]
            pos += 4 + 4 * words
    return out


def _split(path: str) -> tuple[str, str]:
    """(parent directory, name) of a path below the export's root."""
    parent, _, name = path.rstrip("/").rpartition("/")
    if not name:
        raise NfsError(errno.EINVAL, f"{path!r} names no entry of a directory")
    return parent or "/", name


def _fattr(values: list[tuple[int, bytes]]) -> bytes:
    """fattr4 of (attribute number, encoded value) pairs in ascending order."""
    return xdr.bitmap([num for num, _ in values]) + xdr.opaque(b"".join(v for _, v in values))


def _readdir_result(reply: bytes, pos: int) -> tuple[tuple[bytes, list[DirEntry], bool], int]:
    verifier = reply[pos : pos + 8]
    pos += 8
    entries = []
    while struct.unpack(">I", reply[pos : pos + 4])[0]:
        cookie, n = struct.unpack(">QI", reply[pos + 4 : pos + 16])
        name = reply[pos + 16 : pos + 16 + n].decode("utf-8", "surrogateescape")
        pos += 16 + n + (-n % 4)
        attrs, pos = decode_fattr(reply, pos)
        entries.append((cookie, name, attrs))
    eof = bool(struct.unpack(">I", reply[pos + 4 : pos + 8])[0])
    return (verifier, entries, eof), pos + 8


def _read_result(reply: bytes, pos: int) -> tuple[bool, bytes]:
    """(eof, data) of a READ result body at `pos`."""
    eof, length = struct.unpack(">II", reply[pos : pos + 8])
    return bool(eof), reply[pos + 8 : pos + 8 + length]


def _results_offset(reply: bytes) -> int:
    """Where the result array (its count) starts in a COMPOUND reply: after status and tag."""
    pos = _status_offset(reply, "") + 4
    taglen = struct.unpack(">I", reply[pos : pos + 4])[0]
    return pos + 4 + taglen + (-taglen % 4)
