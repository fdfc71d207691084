"""fusepy's FUSE class with a cheaper stat.

A stat is most of what a Jenkins reload asks of the mount (about 9 of 19 requests per job), and fusepy
fills libfuse's struct stat one ctypes attribute at a time (set_st_attrs): as much CPU as the rest of the
request.  Here the attributes are packed into the struct's bytes with one struct.pack, laid out from
fusepy's own c_stat definition, so it holds on every architecture fusepy knows."""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from types import ModuleType
from typing import Any

from labgen_nfsmount.cache import Attrs

NS = 10**9
_TIMESPEC_SUFFIX = "spec"  # fusepy names the struct timespec members st_atimespec, ...


def stat_packer(c_stat: type[ctypes.Structure]) -> Callable[[Attrs], bytes] | None:
    """A function turning a FUSE stat dict (times in nanoseconds) into the bytes of `c_stat`; None when
    its layout cannot be told here (fusepy's set_st_attrs is used then)."""
    codes = []
    keys: list[tuple[str, bool]] = []  # (stat dict key, is a time)
    for name, kind in c_stat._fields_:  # type: ignore[misc]
        members = getattr(kind, "_fields_", None)
        if members is not None:
            if not name.endswith(_TIMESPEC_SUFFIX) or [m[0] for m in members] != ["tv_sec", "tv_nsec"]:
                return None
            codes += [m[1]._type_ for m in members]
            keys.append((name[: -len(_TIMESPEC_SUFFIX)], True))
        else:
            code = getattr(kind, "_type_", None)
            if not isinstance(code, str) or len(code) != 1:
                return None
            codes.append(code)
            keys.append((name, False))
    layout = struct.Struct("@" + "".join(codes))
    if layout.size != ctypes.sizeof(c_stat):
        return None
    pack = layout.pack
    keys_of = tuple(keys)

    def packed(attrs: Attrs) -> bytes:
        values: list[int] = []
        for key, is_time in keys_of:
            value = attrs.get(key, 0)
            if is_time:
                values += divmod(value, NS)
            else:
                values.append(value)
        return pack(*values)

    return packed


def lean_fuse_class(fusepy: ModuleType) -> type:
    """fusepy.FUSE with getattr/fgetattr filling the struct stat in one piece (fusepy.FUSE itself when
    its c_stat has a layout stat_packer does not know)."""
    packer = stat_packer(fusepy.c_stat)
    if packer is None:
        return fusepy.FUSE
    size = ctypes.sizeof(fusepy.c_stat)
    memmove = ctypes.memmove
    packed: Callable[[Attrs], bytes] = packer

    class LeanFUSE(fusepy.FUSE):  # type: ignore[name-defined]
        def getattr(self, path: bytes, buf: Any) -> int:
            return self.fgetattr(path, buf, None)

        def fgetattr(self, path: bytes | None, buf: Any, fip: Any) -> int:
            # raw_fi: the operations get libfuse's fuse_file_info itself (or None without a handle)
            name = path.decode(self.encoding) if path else None
            attrs = self.operations("getattr", name, fip.contents if fip else None)
            memmove(buf, packed(attrs), size)
            return 0

    return LeanFUSE
