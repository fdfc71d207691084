"""Serving the mount over /dev/fuse ourselves (fuseproto.py), instead of through libfuse and fusepy.

Why: at a reload most of the mount's CPU went to FUSE requests that ask nothing of the server (a job
costs 19 of them, 3 round trips), each through libfuse, a ctypes callback and fusepy.  Speaking the
protocol ourselves, each reply says how long the kernel may keep it, per inode:
- attributes: as long as the attribute cache would answer them itself (its remaining timeout, at most
  ATTR_WINDOW_S), so a stat, the fstat after an open and the kernel's size checks before reading past
  the end cost no request within that time; an open that finds a file changed (close-to-open) first
  tells the kernel to forget what it kept of its attributes (FUSE_NOTIFY_INVAL_INODE), so what it
  shows after the open is the server's, exactly as on a kernel NFS mount;
- a read-only open needs no FLUSH at close (FOPEN_NOFLUSH: nothing to write back).
The operations are NfsOperations' (path-based, as libfuse's high-level API calls them): this module keeps
the table of the kernel's inodes and their paths, which libfuse kept.

Mounting needs CAP_SYS_ADMIN (mount(2) with the /dev/fuse descriptor): run as root, as in the images;
without it, __main__ serves through libfuse (fusermount)."""

from __future__ import annotations

import collections
import ctypes
import ctypes.util
import errno
import os
import signal
import stat
import threading
from collections.abc import Callable
from typing import Any

from labgen_nfsmount import fuseproto as fp
from labgen_nfsmount.cache import Attrs
from labgen_nfsmount.log import dlog, log
from labgen_nfsmount.nodes import NodeTable

ATTR_WINDOW_S = 1.0  # the longest the kernel keeps attributes (never beyond the cache's own timeout)
MAX_WRITE = 131072
BUFFER = MAX_WRITE + 4096  # a WRITE's data and its headers
MS_NOSUID, MS_NODEV = 2, 4
MNT_DETACH = 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
HIDDEN_PREFIX = ".fuse_hidden"  # an unlinked file still open keeps this name until its last close


class FileInfo:
    """What NfsOperations reads and sets of a libfuse fuse_file_info."""

    __slots__ = ("direct_io", "fh", "flags", "keep_cache")

    def __init__(self, flags: int = 0, fh: int = 0) -> None:
        self.flags = flags
        self.fh = fh
        self.direct_io = 0
        self.keep_cache = 0


def join(parent: str, name: str) -> str:
    return "/" + name if parent == "/" else parent + "/" + name


def _key(attrs: Attrs) -> tuple[int, int]:
    """What the kernel's use of cached attributes depends on: the size (how far it reads), the mtime."""
    return (attrs.get("st_size", 0), attrs.get("st_mtime", 0))


def _is_dir(attrs: Attrs) -> bool:
    return stat.S_ISDIR(attrs.get("st_mode", 0))


