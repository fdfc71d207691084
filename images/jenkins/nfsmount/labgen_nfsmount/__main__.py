"""Command line: python3 -m labgen_nfsmount NFS_URL MOUNTPOINT [options].

Without --foreground, libfuse goes to the background once the mount is up."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from types import ModuleType

from labgen.model.names import NFS_MOUNT_OPTIONS_ENV
from labgen_nfsmount import PROG
from labgen_nfsmount.cache import CacheOptions, parse_mount_options
from labgen_nfsmount.errors import NfsError
from labgen_nfsmount.glue import lean_fuse_class
from labgen_nfsmount.kernelfuse import KernelFuse, daemonize
from labgen_nfsmount.libnfs import LIBNFS_SONAME, load_libnfs
from labgen_nfsmount.log import log
from labgen_nfsmount.log import setup as setup_log
from labgen_nfsmount.operations import NfsOperations, import_fusepy, make_operations
from labgen_nfsmount.session import NfsSession, SessionPool

# (option, type, default, help) of the options that take a number of seconds
_SECONDS_OPTIONS: tuple[tuple[str, type[int] | type[float], float, str], ...] = (
    ("--wait", float, 0.0, "retry the initial mount this long (default 0)"),
    (
        "--retry-window",
        float,
        60.0,
        "after a failure keep reconnecting this long before failing the operation with EIO (default 60)",
    ),
    ("--timeout", int, 15, "RPC timeout, whole seconds (default 15, 0 = none)"),
    (
        "--keepalive",
        float,
        20.0,
        "when idle this long, probe the server and renew the NFSv4 lease (default 20, 0 = off; keep it below the "
        "server's lease time)",
    ),
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description="Mount an NFSv4 export with libnfs over FUSE.")
    p.add_argument("url", help="nfs://SERVER/PSEUDO?version=4[&nfsport=2049]")
    p.add_argument("mountpoint")
    p.add_argument(
        "--foreground",
        "-f",
        action="store_true",
        help="stay in the foreground (default: go to the background once mounted)",
    )
    p.add_argument("--uid", type=int, help="uid sent to the server with every request (AUTH_SYS); default: our own")
    p.add_argument("--gid", type=int, help="gid sent to the server")
    for option, kind, default, text in _SECONDS_OPTIONS:
        p.add_argument(option, type=kind, default=default, metavar="SECONDS", help=text)
    p.add_argument(
        "--cache",
        choices=("open", "none"),
        default="open",
        help="open (default): file data is cached as a kernel NFS client caches it (kept at an open only "
        "when the file did not change, see -o); mmap works.  none: direct_io, no page cache at all, but no "
        "shared mmap (breaks Java 8 ZipFile on JARs in the mount)",
    )
    p.add_argument(
        "--allow-other",
        dest="allow_other",
        action="store_true",
        default=None,
        help="let other users use the mount (default when run as root)",
    )
    p.add_argument("--no-allow-other", dest="allow_other", action="store_false")
    p.add_argument(
        "--connections",
        type=int,
        default=4,
        metavar="N",
        help="NFS connections (libnfs contexts) and so NFS calls in flight at once; FUSE serves with threads "
        "when N > 1 (default 4)",
    )
    p.add_argument(
        "-o",
        "--options",
        default=os.environ.get(NFS_MOUNT_OPTIONS_ENV, ""),
        metavar="OPTS",
        help="the kernel NFS client's caching options, as mount -o takes them: actimeo, acregmin (3), "
        "acregmax (60), acdirmin (30), acdirmax (60), noac, cto/nocto, lookupcache=all|positive|none, "
        "sync/async (default: the kernel's defaults)",
    )
    p.add_argument("--debug", action="store_true", help="log every error")
    p.add_argument(
        "--fuse-debug", action="store_true", help="libfuse debug output (implies foreground and --fuse libfuse)"
    )
    p.add_argument(
        "--fuse",
        choices=("kernel", "libfuse"),
        default="kernel",
        help="kernel (default when root): serve /dev/fuse ourselves, the kernel keeping attributes as long as "
        "the NFS rules allow (kernelfuse.py); libfuse: through libfuse and fusepy (fusermount, not root)",
    )
    args = p.parse_args(argv)
    if not args.url.startswith("nfs://"):
        p.error("URL must start with nfs://")
    if not 1 <= args.connections <= 64:
        p.error("--connections must be 1 to 64")
    try:
        args.cache_options = parse_mount_options(args.options)
    except ValueError as e:
        p.error(f"-o: {e}")
    return args


def main(argv: list[str] | None = None) -> int:
    """0 = mounted (and, in the foreground, unmounted again), 1 = could not mount, 2 = bad usage or missing library."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_log(args.debug)

    url = args.url
    if "version=" not in urllib.parse.urlsplit(url).query:
        url += ("&" if "?" in url else "?") + "version=4"
    mountpoint = os.path.abspath(args.mountpoint)
    if not os.path.isdir(mountpoint):
        log(f"mount point {mountpoint} is not a directory")
        return 2
    fusepy = import_fusepy()
    if fusepy is None:
        log("fusepy is missing (apt-get install python3-fusepy)")
        return 2
    try:
        lib = load_libnfs()
    except (OSError, AttributeError) as e:
        log(f"cannot load {LIBNFS_SONAME}: {e} (apt-get install libnfs13)")
        return 2

    pool = SessionPool(
        [
            NfsSession(lib, url, uid=args.uid, gid=args.gid, timeout=args.timeout, retry_window=args.retry_window)
            for _ in range(args.connections)
        ]
    )
    try:
        pool.connect_wait(args.wait)
    except NfsError as e:
        log(f"cannot mount {args.url}: {e.strerror}")
        pool.close()
        return 1

    options: CacheOptions = args.cache_options
    log(f"caching as a kernel NFS mount with {options.text()}")
    ops = make_operations(fusepy, pool, direct_io=(args.cache == "none"), options=options)
    ops.mountpoint = mountpoint
    ops.keepalive_interval = args.keepalive
    allow_other = args.allow_other if args.allow_other is not None else os.geteuid() == 0
    return serve(fusepy, ops, pool, mountpoint, args, allow_other)


