"""What NFS costs: job creation and build rate through HAProxy with JENKINS_HOME on NFS (the
lab as designed) against the same lab with JENKINS_HOME on one local Docker volume
(`nfs.client: local`), as a ratio from one run; with --reload-jobs N also how long the active
master's reload of a home with N jobs takes (POST /reload until /login answers 200 again, timed
inside the master's container). Writes bench/results/nfs-cost-*.json.

    python bench/nfs_cost.py --jobs 200 --reload-jobs 1000
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save, start, table

from labgen.lab import runtime
from labgen.lab.handle import LabHandle
from labgen.lab.jenkins_client import JenkinsClient, Reply
from labgen.model.names import JENKINS_HTTP_PORT
from labgen.model.spec import parse_override

# run inside the master: POST /reload as the admin, then GET /login until it answers 200; prints seconds
_RELOAD_PROBE = """
import base64, sys, time, urllib.request, urllib.error
auth = "Basic " + base64.b64encode(sys.argv[1].encode()).decode()
base = "http://127.0.0.1:" + sys.argv[2]
def status(method, path):
    req = urllib.request.Request(base + path, method=method, data=b"" if method == "POST" else None,
                                 headers={"Authorization": auth})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0
t0 = time.monotonic()
posted = status("POST", "/reload")
while status("GET", "/login") != 200:
    if time.monotonic() - t0 > 300:
        sys.exit("reload did not end in 300 s")
    time.sleep(0.02)
print(posted, round(time.monotonic() - t0, 3))
"""


def measure(up: runtime.UpResult, jobs: int, reload_jobs: int) -> dict[str, float]:
    handle = LabHandle.open(up.topology.name)
    client = handle.jenkins(timeout=30)
    names = [f"bench-{uuid.uuid4().hex[:8]}-{i}" for i in range(jobs)]
    create_s = _timed(names, client.create_job, 200, "create")
    build_s = _timed(names, client.build_job, 201, "build")
    result: dict[str, float] = {"creates_per_s": round(jobs / create_s, 1), "builds_per_s": round(jobs / build_s, 1)}
    if reload_jobs:
        more = [f"bench-{uuid.uuid4().hex[:8]}-r{i}" for i in range(max(0, reload_jobs - jobs))]
        _timed(more, client.create_job, 200, "create")
        result["reload_jobs"] = max(jobs, reload_jobs)
        result["reload_s"] = _reload_seconds(handle, client)
    return result


def _reload_seconds(handle: LabHandle, client: JenkinsClient) -> float:
    """Seconds of the active master's reload (POST /reload until /login answers 200), timed in its container."""
    time.sleep(3)  # let the last saves settle
    served = client.request("GET", "/login").served_by
    master = next((m for m in handle.topology.masters if served and m in served), handle.topology.masters[0])
    user, token = client.credentials
    probe = ["python3", "-c", _RELOAD_PROBE, f"{user}:{token}", str(JENKINS_HTTP_PORT)]
    code, out = handle.container(master).exec_run(probe)
    text = out.decode(errors="replace").strip()
    if code != 0:
        raise SystemExit(f"reload on {master}: {text}")
    return float(text.split()[-1])


def _timed(names: list[str], call: Callable[[str], Reply], expected: int, what: str) -> float:
    """Seconds to run `call` on every name in turn.  An unexpected answer is retried once after a second
    (a busy shared machine makes HAProxy answer 502/503 now and then) up to 3 times and counted."""
    started = time.monotonic()
    for name in names:
        reply = call(name)
        for attempt in range(4):
            if reply.status == expected or (what == "create" and reply.status == 400 and name in _retrying):
                break
            if attempt == 3:
                raise SystemExit(f"{what} {name}: HTTP {reply.status} {reply.error or ''}")
            print(f"  {what} {name}: HTTP {reply.status} {reply.error or ''}; retrying", flush=True)
            _retried[what] = _retried.get(what, 0) + 1
            _retrying.add(name)
            time.sleep(2)
            reply = call(name)
    return time.monotonic() - started


_retried: dict[str, int] = {}
_retrying: set[str] = set()  # a create retried may have been done by the first try: 400 "exists" is fine then


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--reload-jobs", type=int, default=0, help="also time a reload of a home with this many jobs")
    parser.add_argument("--prefix", default="bench-nfs", help="lab names: PREFIX-fuse and PREFIX-local")
    parser.add_argument("--client", choices=("both", "fuse", "local"), default="both", help="measure only one")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="spec override for both labs")
    args = parser.parse_args()
    overrides: dict[str, Any] = dict(parse_override(item) for item in args.set)
    results = {}
    for client in ("fuse", "local") if args.client == "both" else (args.client,):
        name = f"{args.prefix}-{client}"
        up = start(name, **{**overrides, "nfs.client": client})
        try:
            _retried.clear()
            results[client] = measure(up, args.jobs, args.reload_jobs)
            results[client].update({f"retried_{k}": v for k, v in _retried.items()})
            print(f"  {client}: {results[client]}", flush=True)
        finally:
            runtime.down(name, volumes=True)
    keys = list(next(iter(results.values())))
    rows: list[list[Any]] = [[k, *[results[c].get(k, "-") for c in results]] for k in keys]
    if len(results) == 2:
        nfs, local = results["fuse"], results["local"]
        ratio = {k: round(nfs[k] / local[k], 3) for k in nfs if local.get(k)}
        for key, row in zip(keys, rows, strict=True):
            row.append(ratio.get(key, "-"))
    else:
        ratio = {}
    labels = {"fuse": "NFS (userspace NFSv4 over FUSE)", "local": "local Docker volume"}
    print(table(["", *[labels[c] for c in results], *(["ratio NFS / local"] if ratio else [])], rows))
    data = {"jobs": args.jobs, "reload_jobs": args.reload_jobs, "overrides": overrides, "results": results}
    print(f"written: {save('nfs-cost', {**data, 'ratio': ratio})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
