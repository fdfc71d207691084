"""The FUSE operations on metadata and the namespace: attributes (through the attribute cache), listings,
statfs, readlink; mkdir, rmdir, unlink, rename, symlink, link; chmod, chown, utimens, truncate as SETATTR."""

from __future__ import annotations

import ctypes
import errno
from collections.abc import Callable
from typing import TYPE_CHECKING

from labgen_nfsmount.base import FileInfo, OperationsBase
from labgen_nfsmount.cache import Attrs, parent_of
from labgen_nfsmount.compound import CompoundClient
from labgen_nfsmount.errors import NfsError
from labgen_nfsmount.libnfs import Ctx, NfsStatvfs64, enc
from labgen_nfsmount.session import NfsSession
from labgen_nfsmount.xdr import SetTime

UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2


def _accept(errno_value: int) -> Callable[[NfsError], bool]:
    """retry_ok for NfsSession.run: the retry failing with `errno_value` means the first attempt did the work."""
    return lambda e: e.errno == errno_value


class MetadataOperations(OperationsBase):
    """getattr, readdir, statfs, readlink, the namespace and the attributes: a mixin of NfsOperations."""

    if TYPE_CHECKING:  # DataOperations', the other mixin of NfsOperations

        def _write_back_under(self, path: str) -> None: ...

    # -- attributes and listings (through the attribute cache) --
    def getattr(self, path: str, fh: FileInfo | None = None) -> dict[str, int]:
        if fh is not None and fh.fh in self.files:
            path = self.files[fh.fh].path
        attrs = self._attrs(path)
        dirty_end = max((of.dirty.end for of in list(self.files.values()) if of.path == path and of.dirty), default=0)
        if dirty_end > attrs["st_size"]:
            return {**attrs, "st_size": dirty_end}  # the size our buffered writes give it, as on kernel NFS
        return attrs

    def opendir(self, path: str) -> int:
        # close-to-open holds for directories too: the kernel client asks the server for a directory's
        # attributes when it is opened (nfs_lookup_verify_inode, LOOKUP_OPEN), so a listing or a missing
        # name cached before the other master changed the directory is not reused (nocto: it may be)
        # (the attributes and the listing in one COMPOUND, used by the readdir that follows)
        if self.cache.options.cto and self._read_listing(path) is None:
            self._fetch(path)
        return 0

    def readdir(self, path: str, fh: FileInfo) -> list[str]:
        dir_attrs = self._attrs(path)
        names = self.cache.listing(path, dir_attrs)
        if names is None:
            names = self._read_listing(path)
        if names is None:
            names = self._run("readdir", lambda s, ctx: self._list_dir(s, ctx, path), keep_open=True)
            self.cache.store_listing(path, names, dir_attrs)
        return [".", "..", *names]

    def _read_listing(self, path: str) -> list[str] | None:
        """The directory's attributes and entries, each entry with its attributes (NFSv4 READDIR, as the
        kernel's READDIRPLUS fills its attribute cache), in one COMPOUND; None when they cannot be told."""
        try:
            dir_attrs, entries = self._run("readdir", lambda s, ctx: self._raw(s).listing(path), keep_open=True)
        except OSError as e:
            if e.errno == errno.ENOENT:
                self.cache.store_missing(path)
                raise
            return None
        if dir_attrs is None:
            return None
        self.cache.store(path, dir_attrs)
        names = [name for name, _ in entries]
        self.cache.store_listing(path, names, dir_attrs)
        prefix = path.rstrip("/") + "/"
        for name, attrs in entries:
            self._store(prefix + name, attrs)
        return names

    def _list_dir(self, s: NfsSession, ctx: Ctx, path: str) -> list[str]:
        lib = self.lib
        dirp = ctypes.c_void_p()
        s.check(lib.nfs_opendir(ctx, enc(path), ctypes.byref(dirp)), "opendir", path)
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

    def statfs(self, path: str) -> dict[str, int]:
        def op(s: NfsSession, ctx: Ctx) -> NfsStatvfs64:
            sv = NfsStatvfs64()
            s.check(self.lib.nfs_statvfs64(ctx, enc(path), ctypes.byref(sv)), "statfs", path)
            return sv

        try:
            sv = self._run("statfs", op, keep_open=True)
        except OSError:
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

    def readlink(self, path: str) -> str:
        target = self._run("readlink", lambda s, ctx: self._raw(s).readlink(path), keep_open=True)
        return target.decode("utf-8", "surrogateescape")

    # -- namespace --
    def _changing(self, opname: str, run: Callable[[], int], *paths: str) -> int:
        """run() changes `paths` (entries of their directories): the cache forgets them, also on failure."""
        try:
            return run()
        finally:
            self.cache.changed(*paths)

    def _path_op(
        self, opname: str, cfunc: Callable[..., int], path: str, *args: int, retry_ok: Callable[[NfsError], bool]
    ) -> int:
        def op(s: NfsSession, ctx: Ctx) -> int:
            return s.check(cfunc(ctx, enc(path), *args), opname, path)

        return self._run_retry_ok(opname, op, retry_ok)

    def mkdir(self, path: str, mode: int) -> int:
        """One COMPOUND, which brings back the new directory's attributes and its parent's: the kernel
        looks the new directory up at once."""
        made: list[Attrs | None] = []

        def op(s: NfsSession, ctx: Ctx) -> int:
            made[:] = self._raw(s).mkdir(path, mode & 0o7777)
            return 0

        self._changing("mkdir", lambda: self._run_retry_ok("mkdir", op, _accept(errno.EEXIST)), path)
        if made:
            self._store(parent_of(path), made[0])
            self._store(path, made[1])
        return 0

    def rmdir(self, path: str) -> int:
        # the kernel has checked that path is a directory (NFSv4 REMOVE removes any type)
        try:
            return self._path_op("rmdir", self.lib.nfs_rmdir, path, retry_ok=_accept(errno.ENOENT))
        finally:
            self.cache.changed_tree(path)

    def unlink(self, path: str) -> int:
        return self._changing(
            "unlink", lambda: self._path_op("unlink", self.lib.nfs_unlink, path, retry_ok=_accept(errno.ENOENT)), path
        )

    def rename(self, old: str, new: str) -> int:
        """One COMPOUND, which brings back both directories' attributes and the renamed object's."""
        after: list[Attrs | None] = []

        def op(s: NfsSession, ctx: Ctx) -> int:
            after[:] = self._raw(s).rename(old, new)
            return 0

        self._write_back_under(old)  # our WRITEs go by name
        try:
            self._run_retry_ok("rename", op, _accept(errno.ENOENT))
        finally:
            self.cache.renamed(old, new)
        if after:
            source_dir, target_dir, renamed = after
            self._store(parent_of(old), source_dir)
            self._store(parent_of(new), target_dir)
            self._store(new, renamed)
        prefix = old.rstrip("/") + "/"
        for of in list(self.files.values()):
            if of.path == old:
                of.path = new
            elif of.path.startswith(prefix):
                of.path = new.rstrip("/") + of.path[len(old.rstrip("/")) :]
        return 0

    def symlink(self, target: str, source: str) -> int:
        # fusepy: create the link `target`, pointing to `source`
        def op(s: NfsSession, ctx: Ctx) -> int:
            return s.check(self.lib.nfs_symlink(ctx, enc(source), enc(target)), "symlink", target)

        return self._changing("symlink", lambda: self._run_retry_ok("symlink", op, _accept(errno.EEXIST)), target)

    def link(self, target: str, source: str) -> int:
        # fusepy: create the hard link `target` to the file `source`
        def op(s: NfsSession, ctx: Ctx) -> int:
            return s.check(self.lib.nfs_link(ctx, enc(source), enc(target)), "link", target)

        return self._changing("link", lambda: self._run("link", op), target, source)

    # -- attributes --
    def _setattr(self, opname: str, path: str, change: Callable[[CompoundClient], int]) -> int:
        """change(raw): a SETATTR sent with our own RPC connection, which leaves libnfs's open state alone.
        Buffered data of `path` goes out first (as the kernel writes back before a SETATTR)."""
        self._write_back_under(path)
        try:
            return self._run(opname, lambda s, ctx: change(self._raw(s)), keep_open=True)
        finally:
            self.cache.attrs_changed(path)

    def chmod(self, path: str, mode: int) -> int:
        return self._setattr("chmod", path, lambda raw: raw.setattr(path, mode=mode & 0o7777))

    def chown(self, path: str, uid: int, gid: int) -> int:
        new_uid = None if uid in (-1, 0xFFFFFFFF) else uid
        new_gid = None if gid in (-1, 0xFFFFFFFF) else gid
        if new_uid is None and new_gid is None:
            return 0
        return self._setattr("chown", path, lambda raw: raw.setattr(path, uid=new_uid, gid=new_gid))

    def utimens(self, path: str, times: tuple[int, int] | None = None) -> int:
        # False: leave unchanged, None: server's current time
        atime: SetTime
        mtime: SetTime
        if times is None:
            atime = mtime = None
        else:
            atime, mtime = [False if v == UTIME_OMIT else None if v == UTIME_NOW else v for v in times]
        return self._setattr("utimens", path, lambda raw: raw.setattr(path, atime=atime, mtime=mtime))

    def truncate(self, path: str, length: int, fh: FileInfo | None = None) -> int:
        if fh is not None and fh.fh in self.files:
            path = self.files[fh.fh].path
        ret = self._setattr("truncate", path, lambda raw: raw.setattr(path, size=length))
        self._drop_read_ahead(path)
        self.cache.data_written(path, None)
        return ret
