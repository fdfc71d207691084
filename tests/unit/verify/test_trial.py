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
from labgen.verify import trial as trial_engine
from labgen.verify.judge import two_ready_reasons
from labgen.verify.lab_view import LabView
from labgen.verify.load import Load
from labgen.verify.model import Trial
from labgen.verify.recorder import Recorder
from labgen.verify.split_brain import SplitBrainWatch
from labgen.verify.trial import PHASES, Phase, TrialRun, mark_fault, run_phases, start_steady, stop_load
from labgen.wire.haproxy import ServerState


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


def _watch_of(views: dict[str, str]) -> Callable[..., SplitBrainWatch]:
    """watch_lab for a lab whose load balancers each see `views[balancer]` UP (the rest MAINT)."""

    def watch_lab(handle: LabHandle, **options: float) -> SplitBrainWatch:
        topology = handle.topology
        servers = topology.http_servers

        def reader(up: str) -> Callable[[], list[ServerState]]:
            return lambda: [
                ServerState(topology.http_backend, server, "UP" if master == up else "MAINT", "", 0, 0, 0)
                for master, server in servers.items()
            ]

        return SplitBrainWatch({lb: reader(up) for lb, up in views.items()}, topology.http_backend, servers, **options)

    return watch_lab


@pytest.mark.parametrize(
    ("views", "split"),
    [
        ({"haproxy1": "jenkins01", "haproxy2": "jenkins01"}, False),
        ({"haproxy1": "jenkins01", "haproxy2": "jenkins02"}, True),
    ],
)
def test_the_never_two_ready_check_runs_until_check_and_its_verdict_is_judged(
    monkeypatch: pytest.MonkeyPatch, views: dict[str, str], split: bool
) -> None:
    monkeypatch.setattr(trial_engine, "watch_lab", _watch_of(views))
    run = _run()
    seen: dict[str, object] = {}

    def check(r: _Run) -> None:  # what the check phase's judge sees
        seen.update(
            readings=r.trial.ready_readings, moments=r.trial.two_ready_moments, reasons=two_ready_reasons(r.trial)
        )

    phases = [Phase[_Run]("steady", lambda r: time.sleep(0.35)), Phase[_Run]("check", check)]
    run_phases(run, phases)
    assert isinstance(seen["readings"], int) and seen["readings"] >= 4  # both balancers, read every 0.1 s
    if split:
        assert isinstance(seen["moments"], int) and seen["moments"] > 0
        assert seen["reasons"] and "two masters ready at once" in str(seen["reasons"])
        assert "haproxy1: jenkins01; haproxy2: jenkins02" in run.trial.two_ready[0]
    else:
        assert seen["moments"] == 0 and seen["reasons"] == []


def test_the_article_profile_has_no_never_two_ready_check() -> None:
    handle = LabHandle(Topology.resolve(LabSpec(name="unit-trial", profile="article")), Path("/nonexistent"))
    run = _Run(
        LabView(handle, JenkinsClient("127.0.0.1", 9, "u", "t", timeout=0.5)),
        Recorder(Trial(number=1, action="kill", target="jenkins01")),
        NULL_EMITTER,
    )
    run_phases(run, [Phase[_Run]("check", lambda r: None)])
    assert run.trial.ready_readings == 0
