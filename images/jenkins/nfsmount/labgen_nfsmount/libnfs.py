"""The ctypes binding to libnfs 4.0 (/usr/include/nfsc/libnfs.h), synchronous API."""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any, Optional, Protocol, TypeVar, cast

if TYPE_CHECKING:
    from ctypes import _CArgObject, _Pointer

LIBNFS_SONAME = "libnfs.so.13"


class NfsUrl(ctypes.Structure):
    _fields_ = [("server", ctypes.c_char_p), ("path", ctypes.c_char_p), ("file", ctypes.c_char_p)]
    server: bytes | None
    path: bytes | None
    file: bytes | None


_StructT = TypeVar("_StructT", bound=ctypes.Structure)


def _uint64_fields(cls: type[_StructT]) -> type[_StructT]:
    """Make the annotated attributes, in their order, the struct's uint64_t members."""
    cls._fields_ = [(name, ctypes.c_uint64) for name in cls.__annotations__]
    return cls


@_uint64_fields
class NfsStat64(ctypes.Structure):
    nfs_dev: int
    nfs_ino: int
    nfs_mode: int
    nfs_nlink: int
    nfs_uid: int
    nfs_gid: int
    nfs_rdev: int
    nfs_size: int
    nfs_blksize: int
    nfs_blocks: int
    nfs_atime: int
    nfs_mtime: int
    nfs_ctime: int
    nfs_atime_nsec: int
    nfs_mtime_nsec: int
    nfs_ctime_nsec: int
    nfs_used: int


@_uint64_fields
class NfsStatvfs64(ctypes.Structure):
    f_bsize: int
    f_frsize: int
    f_blocks: int
    f_bfree: int
    f_bavail: int
    f_files: int
    f_ffree: int
    f_favail: int
    f_fsid: int
    f_flag: int
    f_namemax: int


class Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class NfsDirent(ctypes.Structure):
    name: bytes  # the only field read here; _fields_ below (the struct points to itself)


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
# and break open state (see compound); nfs_close() of a handle whose open
# failed crashes.  Keep LibNfs below in step with this table.
_PROTOTYPES: dict[str, tuple[Any, list[Any]]] = {
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
    "nfs_close": (_I, [_P, _P]),
    # libnfs 4.0: (nfs, fh, offset, count, buf); older releases differ
    "nfs_pread": (_I, [_P, _P, _U64, _U64, ctypes.c_void_p]),
    "nfs_pwrite": (_I, [_P, _P, _U64, _U64, ctypes.c_void_p]),
    "nfs_fsync": (_I, [_P, _P]),
    "nfs_rmdir": (_I, [_P, _S]),
    "nfs_unlink": (_I, [_P, _S]),
    "nfs_opendir": (_I, [_P, _S, _PP]),
    "nfs_readdir": (ctypes.POINTER(NfsDirent), [_P, _P]),
    "nfs_closedir": (None, [_P, _P]),
    "nfs_statvfs64": (_I, [_P, _S, ctypes.POINTER(NfsStatvfs64)]),
    "nfs_readlink": (_I, [_P, _S, ctypes.c_char_p, _I]),
    "nfs_symlink": (_I, [_P, _S, _S]),
    "nfs_link": (_I, [_P, _S, _S]),
}

# How ctypes passes and returns the pointers above: a c_void_p result is an int
# (None for NULL); an `int | None` argument is passed as is.
Ctx = int  # struct nfs_context *, never NULL once nfs_init_context succeeded
Handle = Optional[int]  # noqa: UP045 - struct nfsfh *; not `int | None`: the real image has Python 3.9


