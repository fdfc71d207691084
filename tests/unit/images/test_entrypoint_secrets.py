"""The images' entrypoints export a service's secrets file (KEY='VALUE' lines) with one reader,
images/common/secrets.sh, which `labgen build` puts where each image's entrypoint sources it."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from labgen.builder.flavour import JenkinsChoice
from labgen.builder.haproxy_source import HAProxySource
from labgen.builder.jenkins_sources import JenkinsWar
from labgen.builder.recipes import Recipe, haproxy_recipe, jenkins_recipe
from labgen.model import names
from labgen.model.spec import LabSpec

IMAGES = Path(__file__).resolve().parents[3] / "images"
READER = IMAGES / "common" / "secrets.sh"
TAGS = names.ImageTags(names.DEFAULT_IMAGE_NAMESPACE)
ENTRYPOINTS = {"haproxy": IMAGES / "haproxy" / "entrypoint.sh", "jenkins": IMAGES / "jenkins" / "entrypoint.sh"}
# shell syntax in a value is text; a line whose key is no variable's is skipped; the last needs no newline
SECRETS = "A_TOKEN='a$HOME${PATH}`id`\\n'\nlower='skipped'\n# a comment\n\nEMPTY=''\nLAST='no newline'"
EXPORTED = {"A_TOKEN": "a$HOME${PATH}`id`\\n", "EMPTY": "", "LAST": "no newline"}


def _image_environment(image: str, tmp_path: Path) -> dict[str, str]:
    """What the image sets for its entrypoint; for Jenkins: root, no NFS, a home check that exits at once."""
    if image == "haproxy":
        args = names.image_buildargs()
        return {
            "LABGEN_STATS_USER_VARIABLE": args["STATS_USER_ENV"],
            "LABGEN_STATS_PASSWORD_VARIABLE": args["STATS_PASSWORD_ENV"],
            args["STATS_PASSWORD_ENV"]: "x",
        }
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "python3").chmod(0o755)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "JENKINS_UID": "0",
        "JENKINS_HOME": str(tmp_path / "home"),
        "LABGEN_JENKINS_FLAVOUR": "lite",
    }


def _exported(image: str, tmp_path: Path, secrets: str | None) -> dict[str, str]:
    """The environment the entrypoint runs its command with."""
    secrets_file = tmp_path / "labgen.env"
    if secrets is not None:
        secrets_file.write_text(secrets)
    env = {
        "PATH": os.environ["PATH"],
        "LABGEN_ENTRYPOINT_LIB": str(READER.parent),
        "LABGEN_SECRETS_FILE": str(secrets_file),
        **_image_environment(image, tmp_path),
    }
    shown = subprocess.run(["sh", str(ENTRYPOINTS[image]), "env", "-0"], env=env, capture_output=True, timeout=30)
    assert shown.returncode == 0, shown.stderr
    return dict(item.split("=", 1) for item in shown.stdout.decode().split("\0") if item)


@pytest.mark.parametrize("image", sorted(ENTRYPOINTS))
def test_each_entrypoint_exports_the_secrets_as_they_are_written(tmp_path: Path, image: str) -> None:
    exported = _exported(image, tmp_path, SECRETS)
    assert {key: exported.get(key) for key in EXPORTED} == EXPORTED
    assert "lower" not in exported


@pytest.mark.parametrize("image", sorted(ENTRYPOINTS))
def test_without_a_secrets_file_an_entrypoint_exports_none(tmp_path: Path, image: str) -> None:
    assert not set(EXPORTED) & set(_exported(image, tmp_path, None))


def _recipe(dockerfile: str, tmp_path: Path) -> Recipe:
    tarball = tmp_path / "artifact"
    tarball.write_bytes(b"")
    if dockerfile == "haproxy/Dockerfile":
        return haproxy_recipe(IMAGES, HAProxySource(tarball, "2.0.8", "official", "0" * 64, "2.0.8", "test"), TAGS)
    war = JenkinsWar(tarball, "2.190.2", "0" * 64, "cache")
    choice = (
        JenkinsChoice("real", "test", war) if dockerfile.startswith("jenkins/real/") else JenkinsChoice("lite", "test")
    )
    recipe = jenkins_recipe(IMAGES / "jenkins", LabSpec(), choice, TAGS)
    assert f"jenkins/{recipe.dockerfile}" == dockerfile
    return recipe


@pytest.mark.parametrize("dockerfile", ["haproxy/Dockerfile", "jenkins/lite/Dockerfile", "jenkins/real/Dockerfile"])
def test_every_image_has_the_reader_where_its_entrypoint_sources_it(tmp_path: Path, dockerfile: str) -> None:
    entrypoint = ENTRYPOINTS[dockerfile.split("/")[0]].read_text(encoding="utf-8")
    sourced = re.search(r'^\. "\$\{LABGEN_ENTRYPOINT_LIB:-([^}]+)\}/secrets\.sh"$', entrypoint, re.MULTILINE)
    assert sourced, "the entrypoint sources the shared reader"
    copies = re.findall(r"^COPY (\S+)/ (\S+?)/?$", (IMAGES / dockerfile).read_text(encoding="utf-8"), re.MULTILINE)
    folders = [source for source, target in copies if target == sourced.group(1)]
    assert len(folders) == 1, f"{dockerfile} copies one folder of its context to {sourced.group(1)}"
    entries = dict(_recipe(dockerfile, tmp_path).entries)
    assert entries[f"{folders[0]}/secrets.sh"] == READER  # in the context, so in the image's content hash
