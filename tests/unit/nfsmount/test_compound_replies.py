"""Our NFSv4 COMPOUND replies decoded as a stat needs them (pure code, replies built by hand as a
server encodes them): a GETATTR's attributes, a READ's eof, a READDIR's entries with theirs."""

import os

from labgen_nfsmount import replies, xdr

from tests.unit.nfsmount.fakes import cinfo, fattr, ok, reply


def test_getattr_gives_what_stat_needs():
    attrs, end = replies.decode_fattr(fattr(), 0)
    assert end == len(fattr())
    assert attrs == {
        "st_mode": 0o100640,
        "st_ino": 77,
        "st_nlink": 1,
        "st_uid": 1000,
        "st_gid": 1000,
        "st_rdev": os.makedev(0, 0),
        "st_size": 5000,
        "st_blksize": 4096,
        "st_blocks": 16,
        "st_atime": 5 * 10**9 + 123,
        "st_mtime": 7 * 10**9 + 123,
        "st_ctime": 6 * 10**9 + 123,
    }


def test_directory_and_owner_names():
    attrs, _ = replies.decode_fattr(fattr(type_=2, mode=0o755, owner=b"root@localdomain", group=b"0"), 0)
    assert attrs is not None and attrs["st_mode"] == 0o040755 and attrs["st_uid"] == 0
    # a name this machine does not know: undecided, libnfs is asked instead
    attrs, _ = replies.decode_fattr(fattr(owner=b"no-such-user-labgen@localdomain"), 0)
    assert attrs is None


def test_getattr_and_read_in_one_reply():
    data = b"<project/>\n"
    r = reply(ok(xdr.OP_PUTROOTFH), ok(xdr.OP_LOOKUP), ok(xdr.OP_GETATTR, fattr(size=len(data))),
              ok(xdr.OP_READ, xdr.u32(1) + xdr.opaque(data)))  # fmt: skip
    results = replies.decode_results(r)
    assert results.read == (True, data)
    (attrs,) = results.attrs
    assert attrs is not None and attrs["st_size"] == len(data)


def test_readdir_entries_carry_their_attributes():
    entries = b"".join(
        xdr.u32(1) + xdr.u64(cookie) + xdr.opaque(name) + fattr(fileid=cookie)
        for cookie, name in ((3, b"config.xml"), (4, b"builds"))
    )
    body = b"V" * 8 + entries + xdr.u32(0) + xdr.u32(1)  # verifier, entries, no more, eof
    result = replies.decode_results(reply(ok(xdr.OP_PUTROOTFH), ok(xdr.OP_READDIR, body))).readdir
    assert result is not None
    verifier, got, eof = result
    assert verifier == b"V" * 8 and eof
    assert [(cookie, name, attrs and attrs["st_ino"]) for cookie, name, attrs in got] == [
        (3, "config.xml", 3),
        (4, "builds", 4),
    ]


def test_two_getattrs_parent_first():
    r = reply(ok(xdr.OP_PUTROOTFH), ok(xdr.OP_GETATTR, fattr(type_=2, fileid=1)), ok(xdr.OP_LOOKUP),
              ok(xdr.OP_GETATTR, fattr(fileid=2)))  # fmt: skip
    parent, child = replies.decode_results(r).attrs
    assert parent is not None and child is not None
    assert (parent["st_ino"], child["st_ino"]) == (1, 2)


def test_mkdir_reply_gives_the_new_directory_and_its_parent():
    body = reply(
        ok(xdr.OP_PUTROOTFH),
        ok(xdr.OP_LOOKUP),
        ok(xdr.OP_SAVEFH),
        ok(xdr.OP_CREATE, cinfo() + xdr.bitmap([xdr.FATTR4_MODE])),
        ok(xdr.OP_GETATTR, fattr(type_=2, fileid=9, mode=0o750)),
        ok(xdr.OP_RESTOREFH),
        ok(xdr.OP_GETATTR, fattr(type_=2, fileid=3, mode=0o755)),
    )
    new, parent = replies.decode_results(body).attrs
    assert new is not None and parent is not None
    assert (new["st_ino"], new["st_mode"]) == (9, 0o040750)
    assert (parent["st_ino"], parent["st_mode"]) == (3, 0o040755)


def test_rename_reply_gives_target_directory_object_and_source_directory():
    body = reply(
        ok(xdr.OP_PUTROOTFH),
        ok(xdr.OP_SAVEFH),
        ok(xdr.OP_PUTROOTFH),
        ok(xdr.OP_RENAME, cinfo() + cinfo(3, 4)),
        ok(xdr.OP_GETATTR, fattr(type_=2, fileid=10)),
        ok(xdr.OP_LOOKUP),
        ok(xdr.OP_GETATTR, fattr(fileid=11, size=42)),
        ok(xdr.OP_RESTOREFH),
        ok(xdr.OP_GETATTR, fattr(type_=2, fileid=12)),
    )
    target, renamed, source = replies.decode_results(body).attrs
    assert [a["st_ino"] for a in (target, renamed, source) if a] == [10, 11, 12]
    assert renamed is not None and renamed["st_size"] == 42
