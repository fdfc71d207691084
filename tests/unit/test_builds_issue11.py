"""Issue 11, without Docker: the spec's new jenkins fields and how they are rendered, the build fates
in the report, and the soak's verdict."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from labgen.errors import SpecError
from labgen.generate.render import render_files, render_spec_file
from labgen.model.spec import LabSpec, lab_from_text, load_lab
from labgen.model.topology import Topology
from labgen.verify.builds import summary
from labgen.verify.model import BuildFate, BuildsView, Trial, VerifyResult
from labgen.verify.report import html_report, to_json
from labgen.verify.soak import SoakResult


def _compose(**jenkins: object) -> dict[str, Any]:
    lab = load_lab(None, {f"jenkins.{key}": value for key, value in jenkins.items()})
    data: dict[str, Any] = yaml.safe_load(render_files(Topology.resolve(lab))["compose.yaml"])
    return data


def test_defaults_are_jenkins_own_periods_and_no_requeue() -> None:
    jenkins = LabSpec().jenkins
    assert jenkins.requeue_interrupted is False
    assert (jenkins.lite.owner_check_seconds, jenkins.lite.queue_save_seconds) == (3600, 60)
    assert jenkins.lite_environment == {}


def test_default_rendering_does_not_change() -> None:
    services = _compose()["services"]
    assert "JENKINS_OWNER_CHECK_SECONDS" not in services["jenkins01"]["environment"]
    assert "environment" not in services["haproxy"]


def test_compressed_periods_reach_every_master_and_requeue_reaches_haproxy() -> None:
    compressed = {"lite.owner_check_seconds": 5, "lite.queue_save_seconds": 1}
    services = _compose(requeue_interrupted=True, **compressed)["services"]
    for master in ("jenkins01", "jenkins02"):
        env = services[master]["environment"]
        assert env["JENKINS_OWNER_CHECK_SECONDS"] == "5" and env["JENKINS_QUEUE_SAVE_SECONDS"] == "1"
    assert services["haproxy"]["environment"] == {"LABGEN_REQUEUE_INTERRUPTED": "1"}


def test_article_has_no_promoter_to_tell() -> None:
    with pytest.raises(SpecError, match="only the ha profile reads this"):
        load_lab(None, {"profile": "article", "jenkins.requeue_interrupted": True})  # issue 19: refused, not ignored
    compose = yaml.safe_load(render_files(Topology.resolve(load_lab(None, {"profile": "article"})))["compose.yaml"])
    assert "environment" not in compose["services"]["haproxy"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("jenkins.lite.owner_check_seconds", 0, "greater than or equal to 1"),
        ("jenkins.lite.queue_save_seconds", -1, "greater than or equal to 0"),
        ("jenkins.requeue_interrupted", "maybe", "jenkins.requeue_interrupted"),
        ("jenkins.lite.period", 5, "allowed here: owner_check_seconds, queue_save_seconds"),
    ],
)
def test_bad_values_name_the_field(key: str, value: object, message: str) -> None:
    with pytest.raises(SpecError) as error:
        load_lab(None, {key: value})
    assert message in str(error.value)


def test_the_spec_file_documents_and_round_trips_the_fields() -> None:
    lab = load_lab(None, {"jenkins.requeue_interrupted": True, "jenkins.lite.owner_check_seconds": 5})
    text = render_spec_file(lab)
    assert "requeue_interrupted: true" in text and "owner_check_seconds: 5" in text
    assert "real flavour ignores" in text
    assert lab_from_text(text, "labgen.yaml") == lab


def _trial(number: int, running: str, queued: str, serving: list[str]) -> Trial:
    trial = Trial(number=number, action="kill", target="jenkins01", prefix=f"p{number}")
    trial.builds = BuildsView(
        fates=[
            BuildFate("p-running", "running", "jenkins01", 3, running, "no build.xml"),
            BuildFate("p-queued", "queued", "jenkins01", None, queued, "posted again"),
        ],
        collisions=["JENKINS-23152: builds/4 already existed"] if len(serving) > 1 else [],
        serving_before=serving,
        unseen={"jenkins02": ["p1-pre-0"]},
    )
    return trial


def test_the_report_counts_every_fate() -> None:
    trials = [
        _trial(1, "vanished", "requeued", ["jenkins01"]),
        _trial(2, "vanished", "lost", ["jenkins01", "jenkins02"]),
        _trial(3, "finished-elsewhere", "kept", ["jenkins01"]),
    ]
    totals = summary(trials)
    assert totals == {
        "running": {"vanished": 2, "finished-elsewhere": 1},
        "queued": {"requeued": 1, "lost": 1, "kept": 1},
        "collisions": 1,
        "split_brain_trials": 1,
    }
    result = VerifyResult("lab", "ha", "lite", "2.6.12", "kill", 20.0, 0.0, trials)
    page = html_report(result)
    assert "<h2>Builds</h2>" in page and "Running: finished-elsewhere 1, vanished 2." in page
    assert "running p-running #3 on jenkins01: vanished (no build.xml)" in page
    data = json.loads(json.dumps(to_json(result), default=str))
    assert data["builds"]["queued"]["lost"] == 1
    assert data["trials"][0]["builds"]["fates"][1]["fate"] == "requeued"


def test_a_report_without_build_phase_has_no_builds_section() -> None:
    result = VerifyResult("lab", "ha", "lite", "2.6.12", "kill", 20.0, 0.0, [Trial(1, "kill", "jenkins01")])
    assert "<h2>Builds</h2>" not in html_report(result)


def test_a_soak_fails_only_when_the_lab_stopped_serving() -> None:
    result = SoakResult("lab", "ha", 40.0, 0.0, probes=80, probes_ok=78, collision_pages=2)
    result.outages = [(10.0, 10.5), (20.0, 20.25)]
    assert result.passed and result.outage_seconds == 0.75
    broken = SoakResult("lab", "article", 40.0, 0.0, broken=True, reasons=["the lab did not serve"])
    assert not broken.passed and broken.to_json()["passed"] is False
