"""The pytest plugin without Docker: its pytest11 registration, the marker, option and fixture pytest
knows, lab names from test names and the marker's arguments."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from labgen.model.grammar import NAME_PATTERN
from labgen.pytest_plugin import DEFAULT_PREFIX, lab_name, lab_options

ROOT = Path(__file__).resolve().parents[3]


def test_the_plugin_is_declared_as_a_pytest11_entry_point() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["entry-points"]["pytest11"] == {"labgen": "labgen.pytest_plugin"}
    installed = {e.name: e.value for e in entry_points(group="pytest11")}
    assert installed.get("labgen") == "labgen.pytest_plugin", "reinstall: pip install -e ."


def test_pytest_knows_the_marker_the_option_and_the_fixture(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": ""}
    markers = subprocess.run(
        [sys.executable, "-m", "pytest", "--markers"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert "@pytest.mark.labgen(profile='ha', flavour='lite', masters=2" in markers.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert "--labgen-keep" in helped.stdout and "labgen_lab_prefix" in helped.stdout
    fixtures = subprocess.run(
        [sys.executable, "-m", "pytest", "--fixtures"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert "jenkins_ha_lab" in fixtures.stdout


@pytest.mark.parametrize(
    "test_name",
    ["test_failover", "test_my_job_survives_losing_the_active_master[2-ha]", "test_ÜBER_long" + "x" * 60, "test_"],
)
def test_lab_names_from_test_names_are_valid_and_start_with_the_prefix(test_name: str) -> None:
    name = lab_name(DEFAULT_PREFIX, test_name)
    assert NAME_PATTERN.fullmatch(name), name
    assert name.startswith(DEFAULT_PREFIX) or name.startswith("lab-")


def test_marker_arguments_are_checked() -> None:
    assert lab_options(pytest.mark.labgen(profile="ha", masters=3).mark) == {"profile": "ha", "masters": 3}
    with pytest.raises(pytest.UsageError, match="unknown argument"):
        lab_options(pytest.mark.labgen(master=3).mark)
    with pytest.raises(pytest.UsageError, match="keyword arguments only"):
        lab_options(pytest.mark.labgen("ha").mark)
