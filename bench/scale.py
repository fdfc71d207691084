"""Failover at a real team's size (issue 17): homes of 0, 100, 1,000 and 5,000 jobs, each with build
history, on NFS (the lab as designed) and on one local Docker volume (`nfs.client: local`), one lab per
JENKINS_HOME kind, the home grown from one size to the next. At each size: the reload of the home (the
standby's own `Reload complete in X s`), kill failovers and planned switchovers (`labgen verify`), job
creates/s and builds/s through HAProxy, and each master's memory. Prints a table and writes
bench/results/scale-*.json.

    python bench/scale.py                                  # 0,100,1000,5000 jobs, 3 trials, NFS and local
    python bench/scale.py --sizes 0,100 --trials 1         # a short run
    python bench/scale.py --clients fuse --sizes 1000 --history-real-builds 200

Build history: `--builds` finished builds per job. The first `--history-real-builds` builds of the new jobs
at each size are real builds through HAProxy (they give builds/s); the rest of the history is written as
finished build folders onto the home from inside a master, in the format lite and Jenkins read
(bench/_seed.py), because thousands of jobs times 5 real builds take too long here. The output says how many
of each.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import printer, save, start, stats, table
from _seed import Timed, create_jobs, run_builds, write_history
from lifecycle import footprint

from labgen import chaos, verify
from labgen.errors import LabgenError
from labgen.lab import runtime
from labgen.lab.handle import LabHandle

PREFIX = "scale"
RELOAD_DONE = re.compile(r"Reload complete in ([0-9.]+) s: (\d+) job\(s\) read from \S+ in ([0-9.]+) s by (\d+) thread")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,100,1000,5000", help="jobs in the home, ascending, comma separated")
    parser.add_argument("--trials", type=int, default=3, help="kill trials and switchovers at each size")
    parser.add_argument("--builds", type=int, default=5, help="finished builds per job")
    parser.add_argument(
        "--history-real-builds", type=int, default=100, help="real builds through HAProxy at each size (builds/s)"
    )
    parser.add_argument("--clients", default="fuse,local", help="JENKINS_HOME kinds: fuse (NFS), local")
    parser.add_argument("--rate", type=float, default=20.0, help="probe requests per second during the trials")
    parser.add_argument("--name-prefix", default="bench-scale", help="labs are named PREFIX-CLIENT")
    parser.add_argument("--keep", action="store_true", help="leave the labs up at the end (to look at them)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results: dict[str, dict[str, Any]] = {}
    try:
        for client in args.clients.split(","):
            name = f"{args.name_prefix}-{client}"
            start(name, **{"nfs.client": client})
            results[client] = {}
            try:
                grow_and_measure(name, sizes, args, results[client])
            finally:
                if not args.keep:
                    runtime.down(name, volumes=True)
    finally:  # what was measured is kept, also when a size fails or the run is stopped
        done = [(size, client) for size in sizes for client in results if str(size) in results[client]]
        print(table(HEADERS, [row(size, client, results[client][str(size)]) for size, client in done]))
        data = {"sizes": sizes, "trials": args.trials, "builds_per_job": args.builds, "results": results}
        print(f"written: {save('scale', data)}")
    return 0


def grow_and_measure(name: str, sizes: list[int], args: argparse.Namespace, measured: dict[str, Any]) -> None:
    """Fills `measured` (size -> entry) one size after another, each row printed as soon as it is measured."""
    handle = LabHandle.open(name)
    have = 0
    for size in sizes:
        print(f"{name}: growing the home from {have} to {size} jobs", flush=True)
        settle(handle)
        seed = grow(handle, have, size, args.builds, args.history_real_builds)
        have = size
        entry: dict[str, Any] = {"seed": seed}
        entry["reload"] = measure_reload(handle)
        entry["memory_mib"] = {
            svc: usage["memory_mib"]
            for svc, usage in footprint(name, seconds=1.0).items()
            if svc in handle.topology.masters
        }
        print(f"{name} @ {size}: {args.trials} x kill", flush=True)
        entry["kill"] = trials_of(
            handle,
            "kill",
            lambda: (
                verify.run_failover(
                    name, action="kill", trials=args.trials, rate=args.rate, timeout=120, emitter=printer()
                ).trials
            ),
        )
        print(f"{name} @ {size}: {args.trials} x switchover", flush=True)
        entry["switchover"] = trials_of(
            handle,
            "switchover",
            lambda: (
                verify.run_switchover(name, trials=args.trials, rate=args.rate, timeout=120, emitter=printer()).trials
            ),
        )
        measured[str(size)] = entry
        print(table(HEADERS, [row(size, name.rsplit("-", 1)[-1], entry)]), flush=True)


def trials_of(handle: LabHandle, what: str, run: Callable[[], list[verify.Trial]]) -> dict[str, Any]:
    """The trials' entry, with every master's reload lines meanwhile; a run that stops with an error (the
    lab not healthy in time, say) is recorded as such, and the next measures go on."""
    since = int(time.time()) - 1
    try:
        entry = trial_entry(run())
    except LabgenError as error:
        print(f"  {what}: {error}", flush=True)
        entry = trial_entry([])
        entry["error"] = str(error)
    entry["reloads"] = reload_lines(handle, since)
    return entry


def settle(handle: LabHandle, timeout: float = 300.0) -> None:
    """Every master UP or MAINT behind HAProxy and /login answered: the last trial is over."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = [handle.server_status(m) for m in handle.topology.masters]
        if all(s is not None and s.startswith(("UP", "MAINT")) for s in statuses) and handle.probe_login():
            return
        time.sleep(1.0)


