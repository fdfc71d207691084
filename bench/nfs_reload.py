"""The standby's reload of a running lab's NFS home with the userspace NFS client of one checkout or
another, and the CPU each process spent on it: an A/B of the client where it runs, on one home.

For each round and each checkout, the checkout's `images/jenkins/nfsmount/labgen_nfsmount` is copied
into the standby's container, which restarts (its entrypoint mounts the home with that client); then
POST /reload on it, `--reloads` times. The checkouts alternate, so a machine that gets slower or
faster meanwhile weighs on each alike. At the end the standby gets its image's own client back.

    python bench/scale.py --sizes 1000 --clients fuse --trials 1 --keep   # a lab with a home
    git worktree add /tmp/old HEAD~3
    python bench/nfs_reload.py --lab bench-scale-fuse --checkout /tmp/old --checkout . --rounds 2
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import save
from scale import RELOAD_DONE

from labgen import chaos
from labgen.lab.handle import LabHandle
from labgen.model import names

CLIENT_DIR = "/opt/labgen"  # where the Jenkins image keeps labgen_nfsmount (images/jenkins/lite/Dockerfile)
PACKAGE = "labgen_nfsmount"
HEALTHY_WITHIN_S = 120.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", required=True, help="a running lab whose home is on NFS")
    parser.add_argument("--checkout", action="append", default=[], help="a checkout whose client is measured")
    parser.add_argument("--rounds", type=int, default=2, help="times each checkout is measured, alternated")
    parser.add_argument("--reloads", type=int, default=3, help="reloads per round")
    args = parser.parse_args()
    checkouts = [Path(c).resolve() for c in args.checkout] or [Path(__file__).resolve().parents[1]]
    handle = LabHandle.open(args.lab)
    active = handle.active_master(handle.haproxy_servers())
    standby = next(m for m in handle.topology.masters if m != active)
    container = handle.container(standby)
    original, _ = container.get_archive(f"{CLIENT_DIR}/{PACKAGE}")
    original_tar = b"".join(original)
    results: dict[str, list[dict[str, Any]]] = {str(c): [] for c in checkouts}
    try:
        for round_ in range(1, args.rounds + 1):
            for checkout in checkouts:
                install(container, client_tar(checkout))
                restart_healthy(handle, standby)
                for _ in range(args.reloads):
                    measured = reload_with_cpu(handle, standby)
                    results[str(checkout)].append(measured)
                    print(f"round {round_} {checkout}: {describe(measured)}", flush=True)
    finally:
        install(handle.container(standby), original_tar)
        restart_healthy(handle, standby)
    path = save("nfs-reload", {"lab": args.lab, "standby": standby, "results": results})
    print(f"written: {path}")
    return 0


def client_tar(checkout: Path) -> bytes:
    """The checkout's client package as a tar of one folder (without its __pycache__)."""
    source = checkout / "images" / "jenkins" / "nfsmount" / PACKAGE
    if not source.is_dir():
        raise SystemExit(f"{source} is missing: --checkout takes a labgen checkout")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(source, arcname=PACKAGE, filter=lambda info: None if "__pycache__" in info.name else info)
    return buffer.getvalue()


def install(container: Any, tar: bytes) -> None:
    container.exec_run(["rm", "-rf", f"{CLIENT_DIR}/{PACKAGE}"])
    if not container.put_archive(CLIENT_DIR, tar):
        raise SystemExit(f"could not copy the client into {container.name}")


def restart_healthy(handle: LabHandle, master: str) -> None:
    handle.container(master).restart(timeout=10)
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while time.monotonic() < deadline:
        if handle.container(master).attrs.get("State", {}).get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(1)
    raise SystemExit(f"{master} was not healthy {HEALTHY_WITHIN_S:.0f} s after its restart")


def reload_with_cpu(handle: LabHandle, standby: str) -> dict[str, Any]:
    """reload_once on the standby, with the CPU seconds of every process of the standby, the NFS
    server and the load balancers meanwhile (by their host pids)."""
    services = [standby, names.NFS, *handle.topology.load_balancer_names]
    processes = {f"{service}: {args[:50]}": pid for service in services for pid, args in top(handle, service)}
    before = {name: cpu_seconds(pid) for name, pid in processes.items()}
    measured = reload_once(handle, standby)
    spent = {name: round(cpu_seconds(pid) - before[name], 2) for name, pid in processes.items()}
    measured["cpu_s"] = {name: seconds for name, seconds in spent.items() if seconds >= 0.01}
    return measured


def reload_once(handle: LabHandle, standby: str, timeout: float = 600.0) -> dict[str, Any]:
    """POST /reload on the standby; what its next `Reload complete` line says (the lines it logged
    before are counted first, so that a reload a moment ago is not taken for this one)."""

    def done_lines() -> list[re.Match[str]]:
        text = handle.container(standby).logs().decode("utf-8", "replace")
        return [m for m in map(RELOAD_DONE.search, text.splitlines()) if m]

    seen = len(done_lines())
    chaos.apply(handle, "reload", standby)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = done_lines()
        if len(lines) > seen:
            last = lines[-1]
            return {"reload_s": float(last.group(1)), "jobs": int(last.group(2)), "items_s": float(last.group(3))}
        time.sleep(0.2)
    raise SystemExit(f"{standby} did not log a completed reload within {timeout:.0f} s")


def top(handle: LabHandle, service: str) -> list[tuple[int, str]]:
    found = handle.containers(service, all_states=False)
    if not found:
        return []
    listing = found[0].top(ps_args="-eo pid,args")
    return [(int(row[0]), row[1]) for row in listing.get("Processes") or []]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def describe(measured: dict[str, Any]) -> str:
    cpu = ", ".join(f"{name} {seconds} s" for name, seconds in measured.get("cpu_s", {}).items())
    return f"reload {measured.get('reload_s')} s, items {measured.get('items_s')} s; CPU: {cpu}"


if __name__ == "__main__":
    sys.exit(main())
