"""labgen.api without Docker: the Python API's spec handling and the top-level names."""

from __future__ import annotations

import subprocess
import sys

import pytest

import labgen
from labgen.api import JenkinsHALab
from labgen.errors import SpecError
from labgen.model.spec import LabSpec, load_lab

# ---- the API's spec -----------------------------------------------------------------------------------


def test_the_api_builds_its_spec_from_the_markers_words_and_free_ports() -> None:
    lab = JenkinsHALab("plugin-unit", profile="article", flavour="lite", masters=3)
    spec = lab.spec
    assert (spec.name, spec.profile, spec.jenkins.flavour, spec.jenkins.masters) == (
        "plugin-unit",
        "article",
        "lite",
        3,
    )
    default = LabSpec()
    assert {spec.ports.http, spec.ports.stats, spec.ports.agent}.isdisjoint(
        {default.ports.http, default.ports.stats, default.ports.agent}
    )
    assert len({spec.ports.http, spec.ports.stats, spec.ports.agent}) == 3


def test_the_api_keeps_a_given_spec_and_changes_only_what_it_is_told() -> None:
    given = load_lab(None, {"haproxy.check.inter_ms": 500, "profile": "article"})
    lab = JenkinsHALab("plugin-given", spec=given, masters=4, overrides={"haproxy.check.rise": 3}, free_ports=False)
    assert lab.spec.haproxy.check.inter_ms == 500 and lab.spec.haproxy.check.rise == 3
    assert lab.spec.profile == "article" and lab.spec.jenkins.masters == 4
    assert lab.spec.ports == given.ports  # free_ports=False keeps them


@pytest.mark.parametrize("bad", ["Plugin_X", "x", "plugin-", "9lab"])
def test_the_api_refuses_a_bad_lab_name(bad: str) -> None:
    with pytest.raises(SpecError, match="lab name"):
        JenkinsHALab(bad)


def test_the_api_refuses_a_bad_spec_value() -> None:
    with pytest.raises(SpecError, match="masters"):
        JenkinsHALab("plugin-bad", masters=9)


def test_labgen_exports_the_api_lazily_as_lab_and_as_jenkinshalab() -> None:
    code = "import sys, labgen; assert 'labgen.api' not in sys.modules; print(labgen.JenkinsHALab.__module__)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "labgen.api", run.stderr
    assert labgen.JenkinsHALab is JenkinsHALab
    scope: dict[str, object] = {}
    exec("from labgen import Lab", scope)
    assert scope["Lab"] is JenkinsHALab
    with pytest.raises(AttributeError, match="NoSuchThing"):
        labgen.NoSuchThing  # noqa: B018
    from labgen.model.spec import LabSpec as SpecLab  # the spec: another name, another class

    assert SpecLab is LabSpec and SpecLab is not JenkinsHALab
