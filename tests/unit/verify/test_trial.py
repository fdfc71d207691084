"""The trial engine's phase sequencing: the order each experiment runs its phases in, the stamps,
and the load stopped whatever a phase does."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labgen.events import NULL_EMITTER
from labgen.lab.handle import LabHandle
from labgen.lab.jenkins_client import JenkinsClient
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from labgen.verify import experiment, faults
from labgen.verify.lab_view import LabView
from labgen.verify.load import Load
from labgen.verify.model import Trial
from labgen.verify.recorder import Recorder
from labgen.verify.trial import PHASES, Phase, TrialRun, mark_fault, run_phases, start_steady, stop_load


def _view() -> LabView:
    handle = LabHandle(Topology.resolve(LabSpec(name="unit-trial")), Path("/nonexistent"))
    return LabView(handle, JenkinsClient("127.0.0.1", 9, "u", "t", timeout=0.5))


@dataclass
class _Run(TrialRun):
    seen: list[str] = field(default_factory=list, kw_only=True)


def _run() -> _Run:
    return _Run(_view(), Recorder(Trial(number=1, action="kill", target="jenkins01")), NULL_EMITTER)


def test_every_experiment_runs_the_six_phases_in_its_order() -> None:
    names = lambda phases: tuple(p.name for p in phases)  # noqa: E731
    assert PHASES == ("seed", "steady", "inject", "recover", "heal", "check")
    assert names(experiment.FAILOVER_PHASES) == PHASES
    assert names(experiment.SWITCHOVER_PHASES) == PHASES
    # A held fault is healed before the lab is waited for.
    assert names(faults.FAULT_PHASES) == ("seed", "steady", "inject", "heal", "recover", "check")
    # Failover and switchover differ only in what they inject.
    differ = [
        (a.name, a.step, b.step) for a, b in zip(experiment.FAILOVER_PHASES, experiment.SWITCHOVER_PHASES, strict=True)
    ]
    assert [name for name, a, b in differ if a is not b] == ["inject"]


def test_phases_run_in_order_and_are_stamped() -> None:
    run = _run()

    def step(name: str) -> Callable[[_Run], None]:
        return lambda r: r.seen.append(name)

    phases = [Phase[_Run](name, step(name)) for name in PHASES]
    run_phases(run, phases)
    assert run.seen == list(PHASES)
    stamps = run.recorder.phases
    assert [name for name, _ in stamps] == list(PHASES)
    assert [at for _, at in stamps] == sorted(at for _, at in stamps)


def test_a_phase_that_raises_stops_the_load_and_the_rest() -> None:
    run = _run()
    probes: list[float] = []

    def steady(r: _Run) -> None:
        start_steady(r, Load(20.0, probes.append, None, probe_timeout=0.5), steady_s=0.0)

    def inject(r: _Run) -> None:
        mark_fault(r)
        raise RuntimeError("the fault could not be applied")

    phases = [Phase[_Run]("steady", steady), Phase[_Run]("inject", inject), Phase[_Run]("check", lambda r: None)]
    with pytest.raises(RuntimeError):
        run_phases(run, phases)
    assert run.load is not None and not run.load.running and run.load.stopped.is_set()
    assert [name for name, _ in run.recorder.phases] == ["steady", "inject"]
    assert run.recorder.fault_at != float("inf")


def test_steady_plans_the_fault_ahead_and_waits_for_it() -> None:
    run = _run()
    load = Load(20.0, lambda at: None, None, probe_timeout=0.5)
    start_steady(run, load, steady_s=0.2)
    planned = run.recorder.fault_at
    assert time.monotonic() >= planned and load.running
    stop_load(run, tail_s=0.0)
    assert not load.running
