"""labgen/builder/store.py without Docker: the image cache key and the saved file's manifest."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from labgen.builder import store
from labgen.errors import LabgenError
from labgen.model.spec import LabSpec, load_lab


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
