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
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
import time

from labgen_nfsmount import xdr
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


class RawSetattr:
    """Send NFSv4 SETATTR and WRITE compounds (anonymous stateid) to the server."""

    def __init__(self, host: str, port: int, export: str, uid: int, gid: int, timeout: float | None) -> None:
        self.host, self.port = host, port
        self.export_parts = [c for c in export.split("/") if c]
        self.uid, self.gid = uid, gid
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

    def write(self, path: str, offset: int, data: bytes | memoryview, commit: bool) -> tuple[int, Stamp]:
        """Write `data` at `offset` of `path` in as few COMPOUNDs as the RPC size allows; with `commit`,
        the data is on the server's disk when this returns (COMMIT in the last COMPOUND), as at close on
        a kernel NFS mount.  The number of bytes written and the file's (mtime ns, ctime ns, size) right
        after the last WRITE (a GETATTR in the same COMPOUND, as the kernel client asks for), or NfsError."""
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
            ops.append(xdr.u32(xdr.OP_GETATTR) + xdr.bitmap(list(_STAMP_ATTRS)))
            reply = self._send(self._compound(ops), path, "write")
            pos = self._result_of(reply, xdr.OP_WRITE)
            written = int(struct.unpack(">I", reply[pos : pos + 4])[0])
            if written <= 0 and piece:
                raise NfsError(errno.EIO, f"write {path}: the server wrote nothing")
            done += written
            if done >= len(view):
                pos += 16  # count, committed, verifier
                if last and commit:
                    pos += 16  # COMMIT: op, status, verifier
                return done, _stamp(reply, pos + 8)  # after GETATTR's op and status

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
        return [xdr.u32(xdr.OP_PUTROOTFH), *(xdr.u32(xdr.OP_LOOKUP) + xdr.opaque(enc(comp)) for comp in parts)]

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

    def _send(self, payload: bytes, path: str, opname: str) -> bytes:
        """Send the COMPOUND: reconnect once after a socket error, wait out DELAY/GRACE a few times; the
        reply of a COMPOUND that succeeded, else NfsError."""
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
            name, err = NFS4_ERRNO.get(status, (f"NFS4ERR_{status}", errno.EIO))
            raise NfsError(err, f"{opname} {path} failed with {name}({status})")

    # -- ONC RPC --
    def _cred(self) -> bytes:
        machine = socket.gethostname().encode()[:255]
        body = xdr.u32(int(time.time())) + xdr.opaque(machine) + xdr.u32(self.uid) + xdr.u32(self.gid) + xdr.u32(0)
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


# GETATTR of what tells a change: size, time_metadata (ctime), time_modify (mtime)
_STAMP_ATTRS = (xdr.FATTR4_SIZE, xdr.FATTR4_TIME_METADATA, xdr.FATTR4_TIME_MODIFY)
Stamp = tuple[int, int, int]  # (mtime ns, ctime ns, size), as labgen_nfsmount.cache compares


def _stamp(reply: bytes, pos: int) -> Stamp:
    """(mtime ns, ctime ns, size) from the fattr4 at `pos` holding exactly _STAMP_ATTRS."""
    words = struct.unpack(">I", reply[pos : pos + 4])[0]
    pos += 4 + 4 * words + 4  # the bitmap, the attribute list's length
    size, csec, cnsec, msec, mnsec = struct.unpack(">QqIqI", reply[pos : pos + 32])
    return (msec * 10**9 + mnsec, csec * 10**9 + cnsec, size)


def _read_result(reply: bytes, pos: int) -> tuple[bool, bytes]:
    """(eof, data) of a READ result body at `pos`."""
    eof, length = struct.unpack(">II", reply[pos : pos + 8])
    return bool(eof), reply[pos + 8 : pos + 8 + length]


def _results_offset(reply: bytes) -> int:
    """Where the result array (its count) starts in a COMPOUND reply: after status and tag."""
    pos = _status_offset(reply, "") + 4
    taglen = struct.unpack(">I", reply[pos : pos + 4])[0]
    return pos + 4 + taglen + (-taglen % 4)
