"""What NFS costs: job creation and build rate through HAProxy with JENKINS_HOME on NFS (the
lab as designed) against the same lab with JENKINS_HOME on one local Docker volume
(`nfs.client: local`), as a ratio from one run. Writes bench/results/nfs-cost-*.json.

    python bench/nfs_cost.py --jobs 200
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save, start, table

from labgen.lab import runtime
from labgen.lab.handle import LabHandle
from labgen.lab.jenkins_client import Reply


def measure(up: runtime.UpResult, jobs: int) -> dict[str, float]:
    client = LabHandle.open(up.topology.name).jenkins(timeout=30)
    names = [f"bench-{uuid.uuid4().hex[:8]}-{i}" for i in range(jobs)]
    create_s = _timed(names, client.create_job, 200, "create")
    build_s = _timed(names, client.build_job, 201, "build")
    return {"creates_per_s": round(jobs / create_s, 1), "builds_per_s": round(jobs / build_s, 1)}


def _timed(names: list[str], call: Callable[[str], Reply], expected: int, what: str) -> float:
    """Seconds to run `call` on every name in turn; any unexpected answer stops the benchmark."""
    started = time.monotonic()
    for name in names:
        reply = call(name)
        if reply.status != expected:
            raise SystemExit(f"{what} {name}: HTTP {reply.status} {reply.error or ''}")
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    results = {}
    for client in ("fuse", "local"):
        name = f"bench-nfs-{client}"
        up = start(name, **{"nfs.client": client})
        try:
            results[client] = measure(up, args.jobs)
        finally:
            runtime.down(name, volumes=True)
    nfs, local = results["fuse"], results["local"]
    ratio = {k: round(nfs[k] / local[k], 3) for k in nfs}
    print(
        table(
            ["JENKINS_HOME", "job creates/s", "builds/s"],
            [
                ["NFS (userspace NFSv4 over FUSE)", nfs["creates_per_s"], nfs["builds_per_s"]],
                ["local Docker volume", local["creates_per_s"], local["builds_per_s"]],
                ["ratio NFS / local", ratio["creates_per_s"], ratio["builds_per_s"]],
            ],
        )
    )
    print(f"written: {save('nfs-cost', {'jobs': args.jobs, 'results': results, 'ratio': ratio})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
