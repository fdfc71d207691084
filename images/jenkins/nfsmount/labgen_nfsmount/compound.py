"""labgen's own NFSv4 client: COMPOUNDs without libnfs, with the anonymous stateid.

libnfs 4.0 implements chmod/chown/utimes/truncate over NFSv4 as OPEN +
SETATTR + CLOSE: that fails on directories and symlinks (NFS4ERR_ISDIR) and
destroys the open state of the same file held by the context.  NFSv4 allows
SETATTR with the anonymous stateid, so attribute changes are sent here as
one COMPOUND {PUTROOTFH, LOOKUP..., SETATTR} on a small connection of our
own (ONC RPC over TCP, AUTH_SYS: rpc), no open state involved.

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

A regular file is created here too, with the only state this client keeps (openstate): OPEN with its
mode, and its CLOSE in front of the first WRITE, as the kernel client sends them, where libnfs 4.0
needed four round trips before the first WRITE.

This module encodes the operations and sends them (retries in `_send`); replies decodes the answers.
"""

from __future__ import annotations

import errno
import functools
import struct
import time

from labgen_nfsmount import xdr
from labgen_nfsmount.cache import Attrs
from labgen_nfsmount.errors import NfsError
from labgen_nfsmount.libnfs import enc
from labgen_nfsmount.log import dlog
from labgen_nfsmount.openstate import CLIENT_ID_LOST, HeldOpen, OpenOwner, putfh
from labgen_nfsmount.replies import (
    FULL_BITMAP,
    NFS4_ERRNO,
    compound_status,
    decode_read,
    decode_results,
    result_count,
    result_of,
)
from labgen_nfsmount.rpc import RpcConnection

# bytes of file data per WRITE COMPOUND: under ganesha's default 1 MiB RPC buffers with room for the header
WRITE_PIECE = 512 * 1024
ANONYMOUS_STATEID = b"\0" * 16  # seqid 0, other all zeros
_PUTROOTFH = xdr.u32(xdr.OP_PUTROOTFH)
_SAVEFH, _RESTOREFH, _GETFH = xdr.u32(xdr.OP_SAVEFH), xdr.u32(xdr.OP_RESTOREFH), xdr.u32(xdr.OP_GETFH)
_GETATTR_FULL = xdr.u32(xdr.OP_GETATTR) + FULL_BITMAP


@functools.lru_cache(maxsize=65536)
def _lookup(component: str) -> bytes:
    """A LOOKUP of one path component, encoded (a home's names repeat in every call)."""
    return xdr.u32(xdr.OP_LOOKUP) + xdr.opaque(enc(component))


