"""The FUSE file system: fusepy operations on top of an NfsSession, assembled from the metadata and the data
operations (metadata.py, data.py; what they share in base.py)."""

from __future__ import annotations

import errno
import threading
from types import ModuleType
from typing import Any

from labgen_nfsmount.cache import CacheOptions
from labgen_nfsmount.data import DataOperations
from labgen_nfsmount.log import log
from labgen_nfsmount.metadata import MetadataOperations
from labgen_nfsmount.session import SessionPool
from labgen_nfsmount.threadstate import keep_thread_state


def import_fusepy() -> ModuleType | None:
    for name in ("fusepy", "fuse"):  # Debian python3-fusepy, PyPI fusepy
        try:
            mod = __import__(name)
        except ImportError:
            continue
        if hasattr(mod, "FUSE") and hasattr(mod, "Operations"):
            return mod
    return None


def make_operations(
    fusepy: ModuleType, pool: SessionPool, direct_io: bool, options: CacheOptions | None = None
) -> NfsOperations:
    """NfsOperations on top of fusepy.Operations (of whichever module import_fusepy() found)."""
    cls = type("NfsOperations", (NfsOperations, fusepy.Operations), {})
    ops: NfsOperations = cls(pool, direct_io, fusepy.FuseOSError, options or CacheOptions())
    return ops


class NfsOperations(MetadataOperations, DataOperations):
    """The FUSE operations (fusepy, raw_fi=True): those on metadata and those on data, with the mount's
    lifecycle.  A mixin: make_operations() adds fusepy.Operations as base, which dispatches the calls and
    answers those not defined here (mknod, opendir...)."""

    use_ns = True  # times as integer nanoseconds
    flag_utime_omit_ok = 1  # we handle UTIME_NOW / UTIME_OMIT
    # not offered: libfuse answers ENOSYS and the kernel stops asking
    # (xattrs), locks stay local to this mount (no NFSv4 LOCK)
    getxattr = setxattr = listxattr = removexattr = None
    lock = ioctl = bmap = None
    # answered by libfuse without a call into Python: access (ENOSYS, after which the kernel allows every
    # access(2), as fusepy's "return 0" did; the server checks each operation) and releasedir (nothing to
    # release: a listing holds no handle)
    access = releasedir = None

    def __call__(self, op: str, *args: Any) -> Any:
        """fusepy's dispatch, on a thread state kept for libfuse's worker thread."""
        keep_thread_state()
        method = getattr(self, op, None)
        if method is None:
            raise self.fuse_error(errno.EFAULT)
        return method(*args)

    # -- lifecycle --
    def init(self, path: str) -> None:
        # started here, in the serving (possibly daemonized) process
        pool = self.pool
        if self.keepalive_interval > 0:
            for i, session in enumerate(pool.sessions):
                threading.Thread(
                    target=session.keepalive,
                    args=(self.keepalive_interval, self.stop),
                    name=f"nfs-keepalive-{i}",
                    daemon=True,
                ).start()
        first = pool.sessions[0]
        log(
            f"mounted nfs://{first.server}{first.export} on {self.mountpoint} "
            f"(NFSv4, {len(pool.sessions)} connections, client id {first.client_name})"
        )

    def destroy(self, path: str) -> None:
        self.stop.set()
        self.pool.close()
        log(f"unmounted {self.mountpoint}")