def reload_lines(handle: LabHandle, since: int) -> list[str]:
    """Every master's `Reload complete` lines since `since` (what each promotion's reload read, and how long)."""
    lines = []
    for master in handle.topology.masters:
        with contextlib.suppress(Exception):  # a master may be gone for a moment
            text = handle.container(master).logs(since=since).decode("utf-8", "replace")
            lines += [line for line in text.splitlines() if RELOAD_DONE.search(line)]
    return sorted(lines)


def grow(handle: LabHandle, have: int, size: int, builds: int, real_builds: int) -> dict[str, Any]:
    """Jobs have..size-1 created through HAProxy; their history: real builds first, then written folders."""
    client = handle.jenkins(timeout=30)
    new = size - have
    names = [f"{PREFIX}-{i:05d}" for i in range(have, size)]
    created = create_jobs(client, names)
    # real builds: whole jobs, `builds` each, as many as `real_builds` allows
    built_jobs = min(new, real_builds // builds) if builds else 0
    real = run_builds(client, names[:built_jobs], builds) if built_jobs else Timed(0, 0.0)
    master = handle.active_master(handle.haproxy_servers()) or handle.topology.masters[0]
    written = write_history(handle, master, PREFIX, have + built_jobs, new - built_jobs, builds)
    print(
        f"  {new} jobs created ({created.per_s}/s, {created.retried} retried);"
        f" {real.count} real builds ({real.per_s}/s);"
        f" {written.count} finished builds written onto the home in {written.seconds:.1f} s",
        flush=True,
    )
    return {
        "jobs_created": created.count,
        "creates_per_s": created.per_s,
        "creates_retried": created.retried,
        "real_builds": real.count,
        "builds_per_s": real.per_s,
        "written_builds": written.count,
        "write_s": round(written.seconds, 1),
    }


def measure_reload(handle: LabHandle, timeout: float = 600.0) -> dict[str, Any]:
    """POST /reload on the standby; its own log line says how long the reload took and what it read."""
    active = handle.active_master(handle.haproxy_servers())
    standby = next(m for m in handle.topology.masters if m != active)
    container = handle.container(standby)
    since = int(time.time()) - 1
    chaos.apply(handle, "reload", standby)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = container.logs(since=since).decode("utf-8", "replace").splitlines()
        done = [m for m in map(RELOAD_DONE.search, lines) if m]
        if done:
            last = done[-1]
            return {
                "master": standby,
                "reload_s": float(last.group(1)),
                "jobs": int(last.group(2)),
                "items_s": float(last.group(3)),
                "threads": int(last.group(4)),
            }
        time.sleep(0.2)
    return {"master": standby, "reload_s": None}


def trial_entry(trials: list[verify.Trial]) -> dict[str, Any]:
    summaries = [t.summary() for t in trials]
    held_keys = sorted({k for s in summaries for k in s if "held" in k and k.endswith("p99_s")})
    return {
        "passed": sum(t.verdict == "pass" for t in trials),
        "trials": len(trials),
        "consistent_s": stats([t.consistent_s for t in trials]),
        "switch_s": stats([t.switch_s for t in trials]),
        "failed_requests": sum(t.failed_requests for t in trials),
        "unknown_requests": sum(t.unknown_requests for t in trials),
        "requests": sum(t.requests for t in trials),
        "lost_writes": sum(len(t.lost) for t in trials),
        "latency_p99_s": stats([t.latency_p99_s for t in trials]),
        "held_p99_s": stats([s.get(held_keys[0]) for s in summaries]) if held_keys else None,
        "reasons": [r for t in trials for r in t.reasons],
        "summaries": summaries,
    }


HEADERS = [
    "jobs",
    "home",
    "reload s",
    "kill pass",
    "kill consistent med/worst",
    "failed/unknown/all",
    "held p99 worst",
    "switchover pass",
    "switchover consistent med/worst",
    "creates/s",
    "builds/s",
    "memory MiB",
]


def row(size: int, client: str, entry: dict[str, Any]) -> list[object]:
    kill, switch, seed = entry["kill"], entry["switchover"], entry["seed"]
    held = kill["held_p99_s"] or kill["latency_p99_s"]
    mark = "" if kill["held_p99_s"] else " (latency)"
    return [
        size,
        "NFS" if client == "fuse" else client,
        _num(entry["reload"].get("reload_s")),
        f"{kill['passed']}/{kill['trials']}" + (" error" if "error" in kill else ""),
        _pair(kill["consistent_s"]),
        f"{kill['failed_requests']}/{kill['unknown_requests']}/{kill['requests']}",
        _num(held["worst"]) + mark,
        f"{switch['passed']}/{switch['trials']}" + (" error" if "error" in switch else ""),
        _pair(switch["consistent_s"]),
        _num(seed["creates_per_s"]),
        _num(seed["builds_per_s"]),
        " / ".join(f"{v:.0f}" for v in entry["memory_mib"].values()),
    ]


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _pair(s: dict[str, Any]) -> str:
    return f"{_num(s['median'])} / {_num(s['worst'])}"


if __name__ == "__main__":
    sys.exit(main())
