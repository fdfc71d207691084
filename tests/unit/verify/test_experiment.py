"""verify/experiment without Docker: what a failover or switchover refuses before it touches the
lab, and the lab view's answers that need no container."""

from __future__ import annotations

from pathlib import Path

import pytest

from labgen.errors import EXIT_USAGE, LabgenError
from labgen.lab.folder import save_topology
from labgen.lab.handle import LabHandle
from labgen.lab.jenkins_client import JenkinsClient
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from labgen.verify import experiment
from labgen.verify.experiment import run_failover, run_switchover
from labgen.verify.lab_view import LabView


def _saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **spec: object) -> LabSpec:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    lab = LabSpec(**spec)  # type: ignore[arg-type]
    folder = tmp_path / "labgen" / "labs" / lab.name
    folder.mkdir(parents=True)
    save_topology(Topology.resolve(lab), folder)
    return lab


def test_only_the_fault_tables_faults_can_be_verified(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = _saved(tmp_path, monkeypatch, name="unit-exp")
    with pytest.raises(LabgenError) as raised:
        run_failover(lab.name, action="restart")
    assert raised.value.exit_code == EXIT_USAGE
    assert "valid: kill, stop, pause, partition" in raised.value.message


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"target": "jenkins07"}, "'jenkins07' is not a master; valid: jenkins01, jenkins02"),
        ({"trials": 0}, "--trials must be 1-100"),
        ({"rate": 101.0}, "--rate 1-100"),
        ({"probe_timeout": 0.1}, "--probe-timeout must be 0.5-120"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, options: dict[str, object], expected: str
) -> None:
    lab = _saved(tmp_path, monkeypatch, name="unit-exp")
    with pytest.raises(LabgenError) as raised:
        run_failover(lab.name, **options)  # type: ignore[arg-type]
    assert expected in raised.value.message and raised.value.exit_code == EXIT_USAGE


def test_a_switchover_needs_a_promoter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lab = _saved(tmp_path, monkeypatch, name="unit-art", profile="article")
    with pytest.raises(LabgenError) as raised:
        run_switchover(lab.name)
    assert "has no promoter" in raised.value.message and raised.value.exit_code == EXIT_USAGE


def test_the_article_is_never_asked_whether_traffic_flapped_back() -> None:
    # Round robin: every master serves by design, so a returning master is not a flap-back. The
    # client points at a closed port: asking would answer 0, but it is not asked at all.
    handle = LabHandle(Topology.resolve(LabSpec(name="unit-art", profile="article")), Path("/nonexistent"))
    view = LabView(handle, JenkinsClient("127.0.0.1", 9, "u", "t", timeout=0.5))
    assert view.served_by("jenkins01") is False


def test_failover_and_switchover_plans_differ_in_what_they_inject() -> None:
    plan = experiment.TrialPlan(1, "switchover", "jenkins01", 20.0, 60.0, 0.0, False, switch_to="jenkins02")
    assert plan.switch_to == "jenkins02"
    injects = {p.step for p in experiment.SWITCHOVER_PHASES if p.name == "inject"}
    assert injects == {experiment.inject_switchover}
    assert {p.step for p in experiment.FAILOVER_PHASES if p.name == "inject"} == {experiment.inject_fault}
