"""nfs.mount_options: checked when the spec is read (one clear message), passed to every master's mount."""

import pytest
import yaml

from labgen.errors import SpecError
from labgen.generate.render import render_files
from labgen.model.spec import load_lab
from labgen.model.topology import Topology


def _compose(**overrides: str) -> dict:
    lab = load_lab(None, {"name": "lg-nfs-opts", **overrides})
    return yaml.safe_load(render_files(Topology.resolve(lab))["compose.yaml"])


def test_default_is_the_kernels_and_adds_nothing():
    compose = _compose(**{"nfs.client": "fuse"})
    for service in compose["services"].values():
        assert "NFS_MOUNT_OPTIONS" not in service.get("environment", {})


def test_options_reach_every_fuse_mount():
    compose = _compose(**{"nfs.client": "fuse", "nfs.mount_options": "actimeo=5,lookupcache=positive"})
    envs = [s["environment"] for s in compose["services"].values() if "NFS_URL" in s.get("environment", {})]
    assert len(envs) == 2
    assert all(env["NFS_MOUNT_OPTIONS"] == "actimeo=5,lookupcache=positive" for env in envs)


def test_options_reach_the_kernel_volume():
    compose = _compose(**{"nfs.client": "kernel", "nfs.mount_options": "noac"})
    (volume,) = [v for v in compose["volumes"].values() if v and v.get("driver_opts", {}).get("type") == "nfs"]
    assert volume["driver_opts"]["o"].endswith(",hard,timeo=50,noac")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("acregmin=soon", "acregmin needs a number of seconds from 0 to 3600"),
        ("wsize=1048576", "unknown NFS mount option 'wsize=1048576': allowed are actimeo=N"),
        ("noac, nocto", "separate NFS mount options with commas, no spaces"),
    ],
)
def test_bad_options_are_refused_with_what_is_allowed(value, message):
    with pytest.raises(SpecError, match=message):
        load_lab(None, {"nfs.mount_options": value})
