"""Issue 13 without Docker: the Python API's spec handling, the top-level names, the pytest
plugin's registration, markers and lab names, the image cache key and the saved file's manifest."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tomllib
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import labgen
from labgen.api import JenkinsHALab
from labgen.builder import store
from labgen.errors import LabgenError, SpecError
from labgen.model.spec import NAME_PATTERN, LabSpec, load_lab
from labgen.pytest_plugin import DEFAULT_PREFIX, lab_name, lab_options

ROOT = Path(__file__).resolve().parents[3]


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


# ---- the pytest plugin ----------------------------------------------------------------------------------


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


# ---- the image cache key and the saved file ------------------------------------------------------------


def test_the_images_key_follows_what_chooses_the_images() -> None:
    key = store.images_key(LabSpec())
    assert key == store.images_key(LabSpec()) and len(key) == 32
    assert store.images_key(load_lab(None, {"haproxy.version": "2.6.12"})) != key
    assert store.images_key(load_lab(None, {"jenkins.flavour": "lite"})) != key
    # what does not choose images does not change the key
    assert store.images_key(load_lab(None, {"name": "other", "ports.http": 9999})) == key


def _saved(tmp_path: Path, manifest: dict[str, object] | None, first: str = store.MANIFEST) -> Path:
    path = tmp_path / "images.tar"
    with tarfile.open(path, "w") as tar:
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo(first)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"[]"))
    return path


def test_a_saved_files_manifest_is_read_and_checked(tmp_path: Path) -> None:
    images = [{"name": "nfs", "tag": "labgen/nfs-ganesha:4.3", "id": "sha256:ab", "content_hash": "cd"}]
    manifest = {"format": store.SAVE_FORMAT, "images": images, "key": "k"}
    assert store.read_manifest(_saved(tmp_path, manifest))["images"] == images
    with pytest.raises(LabgenError, match="not a file saved by `labgen images save`"):
        store.read_manifest(_saved(tmp_path, manifest, first="manifest.json"))
    with pytest.raises(LabgenError, match="format 99"):
        store.read_manifest(_saved(tmp_path, {"format": 99, "images": []}))
    (tmp_path / "junk").write_bytes(b"not a tar at all")
    with pytest.raises(LabgenError, match="cannot read"):
        store.read_manifest(tmp_path / "junk")
