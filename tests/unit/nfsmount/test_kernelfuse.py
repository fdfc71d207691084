"""The FUSE kernel protocol as labgen_nfsmount speaks it (fuseproto.py) and what its server keeps
(kernelfuse.py): the layouts of linux/fuse.h, the table of the kernel's inodes, how long the kernel may
keep attributes, and when an open makes it forget them (close-to-open). No /dev/fuse here: requests are
built as the kernel sends them and the replies read back; the host test mounts for real
(tests/integration/test_nfsmount_host.py)."""

from __future__ import annotations

import errno
import os
import struct

import pytest
from labgen_nfsmount import fuseproto as fp
from labgen_nfsmount.cache import AttrCache, parse_mount_options
from labgen_nfsmount.kernelfuse import KernelFuse
from labgen_nfsmount.nodes import NodeTable

from tests.unit.nfsmount.fakes import Clock

FILE, DIR = 0o100644, 0o040755


def attrs(mode=FILE, size=10, mtime=1):
    return {"st_mode": mode, "st_size": size, "st_mtime": mtime, "st_ctime": mtime, "st_ino": 7, "st_nlink": 1}


class FakeOps:
    """NfsOperations' surface, over a dict of server-side attributes; the cache is the real one."""

    def __init__(self, options: str = "acregmin=3,acregmax=60,acdirmin=30,acdirmax=60") -> None:
        self.clock = Clock()
        self.cache = AttrCache(parse_mount_options(options), self.clock)
        self.server: dict[str, dict[str, int]] = {"/": attrs(DIR)}
        self.calls: list[tuple[str, str]] = []
        self.fids = iter(range(1, 1000))

    def getattr(self, path, fh=None):
        fresh = self.cache.fresh(path)
        if fresh is not None:
            return fresh
        return self._fetch(path)

    def _fetch(self, path):
        if path not in self.server:
            raise OSError(errno.ENOENT, path)
        self.cache.store(path, dict(self.server[path]))
        return self.server[path]

    def open(self, path, fi):
        self.calls.append(("open", path))
        self._fetch(path)  # close-to-open
        fi.fh = next(self.fids)

    def opendir(self, path):
        self._fetch(path)

    def readdir(self, path, fi):
        return [".", "..", *sorted(p.rsplit("/", 1)[1] for p in self.server if p != "/" and p.rsplit("/", 1)[0] == "")]

    def release(self, path, fi):
        self.calls.append(("release", path))

    def unlink(self, path):
        self.calls.append(("unlink", path))
        self.server.pop(path)
        self.cache.changed(path)

    def rename(self, old, new):
        self.calls.append(("rename", f"{old} {new}"))
        self.server[new] = self.server.pop(old)
        self.cache.renamed(old, new)


class Server(KernelFuse):
    """KernelFuse with what it writes to /dev/fuse kept in a list."""

    def __init__(self, ops: FakeOps) -> None:
        super().__init__(ops, "/mnt", fsname="t", subtype="t", allow_other=False, entry_timeout=30.0)
        self.sent: list[bytes] = []

    def _send(self, data: bytes) -> None:
        self.sent.append(data)

    def request(self, opcode: int, nodeid: int, body: bytes = b"") -> tuple[int, bytes]:
        """Handle one request as the kernel sends it; (error, payload) of its reply."""
        unique = 1000 + len(self.sent)
        header = fp.IN_HEADER.pack(fp.IN_HEADER.size + len(body), opcode, unique, nodeid, 0, 0, 1, 0, 0)
        before = len(self.sent)
        self._handle(header + body)
        replies = [r for r in self.sent[before:] if fp.OUT_HEADER.unpack_from(r)[2] == unique]
        assert len(replies) == 1
        _, error, _ = fp.OUT_HEADER.unpack_from(replies[0])
        return error, replies[0][fp.OUT_HEADER.size :]

    def notifications(self) -> list[int]:
        """The node ids the kernel was told to forget the attributes of."""
        out = []
        for data in self.sent:
            _, code, unique = fp.OUT_HEADER.unpack_from(data)
            if unique == 0 and code == fp.NOTIFY_INVAL_INODE:
                out.append(fp.NOTIFY_INVAL_INODE_OUT.unpack_from(data, fp.OUT_HEADER.size)[0])
        return out

    def lookup(self, name: str, parent: int = fp.ROOT_ID) -> tuple[int, float, int]:
        """(node id, attr_valid, size) of a LOOKUP reply."""
        error, out = self.request(fp.LOOKUP, parent, name.encode() + b"\0")
        assert error == 0, os.strerror(-error)
        nodeid, _, _, attr_valid, _, attr_nsec = fp.ENTRY_HEAD.unpack_from(out)
        size = fp.ATTR.unpack_from(out, fp.ENTRY_HEAD.size)[1]
        return nodeid, attr_valid + attr_nsec / 1e9, size

    def open(self, nodeid: int, flags: int = os.O_RDONLY) -> tuple[int, int]:
        error, out = self.request(fp.OPEN, nodeid, fp.OPEN_IN.pack(flags, 0))
        assert error == 0
        fh, open_flags, _ = fp.OPEN_OUT.unpack_from(out)
        return fh, open_flags