class KernelFuse:
    """One mount, served over /dev/fuse by `threads` threads with NfsOperations `ops`."""

    def __init__(
        self,
        ops: Any,
        mountpoint: str,
        *,
        fsname: str,
        subtype: str,
        allow_other: bool,
        entry_timeout: float,
        attr_window: float = ATTR_WINDOW_S,
        threads: int = 4,
    ) -> None:
        self.ops = ops
        self.mountpoint = mountpoint
        self.fsname, self.subtype, self.allow_other = fsname, subtype, allow_other
        self.entry_timeout = entry_timeout
        self.attr_window = attr_window
        self.threads = threads
        self.nodes = NodeTable()
        self.dirs: dict[int, tuple[str, list[bytes] | None]] = {}
        self._dir_ids = iter(range(1, 1 << 62))
        self._hidden_ids = iter(range(1, 1 << 62))
        self.fd = -1
        self.stop = threading.Event()
        self._kernel_told: dict[int, tuple[int, int]] = {}  # node -> (size, mtime) last given with a timeout
        self._told_lock = threading.Lock()
        self._handlers: dict[int, Callable[[int, bytes, int], bytes | None]] = {
            fp.LOOKUP: self._lookup,
            fp.GETATTR: self._getattr,
            fp.SETATTR: self._setattr,
            fp.READLINK: self._readlink,
            fp.SYMLINK: self._symlink,
            fp.MKNOD: self._mknod,
            fp.MKDIR: self._mkdir,
            fp.UNLINK: self._unlink,
            fp.RMDIR: self._rmdir,
            fp.RENAME: self._rename,
            fp.RENAME2: self._rename2,
            fp.LINK: self._link,
            fp.OPEN: self._open,
            fp.READ: self._read,
            fp.WRITE: self._write,
            fp.STATFS: self._statfs,
            fp.RELEASE: self._release,
            fp.FSYNC: self._fsync,
            fp.FLUSH: self._flush,
            fp.OPENDIR: self._opendir,
            fp.READDIR: self._readdir,
            fp.RELEASEDIR: self._releasedir,
            fp.FSYNCDIR: lambda nodeid, body, unique: b"",
            fp.CREATE: self._create,
        }
        self._minor = fp.MINOR
        self.counts: collections.Counter[int] = collections.Counter()  # requests served, by opcode

    # -- mount and serve --
    def mount(self) -> None:
        """mount(2) of a new /dev/fuse connection on the mount point; OSError when it cannot be done."""
        self.fd = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
        st = os.stat(self.mountpoint)
        options = (
            f"fd={self.fd},rootmode={stat.S_IFMT(st.st_mode) | stat.S_IMODE(st.st_mode):o},"
            f"user_id={os.geteuid()},group_id={os.getegid()},max_read={MAX_WRITE}"
        )
        if self.allow_other:
            options += ",allow_other"
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        ret = libc.mount(
            self.fsname.encode(),
            self.mountpoint.encode(),
            f"fuse.{self.subtype}".encode(),
            ctypes.c_ulong(MS_NOSUID | MS_NODEV),
            options.encode(),
        )
        if ret != 0:
            err = ctypes.get_errno()
            os.close(self.fd)
            self.fd = -1
            raise OSError(err, f"mount {self.mountpoint}: {os.strerror(err)}")

    def unmount(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        if libc.umount2(self.mountpoint.encode(), MNT_DETACH) != 0:
            dlog(f"umount {self.mountpoint}: {os.strerror(ctypes.get_errno())}")

    def serve(self) -> None:
        """Serve until unmounted (a signal unmounts); then the operations' destroy."""
        workers = [threading.Thread(target=self._worker, name=f"fuse-{i}", daemon=True) for i in range(self.threads)]
        for worker in workers:
            worker.start()

        def on_signal(signum: int, frame: object) -> None:
            self.stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, on_signal)
        signal.signal(signal.SIGUSR1, lambda signum, frame: log(self.counts_line()))
        while not self.stop.wait(0.5):
            if not any(w.is_alive() for w in workers):
                break
        if self.stop.is_set():
            self.unmount()
        for worker in workers:
            worker.join(timeout=10)
        os.close(self.fd)
        self.ops.destroy("/")

    def counts_line(self) -> str:
        """The requests served so far by opcode (logged at SIGUSR1; bench/nfs_floor.py reads it)."""
        counts = " ".join(f"{fp.NAMES.get(op, op)}={n}" for op, n in sorted(self.counts.items()))
        return f"FUSE requests served: {counts}"

    def _worker(self) -> None:
        while True:
            try:
                request = os.read(self.fd, BUFFER)
            except OSError as e:
                if e.errno in (errno.EINTR, errno.EAGAIN, errno.ENOENT):
                    continue  # ENOENT: a request interrupted before it was read
                if e.errno != errno.ENODEV:  # ENODEV: unmounted
                    log(f"reading /dev/fuse: {e.strerror}")
                self.stop.set()
                return
            self._handle(request)

    def _handle(self, request: bytes) -> None:
        _, opcode, unique, nodeid, _uid, _gid, _pid, extlen, _ = fp.IN_HEADER.unpack_from(request)
        self.counts[opcode] += 1
        body = request[fp.IN_HEADER.size + extlen * 8 :] if extlen else request[fp.IN_HEADER.size :]
        if opcode in fp.NO_REPLY:
            self._no_reply(opcode, nodeid, body)
            return
        try:
            if opcode == fp.INIT:
                out = self._init(body)
            elif opcode == fp.DESTROY:
                out = b""
            else:
                handler = self._handlers.get(opcode)
                if handler is None:
                    self._send(fp.reply(unique, -errno.ENOSYS))
                    return
                result = handler(nodeid, body, unique)
                if result is None:
                    return  # answered by the handler
                out = result
        except OSError as e:
            self._send(fp.reply(unique, -(e.errno or errno.EIO)))
            return
        except Exception as e:  # a bug must fail the call, not the mount
            log(f"FUSE opcode {opcode}: {type(e).__name__}: {e}")
            self._send(fp.reply(unique, -errno.EIO))
            return
        self._send(fp.reply(unique, 0, out))

    def _send(self, data: bytes) -> None:
        try:
            os.write(self.fd, data)
        except OSError as e:  # ENOENT: the request was interrupted meanwhile
            if e.errno not in (errno.ENOENT, errno.ENODEV):
                log(f"writing /dev/fuse: {e.strerror}")

    def _no_reply(self, opcode: int, nodeid: int, body: bytes) -> None:
        if opcode == fp.FORGET:
            self.nodes.forget(nodeid, fp.FORGET_IN.unpack_from(body)[0])
            self._untell(nodeid)
        elif opcode == fp.BATCH_FORGET:
            count = fp.BATCH_FORGET_IN.unpack_from(body)[0]
            for i in range(count):
                one, n = fp.FORGET_ONE.unpack_from(body, fp.BATCH_FORGET_IN.size + i * fp.FORGET_ONE.size)
                self.nodes.forget(one, n)
                self._untell(one)
        # INTERRUPT: the call runs to its end (an NFS call cannot be taken back); its reply is dropped

    def _init(self, body: bytes) -> bytes:
        major, minor, max_readahead, flags = fp.INIT_IN.unpack_from(body)
        if major != fp.MAJOR or minor < fp.MIN_MINOR:
            raise OSError(errno.EPROTO, f"FUSE {major}.{minor} is too old")
        self._minor = min(minor, fp.MINOR)
        wanted = fp.ASYNC_READ | fp.BIG_WRITES | fp.MAX_PAGES | fp.PARALLEL_DIROPS
        self.ops.init("/")
        return fp.init_out(self._minor, flags & wanted, min(max_readahead, MAX_WRITE), MAX_WRITE)

    # -- what the kernel keeps of attributes --
    def _attr_valid(self, path: str) -> float:
        remaining: float = self.ops.cache.remaining(path)
        return min(self.attr_window, remaining)

    def _tell(self, nodeid: int, attrs: Attrs, valid: float) -> None:
        if valid <= 0:
            return
        with self._told_lock:
            self._kernel_told[nodeid] = _key(attrs)

    def _untell(self, nodeid: int) -> None:
        with self._told_lock:
            self._kernel_told.pop(nodeid, None)

    def _revalidated(self, nodeid: int, before: Attrs | None, fresh: Attrs | None) -> None:
        """An open fetched `fresh` from the server (close-to-open).  If the kernel may keep other
        attributes (told it before, or answered from the cache's `before` by a GETATTR in flight), it
        forgets them now, before the open returns: a stat or a read past the old end after the open sees
        the server's.  (A GETATTR reply still in flight is dropped by the kernel: the notification moves
        the inode's attribute version past it.)"""
        if fresh is None:
            return
        key = _key(fresh)
        with self._told_lock:
            told = self._kernel_told.get(nodeid)
            changed = (told is not None and told != key) or (before is not None and _key(before) != key)
            if changed:
                self._kernel_told.pop(nodeid, None)
        if changed:
            self._send(fp.notify_inval_inode(nodeid))

    def _entry(self, path: str, attrs: Attrs) -> bytes:
        nodeid = self.nodes.looked_up(path, _is_dir(attrs))
        valid = self._attr_valid(path)
        self._tell(nodeid, attrs, valid)
        return fp.entry_out(nodeid, attrs, self.entry_timeout, valid)

    def _stat(self, path: str, fi: FileInfo | None = None) -> Attrs:
        attrs: Attrs = self.ops.getattr(path, fi)
        return attrs

    # -- the operations --
    def _lookup(self, nodeid: int, body: bytes, unique: int) -> bytes:
        (name,) = fp.names(body, 1)
        path = join(self.nodes.path(nodeid), name)
        return self._entry(path, self._stat(path))

    def _getattr(self, nodeid: int, body: bytes, unique: int) -> bytes:
        flags, _, fh = fp.GETATTR_IN.unpack_from(body)
        path = self.nodes.path(nodeid)
        attrs = self._stat(path, FileInfo(fh=fh) if flags & fp.GETATTR_FH else None)
        valid = self._attr_valid(path)
        self._tell(nodeid, attrs, valid)
        return fp.attr_out(attrs, valid)

    def _setattr(self, nodeid: int, body: bytes, unique: int) -> bytes:
        (valid, _, fh, size, _owner, atime, mtime, _ctime, atimens, mtimens, _ctimens, mode, _, uid, gid, _) = (
            fp.SETATTR_IN.unpack_from(body)
        )
        path = self.nodes.path(nodeid)
        fi = FileInfo(fh=fh) if valid & fp.FATTR_FH else None
        ops = self.ops
        if valid & fp.FATTR_MODE:
            ops.chmod(path, mode)
        if valid & (fp.FATTR_UID | fp.FATTR_GID):
            ops.chown(path, uid if valid & fp.FATTR_UID else -1, gid if valid & fp.FATTR_GID else -1)
        if valid & fp.FATTR_SIZE:
            ops.truncate(path, size, fi)
        if valid & (fp.FATTR_ATIME | fp.FATTR_MTIME | fp.FATTR_ATIME_NOW | fp.FATTR_MTIME_NOW):
            ops.utimens(path, (_time(valid, fp.FATTR_ATIME, fp.FATTR_ATIME_NOW, atime, atimens),
                               _time(valid, fp.FATTR_MTIME, fp.FATTR_MTIME_NOW, mtime, mtimens)))  # fmt: skip
        self._untell(nodeid)
        return fp.attr_out(self._stat(path, fi), 0)

    def _readlink(self, nodeid: int, body: bytes, unique: int) -> bytes:
        target: str = self.ops.readlink(self.nodes.path(nodeid))
        return target.encode("utf-8", "surrogateescape")

    def _symlink(self, nodeid: int, body: bytes, unique: int) -> bytes:
        name, target = fp.names(body, 2)
        path = join(self.nodes.path(nodeid), name)
        self.ops.symlink(path, target)
        return self._entry(path, self._stat(path))

    def _mknod(self, nodeid: int, body: bytes, unique: int) -> bytes:
        mode, _rdev, _umask, _ = fp.MKNOD_IN.unpack_from(body)
        (name,) = fp.names(body[fp.MKNOD_IN.size :], 1)
        if not stat.S_ISREG(mode):
            raise OSError(errno.EPERM, "only regular files")
        path = join(self.nodes.path(nodeid), name)
        fi = FileInfo(os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        self.ops.create(path, mode, fi)
        self.ops.release(path, fi)
        return self._entry(path, self._stat(path))

    def _mkdir(self, nodeid: int, body: bytes, unique: int) -> bytes:
        mode, _umask = fp.MKDIR_IN.unpack_from(body)
        (name,) = fp.names(body[fp.MKDIR_IN.size :], 1)
        path = join(self.nodes.path(nodeid), name)
        self.ops.mkdir(path, mode)
        return self._entry(path, self._stat(path))

    def _unlink(self, nodeid: int, body: bytes, unique: int) -> bytes:
        (name,) = fp.names(body, 1)
        path = join(self.nodes.path(nodeid), name)
        if not self._hide_if_open(path):
            self.ops.unlink(path)
            self.nodes.detach(path)
        return b""

    def _hide_if_open(self, path: str) -> bool:
        """An open file unlinked (or replaced by a rename) keeps its data under a hidden name until its
        last close, as libfuse and the kernel NFS client (silly rename) do."""
        target = self.nodes.node_of(path)
        if target is None:
            return False
        with self.nodes.lock:
            node = self.nodes.nodes.get(target)
            if node is None or node.opened <= 0:
                return False
        head = path.rpartition("/")[0] or "/"
        hidden = join(head, f"{HIDDEN_PREFIX}{target:08x}{next(self._hidden_ids):08x}")
        self.ops.rename(path, hidden)
        self.nodes.moved(path, hidden)
        with self.nodes.lock:
            node.hidden = True
        return True

    def _rmdir(self, nodeid: int, body: bytes, unique: int) -> bytes:
        (name,) = fp.names(body, 1)
        path = join(self.nodes.path(nodeid), name)
        self.ops.rmdir(path)
        self.nodes.detach(path)
        return b""

    def _rename(self, nodeid: int, body: bytes, unique: int) -> bytes:
        (newdir,) = fp.RENAME_IN.unpack_from(body)
        old_name, new_name = fp.names(body[fp.RENAME_IN.size :], 2)
        return self._do_rename(nodeid, old_name, newdir, new_name)

    def _rename2(self, nodeid: int, body: bytes, unique: int) -> bytes:
        newdir, flags, _ = fp.RENAME2_IN.unpack_from(body)
        if flags:
            raise OSError(errno.EINVAL, "rename flags")
        old_name, new_name = fp.names(body[fp.RENAME2_IN.size :], 2)
        return self._do_rename(nodeid, old_name, newdir, new_name)

    def _do_rename(self, olddir: int, old_name: str, newdir: int, new_name: str) -> bytes:
        old = join(self.nodes.path(olddir), old_name)
        new = join(self.nodes.path(newdir), new_name)
        self._hide_if_open(new)
        self.ops.rename(old, new)
        self.nodes.moved(old, new)
        return b""

    def _link(self, nodeid: int, body: bytes, unique: int) -> bytes:
        (oldnode,) = fp.LINK_IN.unpack_from(body)
        (name,) = fp.names(body[fp.LINK_IN.size :], 1)
        path = join(self.nodes.path(nodeid), name)
        self.ops.link(path, self.nodes.path(oldnode))
        return self._entry(path, self._stat(path))

    def _opened(self, nodeid: int, delta: int) -> None:
        with self.nodes.lock:
            node = self.nodes.nodes.get(nodeid)
            if node is not None:
                node.opened += delta

    def _open_flags(self, fi: FileInfo) -> int:
        flags = 0
        if fi.direct_io:
            flags |= fp.FOPEN_DIRECT_IO
        if fi.keep_cache:
            flags |= fp.FOPEN_KEEP_CACHE
        if fi.flags & os.O_ACCMODE == os.O_RDONLY:
            flags |= fp.FOPEN_NOFLUSH  # nothing to write back at close
        return flags

    def _open(self, nodeid: int, body: bytes, unique: int) -> bytes:
        flags, _ = fp.OPEN_IN.unpack_from(body)
        path = self.nodes.path(nodeid)
        fi = FileInfo(flags)
        before = self.ops.cache.cached(path)
        self.ops.open(path, fi)
        self._revalidated(nodeid, before, self.ops.cache.cached(path))
        self._opened(nodeid, 1)
        return fp.open_out(fi.fh, self._open_flags(fi))

    def _create(self, nodeid: int, body: bytes, unique: int) -> bytes:
        flags, mode, _umask, _ = fp.CREATE_IN.unpack_from(body)
        (name,) = fp.names(body[fp.CREATE_IN.size :], 1)
        path = join(self.nodes.path(nodeid), name)
        fi = FileInfo(flags)
        self.ops.create(path, mode, fi)
        try:
            entry = self._entry(path, self._stat(path, fi))
        except OSError:
            self.ops.release(path, fi)
            raise
        created = self.nodes.node_of(path)
        if created is not None:
            self._opened(created, 1)
        return entry + fp.open_out(fi.fh, self._open_flags(fi))

    def _read(self, nodeid: int, body: bytes, unique: int) -> bytes:
        fh, offset, size, _, _, flags, _ = fp.READ_IN.unpack_from(body)
        data: bytes = self.ops.read(self.nodes.path(nodeid), size, offset, FileInfo(flags, fh))
        return data

    def _write(self, nodeid: int, body: bytes, unique: int) -> bytes:
        fh, offset, size, _, _, flags, _ = fp.WRITE_IN.unpack_from(body)
        data = body[fp.WRITE_IN.size : fp.WRITE_IN.size + size]
        written: int = self.ops.write(self.nodes.path(nodeid), data, offset, FileInfo(flags, fh))
        return fp.write_out(written)

    def _statfs(self, nodeid: int, body: bytes, unique: int) -> bytes:
        return fp.statfs_out(self.ops.statfs("/"))

    def _release(self, nodeid: int, body: bytes, unique: int) -> bytes:
        fh, flags, _, _ = fp.RELEASE_IN.unpack_from(body)
        with self.nodes.lock:
            node = self.nodes.nodes.get(nodeid)
            path = node.path if node is not None else None
        try:
            if path is not None:
                self.ops.release(path, FileInfo(flags, fh))
        finally:
            self._written_back(nodeid)
            self._closed(nodeid)
        return b""

    def _written_back(self, nodeid: int) -> None:
        """Data of `nodeid` may just have reached the server (close, fsync): its mtime there is new, and
        the kernel forgets what it kept (as the kernel NFS client takes the attributes of its WRITEs)."""
        with self._told_lock:
            told = self._kernel_told.pop(nodeid, None)
        if told is not None:
            self._send(fp.notify_inval_inode(nodeid))

    def _closed(self, nodeid: int) -> None:
        """A handle of `nodeid` went: the hidden name of an unlinked file goes with its last one."""
        with self.nodes.lock:
            node = self.nodes.nodes.get(nodeid)
            if node is None:
                return
            node.opened -= 1
            last_hidden = node.hidden and node.opened <= 0 and node.path is not None
            path = node.path
            if node.opened <= 0 and node.lookups <= 0:
                del self.nodes.nodes[nodeid]
        if last_hidden and path is not None:
            try:
                self.ops.unlink(path)
            except OSError as e:
                dlog(f"removing {path}: {e}")
            self.nodes.detach(path)

    def _fsync(self, nodeid: int, body: bytes, unique: int) -> bytes:
        fh, fsync_flags, _ = fp.FSYNC_IN.unpack_from(body)
        self.ops.fsync(self.nodes.path(nodeid), fsync_flags & 1, FileInfo(0, fh))
        self._written_back(nodeid)
        return b""

    def _flush(self, nodeid: int, body: bytes, unique: int) -> bytes:
        fh, _, _, _ = fp.FLUSH_IN.unpack_from(body)
        self.ops.flush(self.nodes.path(nodeid), FileInfo(0, fh))
        self._written_back(nodeid)
        return b""

    def _opendir(self, nodeid: int, body: bytes, unique: int) -> bytes:
        path = self.nodes.path(nodeid)
        before = self.ops.cache.cached(path)
        self.ops.opendir(path)
        self._revalidated(nodeid, before, self.ops.cache.cached(path))
        dh = next(self._dir_ids)
        self.dirs[dh] = (path, None)
        return fp.open_out(dh, 0)

    def _readdir(self, nodeid: int, body: bytes, unique: int) -> bytes:
        dh, offset, size, _, _, _, _ = fp.READ_IN.unpack_from(body)
        path, records = self.dirs.get(dh, (self.nodes.path(nodeid), None))
        if records is None or offset == 0:
            names = self.ops.readdir(path, FileInfo(0, dh))
            records = [fp.dirent(name.encode("utf-8", "surrogateescape"), i + 1) for i, name in enumerate(names)]
            self.dirs[dh] = (path, records)
        out, used = [], 0
        for record in records[offset:]:
            if used + len(record) > size:
                break
            out.append(record)
            used += len(record)
        return b"".join(out)

    def _releasedir(self, nodeid: int, body: bytes, unique: int) -> bytes:
        fh = fp.RELEASE_IN.unpack_from(body)[0]
        self.dirs.pop(fh, None)
        return b""


def _time(valid: int, given: int, now: int, sec: int, nsec: int) -> int:
    if valid & now:
        return UTIME_NOW
    if valid & given:
        return sec * fp.NS + nsec
    return UTIME_OMIT


def daemonize() -> None:
    """Go on in the background: the caller's process exits 0 (the mount is up), a child serves."""
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os.chdir("/")
