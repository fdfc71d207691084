"""Issue 13: the pytest plugin's worked example (docs/ci/example_test.py) runs as a user runs it:
copied into a folder of its own, `pytest` with the plugin found through its entry point, real
labs (named plugin-*), and nothing of them left afterwards, also when a test fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from labgen.lab import docker as docker_api
from labgen.lab.docker import running_labs
from labgen.pytest_plugin import lab_name
from tests.integration.conftest import requires_docker

pytestmark = [requires_docker, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "ci" / "example_test.py"
PREFIX = "plugin-"


def _pytest(folder: Path, state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(state), "PYTHONPATH": ""}
    cmd = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", f"labgen_lab_prefix={PREFIX}", *args]
    return subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=900)


def _labs_left() -> list[str]:
    return [name for name in running_labs() if name.startswith(PREFIX)]


def test_the_plugin_is_registered_through_its_entry_point() -> None:
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("labgen") == "labgen.pytest_plugin", "reinstall labgen: pip install -e ."


def test_the_worked_example_runs_and_leaves_nothing(tmp_path: Path) -> None:
    assert not _labs_left(), "a plugin-* lab is running already"
    shutil.copy(EXAMPLE, tmp_path / "test_example.py")
    junit = tmp_path / "junit.xml"
    run = _pytest(tmp_path, tmp_path / "state", "test_example.py", f"--junitxml={junit}", "-v")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "0", "0")
    assert not _labs_left()
    for test in ("test_my_job_survives_losing_the_active_master", "test_failover_is_verified_by_labgen"):
        name = lab_name(PREFIX, test)
        assert not docker_api.lab_containers(name) and not docker_api.lab_volumes(name), name


def test_a_failing_test_still_removes_its_lab(tmp_path: Path) -> None:
    (tmp_path / "test_fails.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.labgen(masters=2)\n"
        "def test_fails(jenkins_ha_lab):\n"
        "    assert jenkins_ha_lab.name.startswith('plugin-')\n"
        "    assert jenkins_ha_lab.active_master() in jenkins_ha_lab.masters\n"
        "    raise AssertionError('failing on purpose, with the lab up')\n"
    )
    run = _pytest(tmp_path, tmp_path / "state", "test_fails.py")
    assert run.returncode == 1, run.stdout[-4000:]
    assert "failing on purpose, with the lab up" in run.stdout
    assert not _labs_left()
    assert not docker_api.lab_volumes(lab_name(PREFIX, "test_fails"))