def fuse_options(session: NfsSession, allow_other: bool, cache: CacheOptions) -> dict[str, object]:
    """The mount options.  Through libfuse the kernel caches no attributes and no negative lookups:
    every stat and every lookup of a missing name reaches our cache, which applies the NFS client's
    rules (our own server, kernelfuse.py, lets it keep attributes per reply, as long as those rules
    allow).  It keeps
    names as long as a kernel NFS client keeps a directory's entries without asking (entry_timeout =
    acdirmin, 0 with lookupcache=none): that spares a lookup (a GETATTR) of every name on a path, as
    the NFS client's dentry cache does, and decides nothing, since every operation here goes by path
    and every open and stat still reaches us (with attr_timeout=0 the kernel asks for the size before
    reading past what it knows)."""
    entry_timeout = 0.0 if cache.lookupcache == "none" else cache.acdirmin
    options: dict[str, object] = dict(
        fsname=f"labgen-nfs:{session.server}:{session.export}",
        subtype="labgen_nfs",
        attr_timeout=0,
        entry_timeout=entry_timeout,
        negative_timeout=0,
        use_ino=True,
        big_writes=True,
        max_write=131072,
        max_read=131072,
    )
    if allow_other:
        options["allow_other"] = True
    return options


def serve(
    fusepy: ModuleType,
    ops: NfsOperations,
    pool: SessionPool,
    mountpoint: str,
    args: argparse.Namespace,
    allow_other: bool,
) -> int:
    """Mount and serve until unmounted (in the background unless --foreground); the exit status."""
    if args.fuse == "kernel" and not args.fuse_debug and os.geteuid() == 0:
        return serve_kernel(ops, pool, mountpoint, args, allow_other)
    try:
        # libfuse handles SIGTERM/SIGINT/SIGHUP: it leaves its loop and unmounts; with one
        # connection single-threaded (each session serialises its own calls anyway)
        lean_fuse_class(fusepy)(
            ops,
            mountpoint,
            raw_fi=True,
            foreground=args.foreground or args.fuse_debug,
            nothreads=len(pool.sessions) == 1,
            debug=args.fuse_debug,
            **fuse_options(pool.sessions[0], allow_other, ops.cache.options),
        )
    except RuntimeError as e:
        log(f"FUSE failed on {mountpoint}: {e}")
        return 1
    finally:
        ops.stop.set()
        pool.close()
    return 0


def serve_kernel(
    ops: NfsOperations, pool: SessionPool, mountpoint: str, args: argparse.Namespace, allow_other: bool
) -> int:
    """Serve /dev/fuse ourselves (kernelfuse.py): mount(2), then (unless --foreground) go on in the
    background, and serve until unmounted or signalled."""
    options = fuse_options(pool.sessions[0], allow_other, ops.cache.options)
    server = KernelFuse(
        ops,
        mountpoint,
        fsname=str(options["fsname"]),
        subtype=str(options["subtype"]),
        allow_other=allow_other,
        entry_timeout=float(options["entry_timeout"]),  # type: ignore[arg-type]
        threads=max(1, len(pool.sessions)),
    )
    try:
        server.mount()
    except OSError as e:
        log(f"FUSE failed on {mountpoint}: {e.strerror}")
        pool.close()
        return 1
    if not args.foreground:
        daemonize()
    try:
        server.serve()
    finally:
        ops.stop.set()
        pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
