"""Failed NFS calls, and which of them a new libnfs context could cure."""

from __future__ import annotations

import errno


class NfsError(OSError):
    """A failed libnfs call: errno plus libnfs's error string."""


class NotConnected(NfsError):
    pass


# libnfs maps several NFS4ERR_* codes to EIO/EINVAL/EAGAIN, so lost state is
# recognized by the error text, which names the NFS4 status.
_STATE_LOST_MARKERS = (
    "NFS4ERR_STALE_CLIENTID",
    "NFS4ERR_EXPIRED",
    "NFS4ERR_STALE_STATEID",
    "NFS4ERR_BAD_STATEID",
    "NFS4ERR_OLD_STATEID",
    "NFS4ERR_BAD_SEQID",
    "NFS4ERR_ADMIN_REVOKED",
    "NFS4ERR_LEASE_MOVED",
    "NFS4ERR_FHEXPIRED",
)
# errno values that are answers of the file system, not transport problems
_FS_ERRNOS = {
    errno.ENOENT,
    errno.EEXIST,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOTEMPTY,
    errno.EACCES,
    errno.EPERM,
    errno.ENAMETOOLONG,
    errno.EROFS,
    errno.ENOSPC,
    errno.EFBIG,
    errno.EXDEV,
    errno.ELOOP,
    errno.EMLINK,
    errno.ERANGE,
    errno.EINVAL,
    errno.ENXIO,
    errno.EDQUOT,
}
_TRANSPORT_MARKERS = (
    "socket",
    "connect",
    "timed out",
    "timeout",
    "poll",
    "nfs_service",
    "eof",
    "reset",
    "disconnect",
    "queue",
)


def needs_reconnect(exc: OSError) -> bool:
    """True when a new context could help: transport trouble or lost state."""
    msg = str(exc.strerror or "")
    if any(m in msg for m in _STATE_LOST_MARKERS):
        return True
    if "NFS4ERR_" in msg:
        return False  # a regular answer of the server
    if exc.errno in _FS_ERRNOS:
        # libnfs returns -1 (EPERM) when it cannot even queue a request
        low = msg.lower()
        return any(m in low for m in _TRANSPORT_MARKERS)
    return True  # EIO, EFAULT, EINTR (timeout), ...
