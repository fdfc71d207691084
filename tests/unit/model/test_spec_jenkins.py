"""The spec's jenkins fields (lite periods, requeue_interrupted): defaults, bad values, the spec file,
and how they reach the rendered compose file."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from labgen.errors import SpecError
from labgen.generate.render import render_files, render_spec_file
from labgen.model.spec import LabSpec, lab_from_text, load_lab
from labgen.model.topology import Topology


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
