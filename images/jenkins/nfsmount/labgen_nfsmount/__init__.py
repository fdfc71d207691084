"""labgen_nfsmount: mount an NFSv4 export through FUSE with a userspace NFS client.

The machines labgen runs on have no kernel NFS client, but they have FUSE.  This
program talks NFSv4 with libnfs (Debian package libnfs13, version 4.0, loaded
with ctypes, synchronous API) and serves the export as a FUSE file system with
fusepy (Debian package python3-fusepy, module ``fusepy``; PyPI's fusepy is
module ``fuse``, also accepted).

Usage:
    python3 -m labgen_nfsmount nfs://SERVER/PSEUDO?version=4[&nfsport=2049] MOUNTPOINT
        [--foreground] [--uid N --gid N] [--wait SECONDS]
        [--cache open|none] [-o NFS_MOUNT_OPTIONS] [--connections N]
        [--retry-window SECONDS] [--timeout SECONDS]
        [--keepalive SECONDS] [--[no-]allow-other] [--debug]

How it works (details in README.md next to this package):
  * a pool of libnfs contexts (--connections, default 4; a context is not thread-safe) and a
    multi-threaded FUSE loop: several NFS calls in flight;
  * caching as a kernel NFS client does, with its mount options and defaults (-o acregmin=3,
    acregmax=60, acdirmin=30, acdirmax=60, actimeo, noac, cto/nocto, lookupcache): attributes,
    missing names and listings cached by those rules, close-to-open (GETATTR at every open, cached
    data kept only when unchanged, write-back and COMMIT at every close); the FUSE kernel module
    caches no attributes and no missing names, so every stat reaches these rules;
  * writes buffered per handle and sent in up to 512 KiB WRITEs, reads in large READs, with the
    anonymous stateid over our own ONC-RPC connection (libnfs 4.0 cannot encode a WRITE over
    ~3.9 KiB); SETATTR likewise (libnfs 4.0 loses its open state on chmod/truncate/utimes);
  * on a connection error, a timeout, or lost NFSv4 state (server restart, expired lease) the
    context is re-created (for up to --retry-window seconds) and the operation retried once.

Modules: libnfs (the ctypes binding), errors (which failures call for a new
context), xdr, rpc (our own ONC-RPC connection), replies (COMPOUND replies
decoded) and compound (the COMPOUNDs sent over it: GETATTR, READ, READDIR,
WRITE, COMMIT, SETATTR, MKDIR, RENAME), cache (the kernel client's caching
rules), session (a libnfs context, reconnects, the single cached open,
keep-alive; the pool), operations (the FUSE file system, assembled from
metadata: attributes, listings, the namespace, SETATTR; and data: open, read,
write-back, close; what both share in base), log, and __main__ (the command
line).
"""

PROG = "labgen_nfsmount"
