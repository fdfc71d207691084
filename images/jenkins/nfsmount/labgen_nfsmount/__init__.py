"""labgen_nfsmount: mount an NFSv4 export through FUSE with a userspace NFS client.

The machines labgen runs on have no kernel NFS client, but they have FUSE.  This
program talks NFSv4 with libnfs (Debian package libnfs13, version 4.0, loaded
with ctypes, synchronous API) and serves the export as a FUSE file system with
fusepy (Debian package python3-fusepy, module ``fusepy``; PyPI's fusepy is
module ``fuse``, also accepted).

Usage:
    python3 -m labgen_nfsmount nfs://SERVER/PSEUDO?version=4[&nfsport=2049] MOUNTPOINT
        [--foreground] [--uid N --gid N] [--wait SECONDS]
        [--cache open|none] [--retry-window SECONDS] [--timeout SECONDS]
        [--keepalive SECONDS] [--[no-]allow-other] [--debug]

How it works (details in README.md next to this package):
  * one libnfs context; FUSE runs single-threaded because libnfs contexts are
    not thread-safe; a lock guards the context against the keep-alive thread;
  * the kernel caches no attributes, entries or negative lookups
    (attr/entry/negative_timeout=0); file data bypasses the page cache
    (--cache none: direct_io) or is cached only while a file is open (--cache
    open, the default: dropped on every open and whenever the size seen by
    getattr changes; close-to-open consistency like a kernel NFS client, and
    mmap keeps working);
  * libnfs 4.0 keeps one NFSv4 open-owner per context and loses its open state
    when one file is opened twice or changed by path (chmod, truncate, utimes)
    while open.  So this program holds at most ONE NFSv4 open at a time: the
    file used by the last read/write, closed before any other operation that
    could touch it and when the mount is idle;
  * on a connection error, a timeout, or lost NFSv4 state (server restart,
    expired lease) the context is re-created (for up to --retry-window seconds)
    and the operation retried once.

Modules: libnfs (the ctypes binding), errors (which failures call for a new
context), xdr and rawsetattr (SETATTR over our own ONC-RPC connection), session
(the libnfs context, reconnects, the single cached open, keep-alive),
operations (the FUSE file system), log, and __main__ (the command line).
"""

PROG = "labgen_nfsmount"
