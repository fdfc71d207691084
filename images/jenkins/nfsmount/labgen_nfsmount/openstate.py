"""NFSv4.0 open state of our own COMPOUND client: a client id and one open-owner per connection.

A regular file can only be created by OPEN (RFC 7530 16.16), which needs a client id (SETCLIENTID and its
CONFIRM), an open-owner whose sequence id goes up by one with every OPEN, OPEN_CONFIRM and CLOSE, and a
CLOSE of the stateid it returns.  libnfs 4.0's create costs an OPEN, an OPEN_CONFIRM for each new file,
then our CLOSE and a SETATTR (it creates EXCLUSIVE4 style, mode 0600); here it is one OPEN with the mode
(the owner confirmed once per connection) and one CLOSE, as the kernel client sends them.

Sequence ids follow RFC 7530's rules: a failed COMPOUND moves the owner's sequence on only when the
server got as far as its OPEN, OPEN_CONFIRM or CLOSE and failed it with an error that is not one of
SEQID_KEPT (`settle`); only BAD_SEQID (or a failed OPEN_CONFIRM) gives up the owner, and the next
create starts a new one.  An owner's opens are never left behind while it creates on: their leases
would be renewed by every later call.  The CLOSE of a new file goes in front of its
first WRITE (`HeldOpen`), so a create and a write cost two round trips as on a kernel mount; a file held
open longer than the lease (no WRITE or release for a minute) loses that state, and its CLOSE fails
harmlessly.  A lease that runs out also forgets the client id: a stale one is set up again and the create
sent once more.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
from dataclasses import dataclass

from labgen_nfsmount import xdr

OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_NONE = 3, 0
OPEN4_CREATE, UNCHECKED4, GUARDED4, CLAIM_NULL = 1, 0, 1, 0
OPEN4_RESULT_CONFIRM = 2
OPEN_DELEGATE_NONE, OPEN_DELEGATE_READ, OPEN_DELEGATE_WRITE = 0, 1, 2
# the client id is gone (lease expired, server restarted): set it up again and resend
CLIENT_ID_LOST = frozenset({xdr.NFS4ERR_STALE_CLIENTID, xdr.NFS4ERR_EXPIRED})
# a seqid-bearing operation that fails with one of these leaves the owner's sequence where it was
# (RFC 7530 9.1.7); with any other error the server moved on by one as after a success
SEQID_KEPT = frozenset(
    {
        10018,  # NFS4ERR_RESOURCE
        10019,  # NFS4ERR_MOVED
        10020,  # NFS4ERR_NOFILEHANDLE
        10022,  # NFS4ERR_STALE_CLIENTID
        10023,  # NFS4ERR_STALE_STATEID
        10025,  # NFS4ERR_BAD_STATEID
        10026,  # NFS4ERR_BAD_SEQID
        10036,  # NFS4ERR_BADXDR
    }
)
NFS4ERR_BAD_SEQID = 10026

_owners = itertools.count(1)


@dataclass
class HeldOpen:
    """An OPEN of a created file not closed yet: its CLOSE goes in front of the file's first WRITE (or
    alone at release), one round trip fewer per file written at once, as Jenkins writes a new file."""

    opens: OpenOwner
    owner: bytes  # the owner it was opened by: after a reset, its sequence is lost and so is this open
    fh: bytes
    stateid: bytes
    delegation: bytes
    sent: bool = False  # its CLOSE went out (once only)

    CLOSE_AT = 1  # the CLOSE's index in `closing()`

    def closing(self) -> list[bytes]:
        """PUTFH, CLOSE (and DELEGRETURN) with the owner's next sequence id, the first time; [] after, or
        when the owner was replaced since (the state ends with the lease)."""
        if self.sent or self.owner != self.opens.owner:
            return []
        self.sent = True
        ops = [putfh(self.fh), self.opens.close(self.stateid)]
        if self.delegation:  # not asked for (no callback path): given back at once
            ops.append(delegreturn(self.delegation))
        return ops


@dataclass
class OpenResult:
    """What an OPEN answered: its stateid, whether it must be confirmed, a delegation's stateid (b"" for
    none), and where its result ends in the reply."""

    stateid: bytes
    confirm: bool
    delegation: bytes
    end: int


class OpenOwner:
    """The client id and open-owner of one connection, with the owner's next sequence id."""

    def __init__(self) -> None:
        self.verifier = os.urandom(8)  # one "boot" of this client
        self.name = f"labgen-nfsmount/{socket.gethostname()}/{os.getpid()}/{os.urandom(6).hex()}".encode()
        self.clientid: int | None = None
        self.owner = b""
        self.seqid = 0
        self.confirmed = False

    def forget_client(self) -> None:
        """The client id is gone: the next call sets up a new one, as a new boot (a new verifier)."""
        self.clientid = None
        self.verifier = os.urandom(8)
        self.reset()

    def reset(self) -> None:
        """A new owner, from sequence id 0 (its first OPEN is confirmed)."""
        self.owner = f"open-{next(_owners)}".encode()
        self.seqid = 0
        self.confirmed = False

    def settle(self, failed_at: int, seqid_op_at: int, status: int) -> None:
        """After a COMPOUND whose one seqid-bearing operation is at `seqid_op_at` failed at operation
        `failed_at` with `status`: the sequence as the server has it (calls of one owner are serialized,
        so the failed one was the last encoded)."""
        if status == NFS4ERR_BAD_SEQID:
            self.reset()
        elif failed_at < seqid_op_at or (failed_at == seqid_op_at and status in SEQID_KEPT):
            self.seqid = (self.seqid - 1) & 0xFFFFFFFF

    def next_seqid(self) -> int:
        seqid, self.seqid = self.seqid, (self.seqid + 1) & 0xFFFFFFFF
        return seqid

    # -- operations, encoded --
    def setclientid(self) -> bytes:
        """SETCLIENTID without a callback path (no delegations are wanted)."""
        callback = xdr.u32(0) + xdr.opaque(b"tcp") + xdr.opaque(b"0.0.0.0.0.0")
        return xdr.u32(xdr.OP_SETCLIENTID) + self.verifier + xdr.opaque(self.name) + callback + xdr.u32(0)

    @staticmethod
    def setclientid_confirm(clientid: int, confirm: bytes) -> bytes:
        return xdr.u32(xdr.OP_SETCLIENTID_CONFIRM) + xdr.u64(clientid) + confirm

    def open_create(self, name: str, fattr: bytes, exclusive: bool) -> bytes:
        """OPEN of `name` in the current directory for reading and writing, created with `fattr` when it
        is not there (GUARDED4: an existing one fails with EXIST; UNCHECKED4: it is opened)."""
        assert self.clientid is not None
        how = xdr.u32(OPEN4_CREATE) + xdr.u32(GUARDED4 if exclusive else UNCHECKED4) + fattr
        return (
            xdr.u32(xdr.OP_OPEN)
            + xdr.u32(self.next_seqid())
            + xdr.u32(OPEN4_SHARE_ACCESS_BOTH)
            + xdr.u32(OPEN4_SHARE_DENY_NONE)
            + xdr.u64(self.clientid)
            + xdr.opaque(self.owner)
            + how
            + xdr.u32(CLAIM_NULL)
            + xdr.opaque(name.encode("utf-8", "surrogateescape"))
        )

    def open_confirm(self, stateid: bytes) -> bytes:
        return xdr.u32(xdr.OP_OPEN_CONFIRM) + stateid + xdr.u32(self.next_seqid())

    def close(self, stateid: bytes) -> bytes:
        return xdr.u32(xdr.OP_CLOSE) + xdr.u32(self.next_seqid()) + stateid