# -- layouts (linux/fuse.h) ---------------------------------------------------------------------------


def test_the_structures_have_the_kernels_sizes():
    assert fp.IN_HEADER.size == 40 and fp.OUT_HEADER.size == 16
    assert fp.ATTR.size == 88
    assert len(fp.entry_out(2, attrs(), 1, 1)) == 128
    assert len(fp.attr_out(attrs(), 1)) == 104
    assert len(fp.init_out(31, 0, 131072, 131072)) == 64
    assert len(fp.statfs_out({})) == 80
    assert fp.SETATTR_IN.size == 88 and fp.READ_IN.size == 40 and fp.WRITE_IN.size == 40
    assert fp.RELEASE_IN.size == 24 and fp.FLUSH_IN.size == 24 and fp.OPEN_OUT.size == 16


def test_a_dirent_is_padded_to_8_bytes_and_says_where_the_next_starts():
    record = fp.dirent(b"config.xml", 3)
    assert len(record) % 8 == 0 and len(record) == 24 + 16
    ino, offset, namelen, kind = fp.DIRENT_HEAD.unpack_from(record)
    assert (ino, offset, namelen, kind) == (fp.UNKNOWN_INO, 3, 10, 0)
    assert record[24:34] == b"config.xml"


def test_attributes_carry_seconds_and_nanoseconds():
    packed = fp.pack_attr({"st_mtime": 5 * 10**9 + 7, "st_size": 3, "st_mode": FILE, "st_uid": -1})
    fields = fp.ATTR.unpack(packed)
    assert fields[1] == 3 and fields[4] == 5 and fields[7] == 7 and fields[9] == FILE
    assert fields[11] == 0xFFFFFFFF


def test_an_error_reply_has_no_payload_and_a_notification_no_request():
    assert fp.reply(9, -errno.ENOENT, b"ignored") == struct.pack("<IiQ", 16, -errno.ENOENT, 9)
    note = fp.notify_inval_inode(5)
    assert fp.OUT_HEADER.unpack_from(note) == (40, fp.NOTIFY_INVAL_INODE, 0)
    assert fp.NOTIFY_INVAL_INODE_OUT.unpack_from(note, 16) == (5, -1, 0)


# -- the table of the kernel's inodes -------------------------------------------------------------------


def test_a_node_lives_while_the_kernel_counts_lookups_of_it():
    table = NodeTable()
    node = table.looked_up("/jobs", is_dir=True)
    assert table.looked_up("/jobs", is_dir=True) == node
    table.forget(node, 1)
    assert table.path(node) == "/jobs"
    table.forget(node, 1)
    with pytest.raises(OSError):
        table.path(node)
    table.forget(fp.ROOT_ID, 100)
    assert table.path(fp.ROOT_ID) == "/"


def test_renaming_a_directory_renames_the_nodes_below_it_and_a_replaced_node_loses_its_name():
    table = NodeTable()
    jobs = table.looked_up("/jobs/a", is_dir=True)
    config = table.looked_up("/jobs/a/config.xml", is_dir=False)
    other = table.looked_up("/jobs/ab/config.xml", is_dir=False)
    target = table.looked_up("/jobs/b", is_dir=True)
    table.moved("/jobs/a", "/jobs/b")
    assert table.path(jobs) == "/jobs/b" and table.path(config) == "/jobs/b/config.xml"
    assert table.path(other) == "/jobs/ab/config.xml"
    with pytest.raises(OSError):
        table.path(target)


