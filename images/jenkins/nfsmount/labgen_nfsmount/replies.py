"""What an NFSv4 COMPOUND reply says: its status (as an errno) and, when it succeeded, each
operation's result: GETATTR's attributes as FUSE's stat wants them (owner names mapped to ids), READ's
data and eof, READDIR's entries with their attributes, WRITE's count."""

from __future__ import annotations

import errno
import functools
import grp
import os
import pwd
import struct
from dataclasses import dataclass, field

from labgen_nfsmount import xdr
from labgen_nfsmount.cache import Attrs
from labgen_nfsmount.errors import NfsError
from labgen_nfsmount.openstate import OpenResult, decode_open, decode_setclientid
from labgen_nfsmount.rpc import status_offset

# NFSv4 status codes (RFC 7530) of a COMPOUND answer: name and errno
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
    10011: ("NFS4ERR_EXPIRED", errno.EIO),
    10022: ("NFS4ERR_STALE_CLIENTID", errno.EIO),
    10023: ("NFS4ERR_STALE_STATEID", errno.EIO),
    10025: ("NFS4ERR_BAD_STATEID", errno.EIO),
    10026: ("NFS4ERR_BAD_SEQID", errno.EIO),
    10029: ("NFS4ERR_SYMLINK", errno.ELOOP),
    10032: ("NFS4ERR_ATTRNOTSUPP", errno.EOPNOTSUPP),
    10039: ("NFS4ERR_BADOWNER", errno.EINVAL),
    10040: ("NFS4ERR_BADCHAR", errno.EINVAL),
    10041: ("NFS4ERR_BADNAME", errno.EINVAL),
}


def compound_status(reply: bytes, path: str) -> int:
    """The COMPOUND's status from an RPC reply; NfsError when the call was not accepted."""
    try:
        pos = status_offset(reply, path)
        return int(struct.unpack(">I", reply[pos : pos + 4])[0])
    except struct.error as e:
        raise NfsError(errno.EIO, f"setattr {path}: bad RPC reply") from e


# the attributes a stat needs (what libnfs's stat asks for), in attribute-number order
FULL_ATTRS = (
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
FULL_BITMAP = xdr.bitmap(list(FULL_ATTRS))
_FULL_MASK = sum(1 << num for num in FULL_ATTRS)
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


# the values of FULL_ATTRS in a fattr4, around the owner and group strings (RFC 7530 5.8):
# type, size, fileid, mode, numlinks | owner | owner_group | rawdev (major, minor), space_used,
# time_access, time_metadata, time_modify (each seconds, nanoseconds)
_BEFORE_OWNER = struct.Struct(">IQQII")
_AFTER_GROUP = struct.Struct(">IIQqIqIqI")
_U32 = struct.Struct(">I")


def decode_fattr(buf: bytes, pos: int) -> tuple[Attrs | None, int]:
    """A fattr4 at `pos`: FUSE stat attributes (None when they cannot be told: a name as owner, or an
    attribute missing), and where the fattr4 ends."""
    (words,) = _U32.unpack_from(buf, pos)
    bitmap_end = pos + 4 + 4 * words
    whole = buf[pos:bitmap_end] == FULL_BITMAP
    if not whole:  # FULL_BITMAP has two words; a server may send more, all zero past ours
        mask = 0
        for i in range(words):
            mask |= _U32.unpack_from(buf, pos + 4 + 4 * i)[0] << (32 * i)
        whole = mask == _FULL_MASK
    (length,) = _U32.unpack_from(buf, bitmap_end)
    pos = bitmap_end + 4
    end = pos + length + (-length % 4)
    if not whole:  # not what we asked for
        return None, end
    ftype, size, fileid, mode, nlink = _BEFORE_OWNER.unpack_from(buf, pos)
    pos += _BEFORE_OWNER.size
    ids = []
    for user in (True, False):
        (n,) = _U32.unpack_from(buf, pos)
        ids.append(_id(bytes(buf[pos + 4 : pos + 4 + n]), user))
        pos += 4 + n + (-n % 4)
    uid, gid = ids
    if uid is None or gid is None:
        return None, end
    major, minor, used, a_sec, a_nsec, c_sec, c_nsec, m_sec, m_nsec = _AFTER_GROUP.unpack_from(buf, pos)
    attrs = {
        "st_mode": _FTYPE.get(ftype, 0) | mode & 0o7777,
        "st_ino": fileid,
        "st_nlink": nlink,
        "st_uid": uid,
        "st_gid": gid,
        "st_rdev": os.makedev(major, minor),
        "st_size": size,
        "st_blksize": 4096,
        "st_blocks": (used + 511) // 512,
        "st_atime": a_sec * 10**9 + a_nsec,
        "st_mtime": m_sec * 10**9 + m_nsec,
        "st_ctime": c_sec * 10**9 + c_nsec,
    }
    return attrs, end


DirEntry = tuple[int, str, "Attrs | None"]  # cookie, name, attributes


@dataclass
class Results:
    """What a successful COMPOUND reply answered: each GETATTR's attributes in order (None: not told),
    the READ's (eof, data), the READDIR's (verifier, entries, eof), the WRITE's count, the OPEN's result,
    GETFH's file handle, the stateid of OPEN_CONFIRM or CLOSE, SETCLIENTID's (clientid, confirm)."""

    attrs: list[Attrs | None] = field(default_factory=list)
    read: tuple[bool, bytes] = (False, b"")
    readdir: tuple[bytes, list[DirEntry], bool] | None = None
    written: int = 0
    opened: OpenResult | None = None
    fh: bytes = b""
    stateid: bytes = b""
    clientid: tuple[int, bytes] | None = None


def decode_results(reply: bytes) -> Results:
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
            out.read = decode_read(reply, pos)
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
        elif op == xdr.OP_OPEN:
            out.opened = decode_open(reply, pos)
            pos = out.opened.end
        elif op == xdr.OP_GETFH:
            n = struct.unpack(">I", reply[pos : pos + 4])[0]
            out.fh = reply[pos + 4 : pos + 4 + n]
            pos += 4 + n + (-n % 4)
        elif op in (xdr.OP_OPEN_CONFIRM, xdr.OP_CLOSE):
            out.stateid = reply[pos : pos + 16]
            pos += 16
        elif op == xdr.OP_SETCLIENTID:
            out.clientid = decode_setclientid(reply, pos)
            pos += 16
    return out


def result_count(reply: bytes) -> int:
    """How many results a COMPOUND reply has (of a failed one: up to and including the failed operation)."""
    return int(struct.unpack(">I", reply[_results_offset(reply) :][:4])[0])


def result_of(reply: bytes, wanted: int) -> int:
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


def decode_read(reply: bytes, pos: int) -> tuple[bool, bytes]:
    """(eof, data) of a READ result body at `pos`."""
    eof, length = struct.unpack(">II", reply[pos : pos + 8])
    return bool(eof), reply[pos + 8 : pos + 8 + length]


def _results_offset(reply: bytes) -> int:
    """Where the result array (its count) starts in a COMPOUND reply: after status and tag."""
    pos = status_offset(reply, "") + 4
    taglen = struct.unpack(">I", reply[pos : pos + 4])[0]
    return pos + 4 + taglen + (-taglen % 4)
