"""compose/ holds the default lab as `labgen generate` renders it; this fails when they drift."""

from pathlib import Path

import pytest

from labgen.generate.render import render_files
from labgen.model import names
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology

COMPOSE = Path(__file__).resolve().parents[3] / "compose"
NOT_GENERATED = {"README.md", "secrets.env", "secrets/jenkins.env", "secrets/haproxy.env"}


def test_compose_folder_matches_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(names.IMAGE_NAMESPACE_ENV, raising=False)  # compose/ names the images in the default one
    files = render_files(Topology.resolve(LabSpec(), flavour="lite", nfs_client="fuse"))
    committed = {str(p.relative_to(COMPOSE)) for p in COMPOSE.rglob("*") if p.is_file()} - NOT_GENERATED
    assert committed == set(files), "regenerate with: labgen generate --out compose"
    for rel, text in files.items():
        assert (COMPOSE / rel).read_text() == text, (
            f"compose/{rel} drifted: regenerate with labgen generate --out compose"
        )
