"""The FUSE kernel protocol (linux/fuse.h, 7.28 and later), as bytes: request headers and bodies in,
replies out.  Pure code: no file descriptor, no state (kernelfuse.py serves with it)."""

from __future__ import annotations

import struct

from labgen_nfsmount.cache import Attrs

MAJOR = 7
MINOR = 31  # what we speak; the kernel's own is used when it is lower (at least MIN_MINOR)
MIN_MINOR = 28
ROOT_ID = 1
UNKNOWN_INO = 0xFFFFFFFF

# opcodes
LOOKUP, FORGET, GETATTR, SETATTR, READLINK, SYMLINK = 1, 2, 3, 4, 5, 6
MKNOD, MKDIR, UNLINK, RMDIR, RENAME, LINK, OPEN, READ, WRITE, STATFS, RELEASE = 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18
FSYNC, FLUSH, INIT, OPENDIR, READDIR, RELEASEDIR, FSYNCDIR = 20, 25, 26, 27, 28, 29, 30
ACCESS, CREATE, INTERRUPT, DESTROY, BATCH_FORGET, RENAME2 = 34, 35, 36, 38, 42, 45
NO_REPLY = frozenset({FORGET, BATCH_FORGET, INTERRUPT})
NAMES = {
    value: name
    for name, value in dict(
        LOOKUP=LOOKUP, FORGET=FORGET, GETATTR=GETATTR, SETATTR=SETATTR, READLINK=READLINK, SYMLINK=SYMLINK,
        MKNOD=MKNOD, MKDIR=MKDIR, UNLINK=UNLINK, RMDIR=RMDIR, RENAME=RENAME, LINK=LINK, OPEN=OPEN, READ=READ,
        WRITE=WRITE, STATFS=STATFS, RELEASE=RELEASE, FSYNC=FSYNC, FLUSH=FLUSH, INIT=INIT, OPENDIR=OPENDIR,
        READDIR=READDIR, RELEASEDIR=RELEASEDIR, FSYNCDIR=FSYNCDIR, ACCESS=ACCESS, CREATE=CREATE,
        INTERRUPT=INTERRUPT, DESTROY=DESTROY, BATCH_FORGET=BATCH_FORGET, RENAME2=RENAME2,
    ).items()
}  # fmt: skip

# init flags
ASYNC_READ = 1 << 0
BIG_WRITES = 1 << 5
PARALLEL_DIROPS = 1 << 18
MAX_PAGES = 1 << 22
# open reply flags
FOPEN_DIRECT_IO = 1 << 0
FOPEN_KEEP_CACHE = 1 << 1
FOPEN_NOFLUSH = 1 << 5
# setattr valid bits
FATTR_MODE, FATTR_UID, FATTR_GID, FATTR_SIZE = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FATTR_ATIME, FATTR_MTIME, FATTR_FH, FATTR_ATIME_NOW, FATTR_MTIME_NOW = 1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8
GETATTR_FH = 1 << 0
NOTIFY_INVAL_INODE = 2

IN_HEADER = struct.Struct("<IIQQIIIHH")  # len, opcode, unique, nodeid, uid, gid, pid, total_extlen, padding
OUT_HEADER = struct.Struct("<IiQ")  # len, error, unique
ATTR = struct.Struct("<QQQQQQIIIIIIIIII")  # fuse_attr: 88 bytes
ENTRY_HEAD = struct.Struct("<QQQQII")  # nodeid, generation, entry_valid, attr_valid, their nsecs
ATTR_OUT_HEAD = struct.Struct("<QII")  # attr_valid, attr_valid_nsec, dummy
OPEN_OUT = struct.Struct("<QII")  # fh, open_flags, padding
WRITE_OUT = struct.Struct("<II")
KSTATFS = struct.Struct("<QQQQQIIII24x")
INIT_IN = struct.Struct("<IIII")  # major, minor, max_readahead, flags (flags2 and the rest ignored)
INIT_OUT = struct.Struct("<IIIIHHIIHHI28x")  # 64 bytes
GETATTR_IN = struct.Struct("<IIQ")  # getattr_flags, dummy, fh
FORGET_IN = struct.Struct("<Q")
BATCH_FORGET_IN = struct.Struct("<II")
FORGET_ONE = struct.Struct("<QQ")
SETATTR_IN = struct.Struct("<IIQQQQQQIIIIIIII")  # 88 bytes
OPEN_IN = struct.Struct("<II")
CREATE_IN = struct.Struct("<IIII")
MKNOD_IN = struct.Struct("<IIII")
MKDIR_IN = struct.Struct("<II")
RENAME_IN = struct.Struct("<Q")
RENAME2_IN = struct.Struct("<QII")
LINK_IN = struct.Struct("<Q")
READ_IN = struct.Struct("<QQIIQII")  # fh, offset, size, read_flags, lock_owner, flags, padding
WRITE_IN = struct.Struct("<QQIIQII")
RELEASE_IN = struct.Struct("<QIIQ")
FLUSH_IN = struct.Struct("<QIIQ")
FSYNC_IN = struct.Struct("<QII")
DIRENT_HEAD = struct.Struct("<QQII")  # ino, off, namelen, type
NOTIFY_INVAL_INODE_OUT = struct.Struct("<Qqq")
NS = 10**9


