"""Failover, the ha profile against the article profile: kill / stop / pause / partition of the
active master at each probe rate, N trials each, and (ha) planned switchovers. Prints a table and
writes bench/results/failover-*.json. Recovery moments are timed by when the answer came back.

    python bench/failover.py --trials 10
    python bench/failover.py --trials 2 --profiles ha --actions kill --rates 20 --name-prefix f10-bench
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import printer, save, start, stats, table

from labgen import verify
from labgen.lab import runtime
from labgen.model.spec import parse_override

ACTIONS = verify.FAULTS  # the fault table's faults
SWITCHOVER = verify.experiment.SWITCHOVER


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--profiles", default="ha,article")
    parser.add_argument("--actions", default=",".join((*ACTIONS, SWITCHOVER)), help="faults, and switchover (ha)")
    parser.add_argument("--rates", default="20,100", help="probe requests per second, comma separated")
    parser.add_argument("--name-prefix", default="bench", help="labs are named PREFIX-PROFILE")
    parser.add_argument(
        "--manual-reload-after",
        type=float,
        default=5.0,
        help="article profile: seconds without a consistent answer before labgen does the manual reload",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a spec field for every lab, as labgen's --set (e.g. haproxy.read_timeout_ms=2000)",
    )
    args = parser.parse_args()
    overrides = dict(parse_override(assignment) for assignment in args.set)
    results: dict[str, dict[str, object]] = {}
    rows = []
    for profile in args.profiles.split(","):
        name = f"{args.name_prefix}-{profile}"
        up = start(name, profile=profile, **overrides)
        try:
            for action in args.actions.split(","):
                if action == SWITCHOVER and profile != "ha":
                    continue  # the article has no promoter to switch over with
                for rate in (float(r) for r in args.rates.split(",")):
                    print(f"{profile}: {args.trials} x {action} at {rate:g}/s", flush=True)
                    result = _run(up.topology.name, action, args.trials, rate, args.manual_reload_after)
                    entry = _entry(result.trials)
                    results[f"{profile}/{action}/{rate:g}"] = entry
                    rows.append(_row(profile, action, rate, entry, len(result.trials)))
        finally:
            runtime.down(name, volumes=True)
    print(
        table(
            [
                "profile",
                "fault",
                "rate",
                "pass",
                "DOWN med/worst",
                "first 200 med/worst",
                "consistent med/worst",
                "failed/unknown GET",
                "latency p99/max worst",
                "lost writes",
                "manual reloads",
            ],
            rows,
        )
    )
    data = {"trials_per_cell": args.trials, "overrides": overrides, "results": results}
    print(f"written: {save('failover', data)}")
    return 0


def _run(name: str, action: str, trials: int, rate: float, manual_reload_after: float) -> verify.VerifyResult:
    if action == SWITCHOVER:
        return verify.run_switchover(name, trials=trials, rate=rate, timeout=60, emitter=printer())
    return verify.run_failover(
        name,
        action=action,
        trials=trials,
        rate=rate,
        timeout=60,
        manual_reload_after=manual_reload_after,
        emitter=printer(),
    )


def _entry(trials: list[verify.Trial]) -> dict[str, object]:
    return {
        "detection_s": stats([t.detection_s for t in trials]),
        "first_success_s": stats([t.first_success_s for t in trials]),
        "consistent_s": stats([t.consistent_s for t in trials]),
        "latency_p99_s": stats([t.latency_p99_s for t in trials]),
        "latency_max_s": stats([t.latency_max_s for t in trials]),
        "failed_requests": [t.failed_requests for t in trials],
        "unknown_requests": [t.unknown_requests for t in trials],
        "requests": [t.requests for t in trials],
        "failed_writes": [sum(w.outcome != "ok" for w in t.writes if w.t_invoke >= 0) for t in trials],
        "lost_writes": sum(len(t.lost) for t in trials),
        "manual_reloads": sum(t.manual_reload_s is not None for t in trials),
        "passed": sum(t.verdict == "pass" for t in trials),
        "trials": [t.summary() for t in trials],
    }


def _row(profile: str, action: str, rate: float, entry: dict[str, object], count: int) -> list[object]:
    def total(key: str) -> int:
        values = entry[key]
        assert isinstance(values, list)
        return sum(values)

    latency = f"{_pair(entry['latency_p99_s']).split(' / ')[1]} / {_pair(entry['latency_max_s']).split(' / ')[1]}"
    return [
        profile,
        action,
        f"{rate:g}/s",
        f"{entry['passed']}/{count}",
        _pair(entry["detection_s"]),
        _pair(entry["first_success_s"]),
        _pair(entry["consistent_s"]),
        f"{total('failed_requests')}/{total('unknown_requests')}/{total('requests')}",
        latency,
        entry["lost_writes"],
        entry["manual_reloads"],
    ]


def _pair(s: object) -> str:
    assert isinstance(s, dict)
    f = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    return f"{f(s['median'])} / {f(s['worst'])}"


if __name__ == "__main__":
    sys.exit(main())
