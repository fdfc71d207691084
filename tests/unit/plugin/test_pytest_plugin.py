"""Issue 19, class 8: the pytest plugin gives every test its own lab (parameters, xdist workers
and sessions included) and never removes a lab it did not create."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from labgen.lab.folder import save_topology
from labgen.model.grammar import NAME_PATTERN
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from labgen.pytest_plugin import DEFAULT_PREFIX, lab_name

REPO = Path(__file__).resolve().parents[3]


def test_parametrized_tests_get_different_labs() -> None:
    ids = [f"tests/test_x.py::test_failover[{m}-{p}]" for m in (2, 3, 4) for p in ("ha", "article")]
    names = {lab_name(DEFAULT_PREFIX, i.split("::")[1], f"{i}|gw0|session") for i in ids}
    assert len(names) == len(ids)
    assert all(NAME_PATTERN.fullmatch(n) for n in names), names


def test_workers_and_sessions_get_different_labs() -> None:
    test = "tests/test_x.py::test_failover"
    names = {lab_name(DEFAULT_PREFIX, "test_failover", f"{test}|{w}|{s}") for w in ("gw0", "gw1", "") for s in "ab"}
    assert len(names) == 6


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from([DEFAULT_PREFIX, "lg-harden-", "9x-", "", "A_B-"]),
    tests=st.lists(st.text(min_size=0, max_size=80), min_size=2, max_size=20, unique=True),
)
def test_names_are_valid_and_unique(prefix: str, tests: list[str]) -> None:
    names = [lab_name(prefix, t, f"{t}|gw0|s") for t in tests]
    assert all(NAME_PATTERN.fullmatch(n) for n in names), names
    assert len(set(names)) == len(names)


def test_a_lab_the_fixture_did_not_create_is_left_alone(tmp_path: Path) -> None:
    state = tmp_path / "state"
    save_topology(Topology.resolve(LabSpec(name="someone-elses")), state / "labgen" / "labs" / "someone-elses")
    (tmp_path / "test_it.py").write_text(
        "import pytest\n\n@pytest.mark.labgen(name='someone-elses')\ndef test_uses_a_lab(jenkins_ha_lab):\n    pass\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "XDG_STATE_HOME": str(state),
        "DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock",  # a down() would fail here, loudly
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_it.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "a lab named 'someone-elses' already exists" in run.stdout, run.stdout
    assert "no-docker.sock" not in run.stdout, "the fixture tried to remove the lab"
    assert (state / "labgen" / "labs" / "someone-elses" / "lab.json").is_file()