def _split_ns(value: int) -> tuple[int, int]:
    sec, nsec = divmod(value, NS)
    return sec, nsec


def pack_attr(attrs: Attrs) -> bytes:
    a_s, a_ns = _split_ns(attrs.get("st_atime", 0))
    m_s, m_ns = _split_ns(attrs.get("st_mtime", 0))
    c_s, c_ns = _split_ns(attrs.get("st_ctime", 0))
    return ATTR.pack(
        attrs.get("st_ino", 0),
        attrs.get("st_size", 0),
        attrs.get("st_blocks", 0),
        a_s,
        m_s,
        c_s,
        a_ns,
        m_ns,
        c_ns,
        attrs.get("st_mode", 0),
        attrs.get("st_nlink", 1),
        attrs.get("st_uid", 0) & 0xFFFFFFFF,
        attrs.get("st_gid", 0) & 0xFFFFFFFF,
        attrs.get("st_rdev", 0) & 0xFFFFFFFF,
        attrs.get("st_blksize", 4096),
        0,
    )


def _valid(seconds: float) -> tuple[int, int]:
    seconds = max(0.0, seconds)
    whole = int(seconds)
    return whole, int((seconds - whole) * NS)


def entry_out(nodeid: int, attrs: Attrs, entry_valid: float, attr_valid: float) -> bytes:
    e_s, e_ns = _valid(entry_valid)
    a_s, a_ns = _valid(attr_valid)
    return ENTRY_HEAD.pack(nodeid, 0, e_s, a_s, e_ns, a_ns) + pack_attr(attrs)


def attr_out(attrs: Attrs, attr_valid: float) -> bytes:
    a_s, a_ns = _valid(attr_valid)
    return ATTR_OUT_HEAD.pack(a_s, a_ns, 0) + pack_attr(attrs)


def open_out(fh: int, flags: int) -> bytes:
    return OPEN_OUT.pack(fh, flags, 0)


def write_out(size: int) -> bytes:
    return WRITE_OUT.pack(size, 0)


def statfs_out(st: dict[str, int]) -> bytes:
    return KSTATFS.pack(
        st.get("f_blocks", 0),
        st.get("f_bfree", 0),
        st.get("f_bavail", 0),
        st.get("f_files", 0),
        st.get("f_ffree", 0),
        st.get("f_bsize", 4096),
        st.get("f_namemax", 255),
        st.get("f_frsize", st.get("f_bsize", 4096)),
        0,
    )


def init_out(minor: int, flags: int, max_readahead: int, max_write: int) -> bytes:
    max_pages = max(1, (max_write + 4095) // 4096)
    return INIT_OUT.pack(MAJOR, minor, max_readahead, flags, 12, 9, max_write, 1, max_pages, 0, 0)


def dirent(name: bytes, offset: int, ino: int = UNKNOWN_INO, kind: int = 0) -> bytes:
    """One fuse_dirent; `offset` is where the next one starts (what a READDIR at it continues with)."""
    record = DIRENT_HEAD.pack(ino, offset, len(name), kind) + name
    return record + b"\0" * (-len(record) % 8)


def reply(unique: int, error: int = 0, payload: bytes = b"") -> bytes:
    """A reply: error is 0 or a negative errno (then no payload)."""
    body = payload if error == 0 else b""
    return OUT_HEADER.pack(OUT_HEADER.size + len(body), error, unique) + body


def notify_inval_inode(nodeid: int) -> bytes:
    """Tell the kernel to forget the inode's cached attributes (offset -1: not its pages)."""
    body = NOTIFY_INVAL_INODE_OUT.pack(nodeid, -1, 0)
    return OUT_HEADER.pack(OUT_HEADER.size + len(body), NOTIFY_INVAL_INODE, 0) + body


def names(data: bytes, count: int) -> list[str]:
    """`count` NUL-terminated names at the start of `data` (a request's trailing strings)."""
    parts = data.split(b"\0", count)
    return [p.decode("utf-8", "surrogateescape") for p in parts[:count]]
