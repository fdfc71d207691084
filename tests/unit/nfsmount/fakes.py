"""What the nfsmount unit tests share: a clock they move by hand, and NFSv4 replies built by hand as a
server encodes them."""

import struct

from labgen_nfsmount import replies, xdr


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fattr(type_=1, size=5000, fileid=77, mode=0o640, nlink=1, owner=b"1000", group=b"1000", used=8192, t=(5, 6, 7)):
    vals = (
        xdr.u32(type_)
        + xdr.u64(size)
        + xdr.u64(fileid)
        + xdr.u32(mode)
        + xdr.u32(nlink)
        + xdr.opaque(owner)
        + xdr.opaque(group)
        + xdr.u32(0)
        + xdr.u32(0)
        + xdr.u64(used)
        + b"".join(struct.pack(">qI", sec, 123) for sec in t)
    )
    return xdr.bitmap(list(replies.FULL_ATTRS)) + xdr.opaque(vals)


def reply(*results: bytes) -> bytes:
    """An RPC reply (accepted, AUTH_NONE verifier) of a successful COMPOUND with these results."""
    head = xdr.u32(9) + xdr.u32(1) + xdr.u32(0) + xdr.u32(0) + xdr.u32(0) + xdr.u32(0)
    return head + xdr.u32(0) + xdr.opaque(b"labgen") + xdr.u32(len(results)) + b"".join(results)


def ok(op: int, body: bytes = b"") -> bytes:
    return xdr.u32(op) + xdr.u32(0) + body


def cinfo(before=1, after=2) -> bytes:
    return xdr.u32(1) + xdr.u64(before) + xdr.u64(after)  # change_info4: atomic, before, after
