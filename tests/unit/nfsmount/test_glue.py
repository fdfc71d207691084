"""glue.stat_packer: the bytes it packs are the bytes fusepy's own set_st_attrs writes."""

import ctypes
import importlib.util
import stat
from pathlib import Path

import pytest
from labgen_nfsmount.glue import lean_fuse_class, stat_packer

DEBIAN_FUSEPY = Path("/usr/lib/python3/dist-packages/fusepy.py")  # python3-fusepy, which setup installs


def load_fusepy():
    """Debian's fusepy module, loaded from its file (its folder is not put on the path: it holds Debian's
    other packages); it needs libfuse.so.2 as well."""
    if not DEBIAN_FUSEPY.exists():
        pytest.skip(f"{DEBIAN_FUSEPY} is missing (apt-get install python3-fusepy)")
    spec = importlib.util.spec_from_file_location("fusepy", DEBIAN_FUSEPY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fusepy = load_fusepy()

ATTRS = {
    "st_mode": stat.S_IFREG | 0o640,
    "st_ino": 2**40 + 7,
    "st_nlink": 3,
    "st_uid": 1000,
    "st_gid": 2000,
    "st_rdev": 0,
    "st_size": 2**33 + 5,
    "st_blksize": 4096,
    "st_blocks": 17,
    "st_atime": 1_700_000_000_123_456_789,
    "st_mtime": 1_600_000_000_000_000_001,
    "st_ctime": 999_999_999,
}


def fusepy_bytes(attrs):
    st = fusepy.c_stat()
    fusepy.set_st_attrs(st, attrs, use_ns=True)
    return bytes(st)


@pytest.mark.parametrize(
    "attrs",
    [ATTRS, {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}, {k: v for k, v in ATTRS.items() if k != "st_atime"}],
    ids=["every attribute", "a few", "no atime"],
)
def test_packed_stat_is_what_fusepy_writes(attrs):
    packed = stat_packer(fusepy.c_stat)
    assert packed is not None, "fusepy's c_stat of this machine should have a known layout"
    assert packed(attrs) == fusepy_bytes(attrs)


def test_a_layout_it_cannot_tell_falls_back_to_fusepy():
    class Odd(ctypes.Structure):
        _fields_ = [("st_mode", ctypes.c_uint32), ("st_weird", ctypes.c_char * 3)]

    assert stat_packer(Odd) is None


def test_the_lean_class_is_fusepy_fuse():
    assert issubclass(lean_fuse_class(fusepy), fusepy.FUSE)
