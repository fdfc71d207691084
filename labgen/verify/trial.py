"""The trial engine: a trial is a sequence of named phases run on one `TrialRun`, as molecule
runs its steps. Every experiment composes the same phase names:

    seed     write jobs (and start builds) through HAProxy before anything breaks
    steady   start the load (probes, writes, watchers), STEADY_S of it before the fault
    inject   apply the fault (or ask for the switchover); a held fault lasts its hold here
    recover  wait until the lab serves consistently again, TAIL_S more load, stop the load
    heal     undo the fault and wait for the victim to rejoin
    check    read everything back (the set check), clean up, judge

failover and switchover run seed, steady, inject, recover, heal, check; a held fault (`verify
fault`, `verify matrix`) heals before it waits: seed, steady, inject, heal, recover, check.
The engine guarantees the order, records when each phase started, and stops the load whatever
happens, so a phase that raises never leaves threads probing the lab."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from labgen.events import Emitter
from labgen.verify.lab_view import LabView
from labgen.verify.load import Load
from labgen.verify.model import Trial
from labgen.verify.recorder import Recorder
from labgen.verify.split_brain import SplitBrainWatch, watch_lab

PhaseName = Literal["seed", "steady", "inject", "recover", "heal", "check"]
PHASES: tuple[PhaseName, ...] = ("seed", "steady", "inject", "recover", "heal", "check")
STEADY_S = 2.0  # load before the fault
TAIL_S = 1.0  # load kept after recovery
READY_WATCH_S = 0.1  # how often the "never two ready" check reads every load balancer
TWO_READY_KEPT = 10  # the moments a trial keeps (the count is in the reason)


@dataclass
class TrialRun:
    """One trial as it runs: the lab, the recorder, the progress events, and the load once started."""

    lab: LabView
    recorder: Recorder
    emitter: Emitter
    load: Load | None = field(default=None, kw_only=True)

    @property
    def trial(self) -> Trial:
        return self.recorder.trial


R = TypeVar("R", bound=TrialRun)


@dataclass(frozen=True)
class Phase(Generic[R]):
    name: PhaseName
    step: Callable[[R], None]


def run_phases(run: R, phases: Sequence[Phase[R]]) -> None:
    """Run the phases in order, each stamped on the recorder; the load is stopped at the end even
    when a phase raised. With a promoter (ha profile), the "never two ready" check reads every load
    balancer's servers from the first phase to `check`, which then judges what it saw."""
    watch = _ready_watch(run)
    try:
        for phase in phases:
            if phase.name == "check" and watch is not None:
                _record_ready_watch(run, watch)
                watch = None
            run.recorder.phases.append((phase.name, time.monotonic()))
            phase.step(run)
    finally:
        if watch is not None:
            watch.__exit__(None, None, None)
        if run.load is not None and run.load.running:
            run.load.stop()


def _ready_watch(run: TrialRun) -> SplitBrainWatch | None:
    if run.lab.topology.promoter is None:  # the article's backup server is UP by design: nothing to check
        return None
    return watch_lab(run.lab.handle, interval=READY_WATCH_S).__enter__()


def _record_ready_watch(run: TrialRun, watch: SplitBrainWatch) -> None:
    watch.__exit__(None, None, None)
    seen = watch.result()
    trial = run.trial
    trial.ready_readings = len(seen.readings)
    since = run.recorder.fault_at if run.recorder.fault_at != float("inf") else 0.0
    trial.two_ready_moments = len(seen.violations)
    trial.two_ready = [violation.describe(since) for violation in seen.violations[:TWO_READY_KEPT]]


def start_steady(run: TrialRun, load: Load, steady_s: float = STEADY_S) -> None:
    """steady: plan the fault `steady_s` ahead, start the load, wait until the plan comes."""
    run.recorder.fault_at = time.monotonic() + steady_s
    run.load = load
    load.start()
    time.sleep(max(0.0, run.recorder.fault_at - time.monotonic()))


def mark_fault(run: TrialRun) -> float:
    """The moment of the fault (or the switchover request): every time is measured from it."""
    run.recorder.fault_at = time.monotonic()
    return run.recorder.fault_at


def stop_load(run: TrialRun, tail_s: float = TAIL_S) -> None:
    """The end of recover: `tail_s` more load after recovery, then stop it."""
    time.sleep(tail_s)
    if run.load is not None:
        run.load.stop()
