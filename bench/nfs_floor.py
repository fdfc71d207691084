"""Where the userspace NFS client's time goes at a reload, on the host (no Docker): a host nfs-ganesha
and labgen_nfsmount mounts, as tests/integration/test_nfsmount_host.py starts them (root, /dev/fuse,
nfs-ganesha, libnfs13, python3-fusepy). The home (N jobs, each with config.xml, nextBuildNumber and
5 build folders) is written into the export directly, as another master would have written it; then:

1. FUSE requests per job, by opcode, for lite's `Home.load_jobs` (what a reload reads), with each
   `--fuse` server: cold (a new mount), warm (again at once), expired (after the attribute timeouts
   passed);
2. the same load, `--rounds` times for each `--fuse` value (kernel: /dev/fuse served by kernelfuse.py;
   libfuse: through libfuse and fusepy), each after the attribute timeouts passed: wall time and the
   mount's user and system CPU (from /proc);
3. the NFS round trips alone: one COMPOUND {PUTROOTFH, LOOKUP..., GETATTR, READ} (what an open
   costs) per call, from 1, 2 and 4 threads, each thread its own connection;
4. job creates as lite makes them at createItem (`Home.write_job_config` then `Home.load_job`: the job's
   folder, config.xml and nextBuildNumber, each written to a temporary file, fsynced and renamed),
   one after the other, `--creates` of them `--rounds` times: ms per create on the mount (kernel server)
   and in a local folder, FUSE requests per create by opcode and NFS calls per create (the mount's TCP
   data segments to the server: each call here fits in one).

    python bench/nfs_floor.py --jobs 1000 [--fuse kernel,libfuse] [--rounds 3] [--creates 300]
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "images" / "jenkins" / "lite"))
sys.path.insert(0, str(ROOT / "images" / "jenkins" / "nfsmount"))

import test_nfsmount_host as host  # the host lab lives with its test  # noqa: E402
from _common import save  # noqa: E402
from labgen_lite.home import Home  # noqa: E402
from labgen_nfsmount.compound import CompoundClient  # noqa: E402

OPTIONS = "acregmin=3,acregmax=60,acdirmin=30,acdirmax=60"  # the kernel client's defaults
OPCODE = re.compile(r"opcode: (\w+)")
SERVED = re.compile(r"FUSE requests served: (.*)")
BUILDS = 5
THREADS = 4  # lite's reactor on 2 CPUs (2 x availableProcessors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--fuse", default="kernel,libfuse", help="--fuse values of the timed mounts")
    parser.add_argument("--rounds", type=int, default=3, help="timed loads per mount")
    parser.add_argument("--calls", type=int, default=2000, help="round trips per thread count")
    parser.add_argument("--creates", type=int, default=300, help="job creates per round")
    args = parser.parse_args()
    if host._SKIP:
        raise SystemExit(f"cannot run: {host._SKIP}")
    result: dict[str, Any] = {"jobs": args.jobs, "options": OPTIONS}
    result["requests_per_job"] = {fuse: count_requests(args.jobs, fuse) for fuse in ("kernel", "libfuse")}
    for fuse, phases in result["requests_per_job"].items():
        for phase, ops in phases.items():
            print(f"FUSE requests per job, --fuse {fuse}, {phase}: {sum(ops.values()):.1f} {ops}", flush=True)
    result["loads"] = {}
    for fuse in args.fuse.split(","):
        loads = timed_loads(args.jobs, fuse, args.rounds)
        result["loads"][fuse] = loads
        for load in loads:
            print(
                f"--fuse {fuse}: {args.jobs} jobs in {load['wall_s']:.2f} s, "
                f"mount CPU user {load['user_s']:.2f} s, system {load['system_s']:.2f} s",
                flush=True,
            )
    result["round_trips"] = round_trips(args.calls)
    for threads, rate in result["round_trips"].items():
        print(f"round trips, {threads} thread(s): {rate:.0f}/s", flush=True)
    result["creates"] = timed_creates(args.creates, args.rounds)
    made = result["creates"]
    print(
        f"creates: {made['mount_ms']} ms each on the mount, {made['local_ms']} ms in a local folder; "
        f"per create {made['nfs_calls']} NFS calls, {sum(made['fuse'].values()):.1f} FUSE requests {made['fuse']}",
        flush=True,
    )
    print(f"written: {save('nfs-floor', result)}")
    return 0


class _Lab(host.Lab):
    """The test's lab with extra arguments for mount A only (mount B goes to the background)."""

    def __init__(self, options: str, fuse: str = "kernel", a_extra: list[str] | None = None) -> None:
        super().__init__(options, fuse)
        self.a_extra = a_extra or []

    def mount_args(self, mnt: str, *extra: str) -> list[str]:
        more = self.a_extra if mnt == self.mnt_a else []
        return [*host.Lab.mount_args(self, mnt, *extra), *more]


def write_home(export: str, jobs: int) -> None:
    root = Path(export) / "jobs"
    root.mkdir()
    for i in range(jobs):
        job = root / f"job{i}"
        (job / "builds").mkdir(parents=True)
        (job / "config.xml").write_bytes(b"<project>" + b"x" * 1500 + b"</project>")
        (job / "nextBuildNumber").write_bytes(f"{BUILDS + 1}\n".encode())
        for n in range(1, BUILDS + 1):
            (job / "builds" / str(n)).mkdir()
            (job / "builds" / str(n) / "build.xml").write_bytes(b"<build/>")


