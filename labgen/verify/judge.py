"""Judging a trial from what it recorded: outcomes of writes, times relative to the fault,
recovery moments, and the verdict with its reasons. No Docker, no network: unit-tested alone."""

from __future__ import annotations

import math

from labgen.lab.jenkins_client import Reply
from labgen.verify.model import Outcome, Trial


def outcome(reply: Reply, kind: str) -> Outcome:
    if reply.status in (200, 201, 302):
        return "ok"
    if reply.status == 503 and not reply.served_by:
        return "fail"  # HAProxy answered itself: no master saw the request
    if reply.status == 400 and kind == "create":
        return "fail"
    if reply.status == 0 and (reply.error or "").startswith("ConnectionRefusedError"):
        return "fail"  # nothing listened: the request was never sent
    return "info"  # no answer, 502/504/500: the master may or may not have done it


def relative_to_fault(trial: Trial, fault: float) -> None:
    """Make every time relative to the fault, and derive the recovery times from the samples."""
    for sample in trial.samples:
        sample.t -= fault
    for op in trial.writes:
        op.t_invoke -= fault
        op.t_done -= fault
    for mark in trial.haproxy:
        mark.t -= fault
    trial.samples.sort(key=lambda sample: sample.t)
    trial.writes.sort(key=lambda op: op.t_invoke)
    # A probe sent just before the fault may be held in HAProxy and answered by the new master:
    # recovery is timed by when answers came back (and, for reference, when they were sent).
    after = sorted(
        (s for s in trial.samples if s.answered >= 0 and s.status == 200 and s.served_by != trial.target),
        key=lambda sample: sample.answered,
    )
    first = after[0] if after else None
    consistent = next((s for s in after if s.consistent), None)
    trial.first_success_s = round(first.answered, 3) if first else None
    trial.first_success_sent_s = round(first.t, 3) if first else None
    trial.consistent_s = round(consistent.answered, 3) if consistent else None
    trial.consistent_sent_s = round(consistent.t, 3) if consistent else None
    target_marks = [m for m in trial.haproxy if m.server in ("", trial.target)]
    trial.detection_s = next((m.t for m in target_marks if m.t >= 0 and m.status.startswith(("DOWN", "MAINT"))), None)
    latencies = sorted(s.seconds for s in trial.samples)
    if latencies:
        trial.latency_p50_s = round(percentile(latencies, 50), 3)
        trial.latency_p99_s = round(percentile(latencies, 99), 3)
        trial.latency_max_s = round(latencies[-1], 3)
    held = sorted(s.held_s for s in trial.samples if s.held_s)
    if held:
        trial.held_p99_s = round(percentile(held, 99), 3)
        trial.held_max_s = round(held[-1], 3)


def percentile(ordered: list[float], pct: float) -> float:
    """The nearest-rank percentile of an ascending list (not empty)."""
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def survivor(trial: Trial, victim: str) -> str | None:
    for sample in sorted(trial.samples, key=lambda s: s.answered):
        if sample.answered >= 0 and sample.status == 200 and sample.served_by and sample.served_by != victim:
            return sample.served_by
    return None


def check_writes(trial: Trial, final: frozenset[str] | None, on_nfs: set[str] | None) -> None:
    """The set check: every acknowledged create must be in the final job list (and on NFS)."""
    created = {op.job: op for op in trial.writes if op.kind == "create"}
    ok = {job for job, op in created.items() if op.outcome == "ok"}
    unknown = {job for job, op in created.items() if op.outcome == "info"}
    trial.acknowledged = len(ok)
    seen = set(final or ())
    ours = {job for job in seen if job.startswith(trial.prefix + "-")}
    # without a final list nothing can be called lost: the trial fails for the missing read instead
    trial.lost = sorted(ok - seen) if final is not None else []
    trial.recovered = sorted(unknown & seen)
    trial.unexpected = sorted(ours - set(created))
    trial.missing_on_nfs = sorted(ok - on_nfs) if on_nfs is not None else []
    after_fault = [s for s in trial.samples if s.answered >= 0]
    trial.requests = len(after_fault)
    trial.failed_requests = sum(1 for s in after_fault if s.outcome == "failed")
    trial.unknown_requests = sum(1 for s in after_fault if s.outcome == "unknown")
    if final is None:
        trial.reasons.append("the lab did not answer the final read")


def judge(trial: Trial) -> None:
    if trial.detection_s is None:
        state = "MAINT" if trial.experiment == "switchover" else "DOWN"
        trial.reasons.append(f"HAProxy never marked the target {state}")
    if trial.experiment == "switchover" and (trial.failed_requests or trial.unknown_requests):
        trial.reasons.append(
            f"a planned switchover failed {trial.failed_requests} and lost the answer of {trial.unknown_requests} "
            "requests"
        )
    if trial.first_success_s is None:
        trial.reasons.append("no master answered after the fault")
    if trial.consistent_s is None:
        trial.reasons.append("no answer after the fault listed every acknowledged job")
    if trial.manual_reload_s is not None:
        trial.reasons.append(
            f"data-consistent only after a manual reload (done by labgen at {trial.manual_reload_s:.1f} s), "
            "as the article admits"
        )
    if trial.lost:
        trial.reasons.append(f"{len(trial.lost)} acknowledged writes lost")
    if trial.missing_on_nfs:
        trial.reasons.append(f"{len(trial.missing_on_nfs)} acknowledged jobs missing on the NFS export")
    if trial.unexpected:
        trial.reasons.append(f"{len(trial.unexpected)} jobs that were never written appeared")
    if not trial.agent_answered:
        trial.reasons.append("the agent port did not answer after the failover")
    if trial.flapped_back:
        trial.reasons.append(f"traffic flapped back to {trial.target} when it returned")
    trial.reasons += two_ready_reasons(trial)
    trial.verdict = "fail" if trial.reasons else "pass"


def two_ready_reasons(trial: Trial) -> list[str]:
    """The "never two ready" rule: two different masters ready at once, on one load balancer or
    across the pair, is a split brain whatever else the trial saw."""
    if not trial.two_ready_moments:
        return []
    first = trial.two_ready[0] if trial.two_ready else ""
    return [f"two masters ready at once in {trial.two_ready_moments} readings (first {first})"]
