"""XDR (RFC 4506) encoding of the few ONC-RPC and NFSv4 items the COMPOUND client sends."""

from __future__ import annotations

import struct
from typing import Literal, Union

NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND = 100003, 4, 1
OP_COMMIT, OP_GETATTR, OP_LOOKUP, OP_PUTROOTFH, OP_READ, OP_READDIR = 5, 9, 15, 24, 25, 26
OP_SETATTR, OP_WRITE = 34, 38
OP_CREATE, OP_RENAME, OP_RESTOREFH, OP_SAVEFH = 6, 29, 31, 32
OP_READLINK = 27
OP_CLOSE, OP_DELEGRETURN, OP_GETFH, OP_OPEN, OP_OPEN_CONFIRM, OP_PUTFH = 4, 8, 10, 18, 20, 22
OP_SETCLIENTID, OP_SETCLIENTID_CONFIRM = 35, 36
NF4DIR = 2
UNSTABLE4, FILE_SYNC4 = 0, 2
FATTR4_TYPE, FATTR4_SIZE, FATTR4_FILEID, FATTR4_MODE, FATTR4_NUMLINKS = 1, 4, 20, 33, 35
FATTR4_OWNER, FATTR4_OWNER_GROUP, FATTR4_RAWDEV, FATTR4_SPACE_USED, FATTR4_TIME_ACCESS = 36, 37, 41, 45, 47
FATTR4_TIME_ACCESS_SET, FATTR4_TIME_METADATA, FATTR4_TIME_MODIFY, FATTR4_TIME_MODIFY_SET = 48, 52, 53, 54
SET_TO_SERVER_TIME4, SET_TO_CLIENT_TIME4 = 0, 1
NFS4ERR_NOENT, NFS4ERR_EXIST = 2, 17
NFS4ERR_DELAY, NFS4ERR_GRACE = 10008, 10013
NFS4ERR_EXPIRED, NFS4ERR_STALE_CLIENTID = 10011, 10022

# a time attribute to set: False = leave it, None = the server's current time, int = ns since the epoch
# (typing's spelling, not `|`: the real Jenkins image runs this on Debian 11's Python 3.9)
SetTime = Union[Literal[False], int, None]  # noqa: UP007


_U32 = struct.Struct(">I").pack
_U64 = struct.Struct(">Q").pack
_PADDING = (b"", b"\0\0\0", b"\0\0", b"\0")  # by len % 4


def u32(v: int) -> bytes:
    return _U32(v & 0xFFFFFFFF)


def u64(v: int) -> bytes:
    return _U64(v)


def opaque(b: bytes) -> bytes:
    """Variable-length opaque (or string): length, bytes, padding to 4."""
    return _U32(len(b)) + b + _PADDING[len(b) % 4]


def settime(ns_or_none: int | None) -> bytes:
    """settime4: the server's time (None) or a client time in ns."""
    if ns_or_none is None:
        return u32(SET_TO_SERVER_TIME4)
    sec, nsec = divmod(int(ns_or_none), 10**9)
    return u32(SET_TO_CLIENT_TIME4) + struct.pack(">qI", sec, nsec)


def bitmap(numbers: list[int]) -> bytes:
    """bitmap4 of two words with the given attribute numbers set."""
    words = [0, 0]
    for num in numbers:
        words[num // 32] |= 1 << (num % 32)
    return u32(2) + u32(words[0]) + u32(words[1])
