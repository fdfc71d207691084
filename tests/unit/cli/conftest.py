"""`world`: a working folder full of bad input and a state folder with a good and a damaged lab,
Docker replaced by an error (nothing may reach it) and a read-only folder under ro/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from labgen.lab.folder import save_topology
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from tests.unit.cli.support import WORK_FILES, DockerTouched


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    for rel, data in WORK_FILES.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_bytes(data)
    (work / "ro").mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    labs = tmp_path / "state" / "labgen" / "labs"
    save_topology(Topology.resolve(LabSpec(name="unit-lab")), labs / "unit-lab")
    (labs / "broken-lab").mkdir()
    (labs / "broken-lab" / "lab.json").write_text('{"spec": {"name": "broken-lab", "prof')

    def docker_touched(*args: object, **kwargs: object) -> None:
        raise DockerTouched("a bad input reached Docker")

    monkeypatch.setattr("labgen.engine.client", docker_touched)
    monkeypatch.setattr("labgen.lab.docker.client", docker_touched)
    monkeypatch.setattr("labgen.lab.docker.lab_names", lambda: [])
    monkeypatch.setattr("labgen.cli.options.running_labs", lambda: ["unit-lab"])  # "the only lab": never a fallback
    real_access = os.access
    read_only = str(work / "ro")  # root ignores permission bits: stand in for a read-only file system
    monkeypatch.setattr(
        "labgen.paths.os.access",
        lambda path, mode: False if str(Path(path).resolve()).startswith(read_only) else real_access(path, mode),
    )
    return tmp_path
