"""Lab lifecycle: cold start (no labgen images: build everything, then every master healthy),
load-then-up (the images saved with `labgen images save`, removed, loaded back, then `up`),
warm `labgen up` with images present, and `labgen down`. Also the footprint of the running
default lab at rest (memory and CPU per container). Writes bench/results/lifecycle-*.json.

    python bench/lifecycle.py            # warm only (images kept)
    python bench/lifecycle.py --cold     # removes labgen's images first: a full rebuild, then
                                         # save, remove, load, up (issue 13's two targets)

Targets (issue 13, 2 cores): cold start under 150 s; `up` after `load` under 20 s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save, start, table

from labgen import engine
from labgen.builder import store
from labgen.events import Event
from labgen.lab import docker as docker_api
from labgen.lab import runtime
from labgen.model.names import ImageTags

NAME = "bench-lifecycle"
COLD_TARGET_S = 150
LOAD_UP_TARGET_S = 20


def remove_labgen_images(build_cache: bool = False) -> int:
    """Remove every labgen image (children before the base), and the dangling build stages;
    with ``build_cache``, BuildKit's build cache too (else a rebuild is not cold)."""
    from docker.errors import APIError

    docker_engine = engine.client()
    removed = 0
    problems: dict[str, str] = {}
    for _ in range(4):
        docker_engine.images.prune(filters={"dangling": True})
        prefix = ImageTags.of(os.environ).prefix
        left = [i for i in docker_engine.images.list() if any(t.startswith(prefix) for t in i.tags)]
        if not left:
            break
        for image in left:
            try:
                docker_engine.images.remove(image.id, force=True)
                removed += 1
            except APIError as exc:
                problems[image.tags[0]] = str(exc.explanation or exc)  # a child or a container uses it: next pass
    for tag, problem in problems.items():
        if any(tag in i.tags for i in docker_engine.images.list()):
            print(f"  not removed: {tag}: {problem}", flush=True)
    if build_cache:
        freed = docker_engine.api.prune_builds(all=True).get("SpaceReclaimed", 0)
        print(f"  BuildKit build cache pruned: {freed / 1e6:.0f} MB", flush=True)
    return removed


def cold_start() -> dict[str, object]:
    """Empty engine (of labgen images) to a healthy default lab; the build's steps and waits."""
    print(f"cold: removed {remove_labgen_images(build_cache=True)} labgen images", flush=True)
    events: list[Event] = []
    started = time.monotonic()
    up = start(NAME, record=events)
    seconds = time.monotonic() - started
    builds = {str(e.data.get("tag")): round(float(str(e.data["seconds"])), 1) for e in events if e.kind == "build.done"}
    waits = [e.message for e in events if e.kind == "build.wait"]
    runtime.down(NAME, volumes=True)
    return {
        "cold_up_s": round(seconds, 1),
        "cold_up_reported_s": round(up.seconds, 1),
        "cold_target_s": COLD_TARGET_S,
        "cold_met": seconds < COLD_TARGET_S,
        "cold_builds_s": builds,
        "cold_waits": waits,
    }


def load_then_up() -> dict[str, object]:
    """`labgen images save`, remove every labgen image, `labgen images load`, `labgen up`."""
    from labgen.model.spec import LabSpec

    with tempfile.TemporaryDirectory(prefix="labgen-bench-", dir="/var/tmp") as folder:
        file = Path(folder) / "images.tar"
        started = time.monotonic()
        saved = store.save_images(LabSpec(), file)
        save_s = time.monotonic() - started
        removed = remove_labgen_images(build_cache=True)  # an empty engine: no layer left anywhere
        print(f"saved {saved.bytes / 1e6:.0f} MB in {save_s:.1f} s; removed {removed} images", flush=True)
        started = time.monotonic()
        store.load_images(file)
        load_s = time.monotonic() - started
    events: list[Event] = []
    started = time.monotonic()
    start(NAME, record=events)
    up_s = time.monotonic() - started
    runtime.down(NAME, volumes=True)
    return {
        "saved_mb": round(saved.bytes / 1e6),
        "save_s": round(save_s, 1),
        "load_s": round(load_s, 1),
        "up_after_load_s": round(up_s, 1),
        "load_then_up_s": round(load_s + up_s, 1),
        "up_after_load_target_s": LOAD_UP_TARGET_S,
        "up_after_load_met": up_s < LOAD_UP_TARGET_S,
        "built_after_load": [str(e.data.get("tag")) for e in events if e.kind == "build.start"],
    }


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
        result.update(cold_start())
        result.update(load_then_up())
    started = time.monotonic()
    start(NAME)
    result["warm_up_s"] = round(time.monotonic() - started, 1)
    time.sleep(5)
    usage = footprint(NAME)
    result["footprint"] = usage
    result["footprint_total_mib"] = round(sum(u["memory_mib"] for u in usage.values()), 1)
    result["footprint_total_cpu_percent"] = round(sum(u["cpu_percent"] for u in usage.values()), 2)
    started = time.monotonic()
    runtime.down(NAME, volumes=True)
    result["down_s"] = round(time.monotonic() - started, 1)
    rows = [[k, v] for k, v in result.items() if k not in ("footprint", "cold_waits")]
    rows += [[f"  {svc}", f"{u['memory_mib']} MiB, {u['cpu_percent']} % CPU"] for svc, u in usage.items()]
    print(table(["measure", "value"], rows))
    print(f"written: {save('lifecycle', result)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
