"""Failover, the ha profile against the article profile: kill / stop / pause / partition of the
active master, N trials each. Prints a table and writes bench/results/failover-*.json.

    python bench/failover.py --trials 10
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import printer, save, start, stats, table

from labgen import verify
from labgen.lab import runtime

ACTIONS = ("kill", "stop", "pause", "partition")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--profiles", default="ha,article")
    parser.add_argument("--actions", default=",".join(ACTIONS))
    parser.add_argument(
        "--manual-reload-after",
        type=float,
        default=5.0,
        help="article profile: seconds without a consistent answer before labgen does the manual reload",
    )
    args = parser.parse_args()
    results: dict[str, dict[str, object]] = {}
    rows = []
    for profile in args.profiles.split(","):
        name = f"bench-{profile}"
        up = start(name, profile=profile)
        try:
            for action in args.actions.split(","):
                print(f"{profile}: {args.trials} x {action}", flush=True)
                result = verify.run_failover(
                    up.topology.name,
                    action=action,
                    trials=args.trials,
                    timeout=60,
                    manual_reload_after=args.manual_reload_after,
                    emitter=printer(),
                )
                trials = result.trials
                entry = {
                    "detection_s": stats([t.detection_s for t in trials]),
                    "first_success_s": stats([t.first_success_s for t in trials]),
                    "consistent_s": stats([t.consistent_s for t in trials]),
                    "failed_requests": [t.failed_requests for t in trials],
                    "requests": [t.requests for t in trials],
                    "failed_writes": [sum(w.outcome != "ok" for w in t.writes if w.t_invoke >= 0) for t in trials],
                    "lost_writes": sum(len(t.lost) for t in trials),
                    "manual_reloads": sum(t.manual_reload_s is not None for t in trials),
                    "passed": sum(t.verdict == "pass" for t in trials),
                    "trials": [t.summary() for t in trials],
                }
                results[f"{profile}/{action}"] = entry
                rows.append(
                    [
                        profile,
                        action,
                        f"{entry['passed']}/{len(trials)}",
                        _pair(entry["detection_s"]),
                        _pair(entry["first_success_s"]),
                        _pair(entry["consistent_s"]),
                        f"{sum(entry['failed_requests'])}/{sum(entry['requests'])}",
                        entry["lost_writes"],
                        entry["manual_reloads"],
                    ]
                )
        finally:
            runtime.down(name, volumes=True)
    print(
        table(
            [
                "profile",
                "fault",
                "pass",
                "DOWN med/worst",
                "first 200 med/worst",
                "consistent med/worst",
                "failed GET",
                "lost writes",
                "manual reloads",
            ],
            rows,
        )
    )
    print(f"written: {save('failover', {'trials_per_cell': args.trials, 'results': results})}")
    return 0


def _pair(s: object) -> str:
    assert isinstance(s, dict)
    f = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    return f"{f(s['median'])} / {f(s['worst'])}"


if __name__ == "__main__":
    sys.exit(main())
