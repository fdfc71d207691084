"""Lab lifecycle: cold start (no labgen images: build everything, then every master healthy),
warm `labgen up` with images present, and `labgen down`. Also the footprint of the running
default lab at rest (memory and CPU per container). Writes bench/results/lifecycle-*.json.

    python bench/lifecycle.py            # warm only (images kept)
    python bench/lifecycle.py --cold     # removes labgen's images first: a full rebuild
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save, start, table

from labgen import engine
from labgen.lab import docker as docker_api
from labgen.lab import runtime

NAME = "bench-lifecycle"


def remove_labgen_images() -> int:
    """Remove every labgen image (children before the base), and the dangling build stages."""
    from docker.errors import APIError

    docker_engine = engine.client()
    removed = 0
    for _ in range(4):
        docker_engine.images.prune(filters={"dangling": True})
        left = [i for i in docker_engine.images.list() if any(t.startswith("labgen/") for t in i.tags)]
        if not left:
            break
        for image in left:
            try:
                docker_engine.images.remove(image.id, force=True)
                removed += 1
            except APIError:
                pass  # a child still uses it: next pass
    return removed


def footprint(name: str, seconds: float = 10.0) -> dict[str, dict[str, float]]:
    """Memory (MiB) and mean CPU (% of one core) per container over `seconds` at rest."""
    containers = docker_api.lab_containers(name, all_states=False)
    first = {c.name: c.stats(stream=False) for c in containers}
    time.sleep(seconds)
    usage = {}
    for container in containers:
        now = container.stats(stream=False)
        before = first[container.name]
        cpu_ns = now["cpu_stats"]["cpu_usage"]["total_usage"] - before["cpu_stats"]["cpu_usage"]["total_usage"]
        memory = now["memory_stats"]
        cache = memory.get("stats", {}).get("total_inactive_file", memory.get("stats", {}).get("inactive_file", 0))
        usage[container.labels.get("org.labgen.service", container.name)] = {
            "memory_mib": round((memory.get("usage", 0) - cache) / 2**20, 1),
            "cpu_percent": round(cpu_ns / (seconds * 1e9) * 100, 2),
        }
    return usage


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cold", action="store_true", help="remove labgen's images first")
    args = parser.parse_args()
    result: dict[str, object] = {}
    runtime.down(NAME, volumes=True)
    if args.cold:
        print(f"cold: removed {remove_labgen_images()} labgen images", flush=True)
        started = time.monotonic()
        up = start(NAME)
        result["cold_up_s"] = round(time.monotonic() - started, 1)
        result["cold_up_reported_s"] = round(up.seconds, 1)
        started = time.monotonic()
        runtime.down(NAME)
        result["down_after_cold_s"] = round(time.monotonic() - started, 1)
    started = time.monotonic()
    up = start(NAME)
    result["warm_up_s"] = round(time.monotonic() - started, 1)
    time.sleep(5)
    usage = footprint(NAME)
    result["footprint"] = usage
    result["footprint_total_mib"] = round(sum(u["memory_mib"] for u in usage.values()), 1)
    result["footprint_total_cpu_percent"] = round(sum(u["cpu_percent"] for u in usage.values()), 2)
    started = time.monotonic()
    runtime.down(NAME, volumes=True)
    result["down_s"] = round(time.monotonic() - started, 1)
    rows = [[k, v] for k, v in result.items() if k != "footprint"]
    rows += [[f"  {svc}", f"{u['memory_mib']} MiB, {u['cpu_percent']} % CPU"] for svc, u in usage.items()]
    print(table(["measure", "value"], rows))
    print(f"written: {save('lifecycle', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