class CompoundClient:
    """Send NFSv4 COMPOUNDs (GETATTR, READ, READDIR, WRITE, COMMIT, SETATTR, CREATE, RENAME with the
    anonymous stateid; OPEN and CLOSE to create a file) to the server, each as one RPC of our own
    connection."""

    def __init__(self, host: str, port: int, export: str, uid: int, gid: int, timeout: float | None) -> None:
        self.export_parts = [c for c in export.split("/") if c]
        self.uid, self.gid = uid, gid
        self.rpc = RpcConnection(host, port, uid, gid, timeout)
        self.opens = OpenOwner()

    def close(self) -> None:
        self.rpc.close()

    def create(
        self, path: str, mode: int, exclusive: bool, hold: bool = False
    ) -> tuple[Attrs | None, Attrs | None, HeldOpen | None]:
        """Create the regular file `path` with `mode` as the kernel client does: one OPEN (with the
        attributes of the new file and of its directory in the same COMPOUND), then its CLOSE; without
        `exclusive` an existing file is opened instead (no error, its mode unchanged).  With `hold` the
        CLOSE is left to the caller: `write(close=...)` or `close_held`.  (directory's, file's
        attributes, the open held or None), or NfsError."""
        lost_client = False
        delays = [0.1, 0.3, 1.0]
        while True:
            try:
                return self._create(path, mode, exclusive, hold)
            except CompoundError as e:
                if e.status in CLIENT_ID_LOST and not lost_client:
                    lost_client = True
                    self.opens.forget_client()
                elif e.status in (xdr.NFS4ERR_DELAY, xdr.NFS4ERR_GRACE) and delays:
                    time.sleep(delays.pop(0))  # encoded again: a resend of the same sequence id is a replay
                else:
                    raise

    def _create(
        self, path: str, mode: int, exclusive: bool, hold: bool
    ) -> tuple[Attrs | None, Attrs | None, HeldOpen | None]:
        opens = self.opens
        if opens.clientid is None:
            self._set_client_id()
        parent, name = _split(path)
        fattr = _fattr(self._encode_attrs(None, mode, None, None, False, False))
        ops = [*self._lookups(parent), _SAVEFH]
        open_at = len(ops)
        ops += [opens.open_create(name, fattr, exclusive), _GETFH, _GETATTR_FULL, _RESTOREFH, _GETATTR_FULL]
        try:
            results = decode_results(self._send(self._compound(ops), path, "create", seqid_op=True))
        except CompoundError as e:
            opens.settle(e.failed_at, open_at, e.status)
            raise
        opened, fh = results.opened, results.fh
        if opened is None or not fh:
            raise NfsError(errno.EIO, f"create {path}: no OPEN result or file handle in the reply")
        stateid = opened.stateid
        if opened.confirm:  # a new owner's first OPEN
            confirm = [putfh(fh), opens.open_confirm(stateid)]
            try:
                reply = self._send(self._compound(confirm), path, "open_confirm", seqid_op=True)
            except CompoundError:
                opens.reset()  # an unconfirmed owner (with no other open): the server drops it
                raise
            stateid = decode_results(reply).stateid
        held = HeldOpen(opens, opens.owner, fh, stateid, opened.delegation)
        file_attrs, parent_attrs = results.attrs
        if hold:
            return parent_attrs, file_attrs, held
        self.close_held(held, path)
        return parent_attrs, file_attrs, None

    def close_held(self, held: HeldOpen, path: str) -> None:
        """Send the CLOSE of an open `create` held; a failure is logged (the file is there, the state
        ends with the lease)."""
        closing = held.closing()
        if not closing:
            return
        try:
            self._send(self._compound(closing), path, "close", seqid_op=True)
        except CompoundError as e:
            dlog(f"close {path}: {e.strerror}")
            held.opens.settle(e.failed_at, HeldOpen.CLOSE_AT, e.status)

    def _set_client_id(self) -> None:
        """SETCLIENTID and its CONFIRM: the client id every OPEN of this connection names."""
        opens = self.opens
        reply = self._send(self._compound([opens.setclientid()]), "/", "setclientid")
        clientid = decode_results(reply).clientid
        if clientid is None:
            raise NfsError(errno.EIO, "setclientid: no client id in the reply")
        self._send(self._compound([opens.setclientid_confirm(*clientid)]), "/", "setclientid_confirm")
        opens.clientid = clientid[0]
        opens.reset()

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
        new_attrs, parent_attrs = decode_results(reply).attrs
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
        target_dir, renamed, source_dir = decode_results(reply).attrs
        return source_dir, target_dir, renamed

    def write(
        self, path: str, offset: int, data: bytes | memoryview, commit: bool, close: HeldOpen | None = None
    ) -> tuple[int, Attrs | None]:
        """Write `data` at `offset` of `path` in as few COMPOUNDs as the RPC size allows; with `commit`,
        the data is on the server's disk when this returns (COMMIT in the last COMPOUND), as at close on
        a kernel NFS mount; `close`: the CLOSE of the open `create` held goes in front of the first
        WRITE (sent again without it when the CLOSE fails).  The number of bytes written and the file's
        attributes right after the last WRITE (a GETATTR in the same COMPOUND, as the kernel client asks
        for; None if they cannot be told: an owner that is not a number), or NfsError."""
        view = memoryview(data)
        done = 0
        front = close.closing() if close is not None else []
        while True:
            piece = view[done : done + WRITE_PIECE]
            last = done + len(piece) >= len(view)
            ops = [*front, *self._lookups(path)]
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
            try:
                results = decode_results(self._send(self._compound(ops), path, "write", seqid_op=bool(front)))
            except CompoundError as e:
                if close is None or not front:
                    raise
                close.opens.settle(e.failed_at, HeldOpen.CLOSE_AT, e.status)
                if not 0 <= e.failed_at < len(front):
                    raise
                dlog(f"close {path}: {e.strerror}")  # the file's CLOSE, not the WRITE: without it
                front = []
                continue
            front = []
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
        return decode_read(reply, result_of(reply, xdr.OP_READ))

    def readlink(self, path: str) -> bytes:
        """The target of symbolic link `path`, exactly as many bytes as the server has (libnfs 4.0's
        nfs_readlink leaves what follows them in its buffer unterminated)."""
        ops = self._lookups(path)
        ops.append(xdr.u32(xdr.OP_READLINK))
        reply = self._send(self._compound(ops), path, "readlink")
        pos = result_of(reply, xdr.OP_READLINK)
        (length,) = struct.unpack(">I", reply[pos : pos + 4])
        return reply[pos + 4 : pos + 4 + length]

    def getattr(self, path: str, parent: bool = False) -> tuple[Attrs | None, Attrs | None]:
        """The attributes of `path` (and with `parent`, of its directory, in the same COMPOUND: what the
        kernel client gets back after changing a directory); (parent's or None, path's)."""
        parts = [c for c in path.split("/") if c]
        if parent and parts:
            ops = self._lookups("/".join(parts[:-1]))
            ops += [_GETATTR_FULL, xdr.u32(xdr.OP_LOOKUP) + xdr.opaque(enc(parts[-1])), _GETATTR_FULL]
            parent_attrs, attrs = decode_results(self._send(self._compound(ops), path, "getattr")).attrs
            return parent_attrs, attrs
        ops = self._lookups(path)
        ops.append(_GETATTR_FULL)
        return None, decode_results(self._send(self._compound(ops), path, "getattr")).attrs[0]

    def open_read(self, path: str, count: int) -> tuple[Attrs | None, bool, bytes]:
        """Close-to-open in one round trip: the attributes of `path` and its first `count` bytes
        (GETATTR and READ in one COMPOUND, the data as of those attributes); (attrs, eof, data)."""
        ops = self._lookups(path)
        ops.append(_GETATTR_FULL)
        ops.append(xdr.u32(xdr.OP_READ) + ANONYMOUS_STATEID + xdr.u64(0) + xdr.u32(count))
        results = decode_results(self._send(self._compound(ops), path, "read"))
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
                xdr.u32(xdr.OP_READDIR) + xdr.u64(cookie) + verifier + xdr.u32(count) + xdr.u32(count) + FULL_BITMAP
            )
            results = decode_results(self._send(self._compound(ops), path, "readdir"))
            if cookie == 0:
                dir_attrs = results.attrs[0]
            if results.readdir is None:
                raise NfsError(errno.EIO, f"readdir {path}: no READDIR result")
            verifier, more, eof = results.readdir
            entries += [(name, attrs) for _, name, attrs in more if name not in (".", "..")]
            if eof or not more:
                return dir_attrs, entries
            cookie = more[-1][0]  # go on after the last entry

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

    def _send(self, payload: bytes, path: str, opname: str, resent_ok: int = 0, seqid_op: bool = False) -> bytes:
        """Send the COMPOUND: reconnect once after a socket error, wait out DELAY/GRACE a few times (not
        with `seqid_op`: the same bytes again would be a replay of a sequence id the server moved past);
        the reply of a COMPOUND that succeeded, else NfsError.  A resend after a socket error that fails
        with `resent_ok` (not idempotent: the first send may have done it) answers b"", as a success."""
        reconnected = False
        delays = [0.1, 0.3, 1.0]
        while True:
            try:
                reply = self.rpc.call(payload)
            except OSError as e:  # includes socket.timeout
                self.close()
                if not reconnected:  # e.g. the server restarted
                    reconnected = True
                    continue
                raise NfsError(errno.EIO, f"{opname} {path}: socket error: {e}") from e
            status = compound_status(reply, path)
            if status in (xdr.NFS4ERR_DELAY, xdr.NFS4ERR_GRACE) and delays and not seqid_op:
                time.sleep(delays.pop(0))
                continue
            if status == 0:
                return reply
            if reconnected and resent_ok and status == resent_ok:
                return b""
            name, err = NFS4_ERRNO.get(status, (f"NFS4ERR_{status}", errno.EIO))
            error = CompoundError(err, f"{opname} {path} failed with {name}({status})")
            error.status, error.failed_at = status, result_count(reply) - 1
            raise error


class CompoundError(NfsError):
    """A COMPOUND the server answered with an error: `status` is its NFSv4 status, `failed_at` the
    index of the operation that failed."""

    status = 0
    failed_at = 0


def _split(path: str) -> tuple[str, str]:
    """(parent directory, name) of a path below the export's root."""
    parent, _, name = path.rstrip("/").rpartition("/")
    if not name:
        raise NfsError(errno.EINVAL, f"{path!r} names no entry of a directory")
    return parent or "/", name


def _fattr(values: list[tuple[int, bytes]]) -> bytes:
    """fattr4 of (attribute number, encoded value) pairs in ascending order."""
    return xdr.bitmap([num for num, _ in values]) + xdr.opaque(b"".join(v for _, v in values))