class LibNfs(Protocol):
    """The functions of _PROTOTYPES, with the Python types ctypes takes and gives for them."""

    def nfs_init_context(self) -> Ctx | None: ...
    def nfs_destroy_context(self, nfs: Ctx) -> None: ...
    def nfs_get_error(self, nfs: Ctx) -> bytes | None: ...
    def nfs_parse_url_dir(self, nfs: Ctx, url: bytes) -> _Pointer[NfsUrl]: ...
    def nfs_destroy_url(self, url: _Pointer[NfsUrl]) -> None: ...
    def nfs_set_version(self, nfs: Ctx, version: int) -> int: ...
    def nfs_set_uid(self, nfs: Ctx, uid: int) -> None: ...
    def nfs_set_gid(self, nfs: Ctx, gid: int) -> None: ...
    def nfs_set_timeout(self, nfs: Ctx, milliseconds: int) -> None: ...
    def nfs_set_autoreconnect(self, nfs: Ctx, num_retries: int) -> None: ...
    def nfs_set_dircache(self, nfs: Ctx, enabled: int) -> None: ...
    def nfs_set_readahead(self, nfs: Ctx, size: int) -> None: ...
    def nfs_set_tcp_syncnt(self, nfs: Ctx, syncnt: int) -> None: ...
    def nfs_umask(self, nfs: Ctx, mask: int) -> int: ...
    def nfs4_set_client_name(self, nfs: Ctx, name: bytes) -> None: ...
    def nfs4_set_verifier(self, nfs: Ctx, verifier: bytes) -> None: ...
    def nfs_mount(self, nfs: Ctx, server: bytes, export: bytes) -> int: ...
    def nfs_get_readmax(self, nfs: Ctx) -> int: ...
    def nfs_get_writemax(self, nfs: Ctx) -> int: ...
    def nfs_stat64(self, nfs: Ctx, path: bytes, st: _CArgObject) -> int: ...
    def nfs_lstat64(self, nfs: Ctx, path: bytes, st: _CArgObject) -> int: ...
    def nfs_open(self, nfs: Ctx, path: bytes, flags: int, fh_out: _CArgObject) -> int: ...
    def nfs_close(self, nfs: Ctx, fh: Handle) -> int: ...
    def nfs_pread(self, nfs: Ctx, fh: Handle, offset: int, count: int, buf: _CArgObject) -> int: ...
    def nfs_pwrite(self, nfs: Ctx, fh: Handle, offset: int, count: int, buf: _CArgObject) -> int: ...
    def nfs_fsync(self, nfs: Ctx, fh: Handle) -> int: ...
    def nfs_rmdir(self, nfs: Ctx, path: bytes) -> int: ...
    def nfs_unlink(self, nfs: Ctx, path: bytes) -> int: ...
    def nfs_opendir(self, nfs: Ctx, path: bytes, dir_out: _CArgObject) -> int: ...
    def nfs_readdir(self, nfs: Ctx, nfsdir: ctypes.c_void_p) -> _Pointer[NfsDirent]: ...
    def nfs_closedir(self, nfs: Ctx, nfsdir: ctypes.c_void_p) -> None: ...
    def nfs_statvfs64(self, nfs: Ctx, path: bytes, svfs: _CArgObject) -> int: ...
    def nfs_readlink(self, nfs: Ctx, path: bytes, buf: ctypes.Array[ctypes.c_char], bufsize: int) -> int: ...
    def nfs_symlink(self, nfs: Ctx, target: bytes, linkname: bytes) -> int: ...
    def nfs_link(self, nfs: Ctx, oldpath: bytes, newpath: bytes) -> int: ...


def load_libnfs(name: str = LIBNFS_SONAME) -> LibNfs:
    """Load libnfs and declare the prototypes; OSError or AttributeError when it is missing or too old."""
    lib = ctypes.CDLL(name, use_errno=True)
    for fname, (restype, argtypes) in _PROTOTYPES.items():
        func = getattr(lib, fname)
        func.restype = restype
        func.argtypes = argtypes
    return cast(LibNfs, lib)


def enc(path: str) -> bytes:
    """A path or name as libnfs and the wire want it (undecodable bytes kept as they came)."""
    return path.encode("utf-8", "surrogateescape")