# -- what the kernel keeps, and close-to-open -------------------------------------------------------------


def test_the_kernel_keeps_attributes_as_long_as_the_cache_would_at_most_a_second():
    ops = FakeOps()
    ops.server["/f"] = attrs()
    server = Server(ops)
    _, valid, _ = server.lookup("f")
    assert valid == pytest.approx(1.0)
    ops.clock.now += 2.5  # 0.5 s left of acregmin (3 s)
    error, out = server.request(fp.GETATTR, server.nodes.node_of("/f") or 0, fp.GETATTR_IN.pack(0, 0, 0))
    assert error == 0 and fp.ATTR_OUT_HEAD.unpack_from(out)[:2] == (0, 500_000_000)


def test_noac_lets_the_kernel_keep_nothing():
    ops = FakeOps("noac")
    ops.server["/f"] = attrs()
    _, valid, _ = Server(ops).lookup("f")
    assert valid == 0


def test_an_open_that_finds_the_file_changed_makes_the_kernel_forget_its_attributes_first():
    ops = FakeOps()
    ops.server["/f"] = attrs(size=1)
    server = Server(ops)
    node, _, size = server.lookup("f")  # a stat: the kernel keeps size 1 for a second
    assert size == 1
    ops.server["/f"] = attrs(size=10, mtime=2)  # the other master writes
    server.open(node)
    assert server.notifications() == [node]
    # unchanged since: the next open leaves the kernel's attributes alone
    server.open(node)
    assert server.notifications() == [node]


def test_an_unchanged_file_opened_again_costs_the_kernel_nothing():
    ops = FakeOps()
    ops.server["/f"] = attrs()
    server = Server(ops)
    node, _, _ = server.lookup("f")
    server.open(node)
    server.open(node)
    assert server.notifications() == []


def test_a_read_only_open_needs_no_flush_and_a_write_open_does():
    ops = FakeOps()
    ops.server["/f"] = attrs()
    server = Server(ops)
    node, _, _ = server.lookup("f")
    assert server.open(node)[1] & fp.FOPEN_NOFLUSH
    assert not server.open(node, os.O_WRONLY)[1] & fp.FOPEN_NOFLUSH


def test_an_open_file_unlinked_keeps_a_hidden_name_until_its_last_release():
    ops = FakeOps()
    ops.server["/f"] = attrs()
    server = Server(ops)
    node, _, _ = server.lookup("f")
    fh, _ = server.open(node)
    assert server.request(fp.UNLINK, fp.ROOT_ID, b"f\0")[0] == 0
    hidden = server.nodes.path(node)
    assert hidden.startswith("/.fuse_hidden") and ("unlink", "/f") not in ops.calls
    assert server.request(fp.RELEASE, node, fp.RELEASE_IN.pack(fh, 0, 0, 0))[0] == 0
    assert ("unlink", hidden) in ops.calls


def test_a_listing_is_read_once_and_served_by_offset():
    ops = FakeOps()
    for i in range(300):
        ops.server[f"/job{i:03d}"] = attrs(DIR)
    server = Server(ops)
    error, out = server.request(fp.OPENDIR, fp.ROOT_ID, fp.OPEN_IN.pack(0, 0))
    dh = fp.OPEN_OUT.unpack_from(out)[0]
    seen, offset = [], 0
    while True:
        error, out = server.request(fp.READDIR, fp.ROOT_ID, fp.READ_IN.pack(dh, offset, 1024, 0, 0, 0, 0))
        assert error == 0
        if not out:
            break
        pos = 0
        while pos < len(out):
            _, offset, namelen, _ = fp.DIRENT_HEAD.unpack_from(out, pos)
            seen.append(out[pos + 24 : pos + 24 + namelen].decode())
            pos += fp.DIRENT_HEAD.size + namelen + (-(fp.DIRENT_HEAD.size + namelen) % 8)
    assert seen == [".", "..", *(f"job{i:03d}" for i in range(300))]


def test_an_unknown_request_is_not_implemented_and_a_missing_name_is_enoent():
    server = Server(FakeOps())
    assert server.request(fp.ACCESS, fp.ROOT_ID, b"\0" * 8)[0] == -errno.ENOSYS
    assert server.request(fp.LOOKUP, fp.ROOT_ID, b"nope\0")[0] == -errno.ENOENT