def putfh(fh: bytes) -> bytes:
    return xdr.u32(xdr.OP_PUTFH) + xdr.opaque(fh)


def delegreturn(stateid: bytes) -> bytes:
    return xdr.u32(xdr.OP_DELEGRETURN) + stateid


def decode_setclientid(reply: bytes, pos: int) -> tuple[int, bytes]:
    """(clientid, confirm verifier) of a SETCLIENTID result body at `pos`."""
    (clientid,) = struct.unpack(">Q", reply[pos : pos + 8])
    return clientid, reply[pos + 8 : pos + 16]


def decode_open(reply: bytes, pos: int) -> OpenResult:
    """An OPEN4resok at `pos`: stateid, change_info4, rflags, attrset, delegation."""
    stateid = reply[pos : pos + 16]
    pos += 16 + 20  # stateid, change_info4
    rflags, words = struct.unpack(">II", reply[pos : pos + 8])
    pos += 8 + 4 * words
    (kind,) = struct.unpack(">I", reply[pos : pos + 4])
    pos += 4
    delegation = b""
    if kind in (OPEN_DELEGATE_READ, OPEN_DELEGATE_WRITE):
        delegation = reply[pos : pos + 16]
        pos += 16 + 4  # stateid, recall
        if kind == OPEN_DELEGATE_WRITE:
            pos += 12  # nfs_space_limit4: limitby, then a size or two block counts
        (who,) = struct.unpack(">I", reply[pos + 12 : pos + 16])  # nfsace4: type, flag, mask, who
        pos += 16 + who + (-who % 4)
    return OpenResult(stateid, bool(rflags & OPEN4_RESULT_CONFIRM), delegation, pos)
