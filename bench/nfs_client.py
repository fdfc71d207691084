"""The userspace NFS client alone, on the host (no Docker): a host nfs-ganesha and two mounts of
labgen_nfsmount, as tests/integration/test_nfsmount_host.py starts them (root, /dev/fuse,
nfs-ganesha, libnfs13, python3-fusepy). Mount A creates N jobs as lite does (mkdir, then
config.xml and nextBuildNumber each written to a temporary file, fsynced and renamed); mount B
loads them as a reload does (listing, both files read, the builds folder listed) with 8 threads,
twice (cold, then with what its cache kept); then 8 MiB are written on A and read on B.
`--checkout DIR` measures the client of another checkout (e.g. `git worktree add /tmp/old HEAD~9`)
under the same conditions, for a before/after on a busy machine.

    python bench/nfs_client.py --jobs 300 [--checkout DIR] [--mount-arg=-o --mount-arg=noac]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--checkout", default=str(ROOT), help="the checkout whose labgen_nfsmount is measured")
    parser.add_argument("--mount-arg", action="append", default=[], help="an extra argument of the mounts")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    import test_nfsmount_host as host  # the host lab lives with its test

    host.MOUNT_PYTHONPATH[:] = [os.path.join(args.checkout, "images", "jenkins", "nfsmount"), args.checkout]
    extra = list(args.mount_arg)

    class Lab(host.Lab):
        def mount_args(self, mnt: str, *more: str) -> list[str]:
            argv = list(host.Lab.mount_args(self, mnt, *more))
            for option in ("-o", "--fuse"):  # the checkout's own defaults (an older one has neither)
                if option in argv:
                    i = argv.index(option)
                    del argv[i : i + 2]
            return argv + extra

    if host._SKIP:
        raise SystemExit(f"cannot run: {host._SKIP}")
    lab = Lab()
    try:
        lab.start_ganesha()
        lab.mount_a()
        lab.mount_b()
        for line in measure(lab.mnt_a, lab.mnt_b, args.jobs):
            print(line, flush=True)
    finally:
        lab.teardown()
    return 0


def measure(a: str, b: str, n: int) -> list[str]:
    out = []
    jobs = os.path.join(a, "jobs")
    os.mkdir(jobs)
    started = time.monotonic()
    for i in range(n):
        d = os.path.join(jobs, f"job{i}")
        os.mkdir(d)
        for name, data in (("config.xml", b"<project>" + b"x" * 1500 + b"</project>"), ("nextBuildNumber", b"1\n")):
            tmp = os.path.join(d, f".{name}.tmp")
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, os.path.join(d, name))
    out.append(f"create {n} jobs on A: {n / (time.monotonic() - started):.1f}/s")

    def load(job: str) -> None:
        d = os.path.join(b, "jobs", job)
        for name in ("config.xml", "nextBuildNumber"):
            with open(os.path.join(d, name), "rb") as f:
                f.read()
        with contextlib.suppress(FileNotFoundError):
            os.listdir(os.path.join(d, "builds"))

    for round_ in ("cold", "warm"):
        started = time.monotonic()
        names = os.listdir(os.path.join(b, "jobs"))
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(load, names))
        out.append(f"load {len(names)} jobs on B, 8 threads, {round_}: {time.monotonic() - started:.2f} s")
    data = os.urandom(8 << 20)
    started = time.monotonic()
    with open(os.path.join(a, "big"), "wb") as f:
        f.write(data)
    out.append(f"write 8 MiB on A: {8 / (time.monotonic() - started):.1f} MiB/s")
    started = time.monotonic()
    with open(os.path.join(b, "big"), "rb") as g:
        assert g.read() == data
    out.append(f"read 8 MiB on B: {8 / (time.monotonic() - started):.1f} MiB/s")
    return out


if __name__ == "__main__":
    sys.exit(main())
