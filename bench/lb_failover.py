"""The load balancer's faults, one HAProxy against a pair sharing a VIP (haproxy.replicas 2): each
fault of the one HAProxy / the VIP's holder (kill, stop, pause, partition; for the pair also
kill-haproxy, HAProxy's processes only, and split, the two cut off from each other) held for
--hold s while `labgen verify fault` probes and writes through the front (the VIP for the pair).
Prints a table and writes bench/results/lb-failover-*.json.

    python bench/lb_failover.py --trials 10
    python bench/lb_failover.py --trials 3 --replicas 2 --actions kill,pause --name-prefix pair-bench

gap: the longest time without an answered probe, from the fault to the heal (the takeover, for
the pair). failed / unknown: probes refused or unanswered from the fault to the heal.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import printer, save, start, stats, table

from labgen import chaos
from labgen.lab import runtime
from labgen.model.names import HAPROXY
from labgen.verify.faults import FaultPlan, run_faults
from labgen.verify.model import FaultTrial


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--replicas", default="1,2", help="1 (one HAProxy), 2 (the pair), or both")
    parser.add_argument("--actions", default=",".join((*chaos.FAULTS, *chaos.PAIR_FAULTS)))
    parser.add_argument("--hold", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--name-prefix", default="lb-bench", help="labs are named PREFIX-rN")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    rows = []
    for replicas in (int(r) for r in args.replicas.split(",")):
        name = f"{args.name_prefix}-r{replicas}"
        start(name, **{"haproxy.replicas": replicas, "jenkins.flavour": "lite"})
        try:
            for action in args.actions.split(","):
                if action in chaos.PAIR_FAULTS and replicas == 1:
                    continue
                print(f"replicas {replicas}: {args.trials} x {action} haproxy for {args.hold:g} s", flush=True)
                plan = FaultPlan(HAPROXY, action, hold=args.hold, rate=args.rate)
                result = run_faults(name, [plan], trials=args.trials, emitter=printer())
                entry = _entry(result.trials, args.hold)
                results[f"r{replicas}/{action}"] = entry
                rows.append(_row(replicas, action, entry))
        finally:
            runtime.down(name, volumes=True)
    headers = ["replicas", "fault", "pass", "gap med/worst", "failed/unknown GET", "writes failed", "lost writes"]
    print(table(headers, rows))
    print(f"results: {save('lb-failover', {'args': vars(args), 'results': results})}")
    return 0


def _gap(trial: FaultTrial, hold: float) -> float | None:
    """The longest time without an answered probe, between the fault and the heal."""
    if trial.trial is None:
        return None
    answers = sorted(s.answered for s in trial.trial.samples if s.outcome == "ok" and 0 <= s.answered <= hold)
    moments = [0.0, *answers, hold]
    return round(max(b - a for a, b in itertools.pairwise(moments)), 3)


def _entry(trials: list[FaultTrial], hold: float) -> dict[str, Any]:
    return {
        "trials": len(trials),
        "passed": sum(t.verdict == "pass" for t in trials),
        "gap_s": stats([_gap(t, hold) for t in trials]),
        "failed": [t.failed_during for t in trials],
        "unknown": [t.unknown_during for t in trials],
        "writes_failed": [t.writes_failed for t in trials],
        "lost": [len(t.trial.lost) if t.trial else None for t in trials],
        "active_changes": [t.active_changes for t in trials],
        "targets": [t.service for t in trials],
        "reasons": [t.reasons for t in trials],
    }


def _row(replicas: int, action: str, entry: dict[str, Any]) -> list[Any]:
    gap = entry["gap_s"]
    return [
        replicas,
        action,
        f"{entry['passed']}/{entry['trials']}",
        f"{gap['median']} / {gap['worst']} s",
        f"{sum(entry['failed'])} / {sum(entry['unknown'])} (worst trial {max(entry['failed'])})",
        sum(entry["writes_failed"]),
        sum(v or 0 for v in entry["lost"]),
    ]


if __name__ == "__main__":
    raise SystemExit(main())
