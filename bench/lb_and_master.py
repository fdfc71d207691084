"""Both at once (issue 20): on a pair (haproxy.replicas 2), the active master and the load balancer
holding the VIP killed at the same moment. `labgen verify failover --action kill` kills the active
master; the moment it says so (its "verify.fault" event), this kills the VIP's holder too, and
starts it again once the trial is over. Prints a table and writes bench/results/lb-and-master-*.json.

    python bench/lb_and_master.py --trials 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import printer, save, start, stats, table

from labgen import chaos
from labgen.chaos.faults import resolve_target
from labgen.events import Event
from labgen.lab import runtime
from labgen.lab.handle import LabHandle
from labgen.model.names import HAPROXY
from labgen.verify.experiment import run_failover
from labgen.verify.model import Trial


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--name", default="lb-master-bench")
    args = parser.parse_args()
    start(args.name, **{"haproxy.replicas": 2, "jenkins.flavour": "lite"})
    trials: list[dict[str, Any]] = []
    try:
        handle = LabHandle.open(args.name)
        for number in range(1, args.trials + 1):
            trials.append(_one(handle, number, args.rate))
    finally:
        runtime.down(args.name, volumes=True)
    rows = [
        [
            t["number"],
            f"{t['master']} + {t['balancer']}",
            t["verdict"],
            t["first_success_s"],
            t["consistent_s"],
            f"{t['failed']} / {t['unknown']} of {t['requests']}",
            t["lost"],
            t["two_ready_moments"],
        ]
        for t in trials
    ]
    headers = ["#", "killed", "verdict", "first 200 (s)", "consistent (s)", "failed / unknown", "lost", "two ready"]
    print(table(headers, rows))
    summary = {
        "consistent_s": stats([t["consistent_s"] for t in trials]),
        "passed": sum(t["verdict"] == "pass" for t in trials),
    }
    print(f"results: {save('lb-and-master', {'args': vars(args), 'trials': trials, 'summary': summary})}")
    return 0


def _one(handle: LabHandle, number: int, rate: float) -> dict[str, Any]:
    killed: dict[str, str] = {}
    emitter = printer()

    def also_kill_the_vip_holder(event: Event) -> None:
        if event.kind == "verify.fault" and "balancer" not in killed:
            killed["balancer"] = resolve_target(handle, HAPROXY)
            chaos.apply(handle, "kill", killed["balancer"])

    emitter.subscribe(also_kill_the_vip_holder)
    print(f"trial {number}: kill the active master and the VIP's holder at once", flush=True)
    try:
        trial: Trial = run_failover(handle.name, action="kill", trials=1, rate=rate, emitter=emitter).trials[0]
    finally:
        if "balancer" in killed:
            chaos.apply(handle, "start", killed["balancer"])
            time.sleep(2)  # keepalived back in BACKUP before the next trial
    return {
        "number": number,
        "master": trial.target,
        "balancer": killed.get("balancer"),
        "verdict": trial.verdict,
        "reasons": trial.reasons,
        "first_success_s": trial.first_success_s,
        "consistent_s": trial.consistent_s,
        "requests": trial.requests,
        "failed": trial.failed_requests,
        "unknown": trial.unknown_requests,
        "lost": len(trial.lost),
        "two_ready_moments": trial.two_ready_moments,
        "held_max_s": trial.held_max_s,
    }


if __name__ == "__main__":
    raise SystemExit(main())