def count_requests(jobs: int, fuse: str) -> dict[str, dict[str, float]]:
    """FUSE requests per job by opcode: `--fuse kernel` logs its counts at SIGUSR1, libfuse prints every
    request with --fuse-debug (one thread, so the lines do not interleave)."""
    extra = ["--fuse-debug", "--connections", "1"] if fuse == "libfuse" else []
    lab = _Lab(OPTIONS, fuse, extra)
    log = os.path.join(lab.root, "mount-a.log")
    counted: dict[str, dict[str, float]] = {}
    try:
        lab.start_ganesha()
        lab.mount_a()
        assert lab.proc_a is not None
        write_home(lab.export, jobs)
        home = Home(Path(lab.mnt_a))
        for phase, pause in (("cold", 0.0), ("warm", 0.0), ("expired", 4.0)):
            time.sleep(pause)
            before = _served(lab.proc_a.pid, log) if fuse == "kernel" else None
            start = os.path.getsize(log)
            home.load_jobs(THREADS)
            if before is not None:
                ops = _served(lab.proc_a.pid, log) - before
            else:
                time.sleep(0.5)
                with open(log, errors="replace") as f:
                    f.seek(start)
                    ops = collections.Counter(OPCODE.findall(f.read()))
            counted[phase] = {op: round(n / jobs, 2) for op, n in ops.most_common()}
    finally:
        lab.teardown()
    return counted


def _served(pid: int, log: str) -> collections.Counter[str]:
    """The kernel server's counts so far (it logs them at SIGUSR1)."""
    size = os.path.getsize(log)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with open(log, errors="replace") as f:
            f.seek(size)
            found = SERVED.findall(f.read())
        if found:
            return collections.Counter({op: int(n) for op, n in re.findall(r"(\w+)=(\d+)", found[-1])})
        time.sleep(0.05)
    raise SystemExit("the mount did not log its request counts")


def timed_loads(jobs: int, fuse: str, rounds: int) -> list[dict[str, float]]:
    lab = _Lab(OPTIONS, fuse)
    loads = []
    try:
        lab.start_ganesha()
        lab.mount_a()
        write_home(lab.export, jobs)
        assert lab.proc_a is not None
        home = Home(Path(lab.mnt_a))
        for _ in range(rounds):
            time.sleep(4.0)  # past acregmin: a reload after a while, as at a failover
            user0, system0 = _cpu(lab.proc_a.pid)
            started = time.monotonic()
            home.load_jobs(THREADS)
            wall = time.monotonic() - started
            user1, system1 = _cpu(lab.proc_a.pid)
            loads.append(
                {"wall_s": round(wall, 3), "user_s": round(user1 - user0, 2), "system_s": round(system1 - system0, 2)}
            )
    finally:
        lab.teardown()
    return loads


CONFIG = b"<?xml version='1.1' encoding='UTF-8'?>\n<project>" + b"x" * 1500 + b"</project>"


def timed_creates(count: int, rounds: int) -> dict[str, Any]:
    local = Path(tempfile.mkdtemp(prefix="labgen-creates-", dir="/var/tmp"))
    lab = _Lab(OPTIONS)
    made: dict[str, Any] = {"count": count, "mount_ms": [], "local_ms": []}
    try:
        lab.start_ganesha()
        lab.mount_a()
        assert lab.proc_a is not None
        log = os.path.join(lab.root, "mount-a.log")
        mounted = Home(Path(lab.mnt_a))
        _create_jobs(mounted, 20, "warm")  # each connection's client id and open-owner are set up
        for r in range(rounds):
            made["local_ms"].append(_create_jobs(Home(local), count, f"r{r}-"))
            before, segments = _served(lab.proc_a.pid, log), _data_segments(lab.port)
            made["mount_ms"].append(_create_jobs(mounted, count, f"r{r}-"))
            if r == 0:
                made["nfs_calls"] = round((_data_segments(lab.port) - segments) / count, 2)
                ops = _served(lab.proc_a.pid, log) - before
                made["fuse"] = {op: round(n / count, 2) for op, n in ops.most_common()}
    finally:
        lab.teardown()
        shutil.rmtree(local, ignore_errors=True)
    return made


def _create_jobs(home: Home, count: int, prefix: str) -> float:
    """ms per create, as lite's createItem writes and then loads a job."""
    home.jobs_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for i in range(count):
        home.write_job_config(f"{prefix}{i}", CONFIG)
        if home.load_job(f"{prefix}{i}") is None:
            raise SystemExit(f"{prefix}{i}: not loaded back")
    return round((time.monotonic() - started) / count * 1000, 2)


def _data_segments(port: int) -> int:
    """TCP data segments sent so far to the server's port, by every connection of this host."""
    out = subprocess.run(["ss", "-tin", "dst", f"127.0.0.1:{port}"], capture_output=True, text=True).stdout
    return sum(int(n) for n in re.findall(r"data_segs_out:(\d+)", out))


def _cpu(pid: int) -> tuple[float, float]:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def round_trips(calls: int) -> dict[str, float]:
    lab = _Lab(OPTIONS)
    rates: dict[str, float] = {}
    try:
        lab.start_ganesha()
        write_home(lab.export, 200)

        def run(n: int, k: int) -> None:
            client = CompoundClient("127.0.0.1", lab.port, host.PSEUDO, 0, 0, 10)
            try:
                for i in range(n):
                    client.open_read(f"jobs/job{(i * 7 + k) % 200}/config.xml", 65536)
            finally:
                client.close()

        run(50, 0)  # the server's caches warm
        for threads in (1, 2, 4):
            workers = [threading.Thread(target=run, args=(calls // threads, k)) for k in range(threads)]
            started = time.monotonic()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            rates[str(threads)] = round(calls // threads * threads / (time.monotonic() - started), 1)
    finally:
        lab.teardown()
    return rates


if __name__ == "__main__":
    sys.exit(main())
