"""Creating a file with our own OPEN (openstate, CompoundClient.create): what goes on the wire, read back
by a decoder of RFC 7530's argument layouts, and what the client does with the server's answers (a new
owner's confirmation, sequence ids, a lost client id, a failed OPEN, a delegation it did not ask for).
The real server's side is in tests/integration/test_nfsmount_host.py."""

from __future__ import annotations

import errno
import struct

import pytest
from labgen_nfsmount import openstate, xdr
from labgen_nfsmount.compound import CompoundClient
from labgen_nfsmount.errors import NfsError

from tests.unit.nfsmount.fakes import cinfo, fattr, ok, reply

STATEID = struct.pack(">I", 1) + b"S" * 12
CONFIRMED = struct.pack(">I", 2) + b"S" * 12
FH = b"\x01file-handle"
BAD_STATEID = 10025


class Args:
    """A reader of XDR arguments."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def u32(self) -> int:
        (v,) = struct.unpack(">I", self.data[self.pos : self.pos + 4])
        self.pos += 4
        return int(v)

    def u64(self) -> int:
        (v,) = struct.unpack(">Q", self.data[self.pos : self.pos + 8])
        self.pos += 8
        return int(v)

    def fixed(self, n: int) -> bytes:
        self.pos += n
        return self.data[self.pos - n : self.pos]

    def opaque(self) -> bytes:
        n = self.u32()
        value = self.fixed(n)
        self.pos += -n % 4
        return value

    def bitmap(self) -> list[int]:
        return [self.u32() for _ in range(self.u32())]


def decode_ops(payload: bytes) -> list[tuple[int, dict[str, object]]]:
    """The operations of a COMPOUND we sent, with the arguments the tests look at."""
    a = Args(payload)
    a.opaque()  # tag
    assert a.u32() == 0  # minor version
    ops: list[tuple[int, dict[str, object]]] = []
    for _ in range(a.u32()):
        op = a.u32()
        args: dict[str, object] = {}
        if op == xdr.OP_LOOKUP:
            args["name"] = a.opaque()
        elif op == xdr.OP_GETATTR:
            a.bitmap()
        elif op == xdr.OP_PUTFH:
            args["fh"] = a.opaque()
        elif op == xdr.OP_SETCLIENTID:
            args["verifier"], args["id"] = a.fixed(8), a.opaque()
            args["cb_program"], args["netid"], args["addr"], args["ident"] = a.u32(), a.opaque(), a.opaque(), a.u32()
        elif op == xdr.OP_SETCLIENTID_CONFIRM:
            args["clientid"], args["confirm"] = a.u64(), a.fixed(8)
        elif op == xdr.OP_OPEN:
            args["seqid"], args["access"], args["deny"] = a.u32(), a.u32(), a.u32()
            args["clientid"], args["owner"] = a.u64(), a.opaque()
            assert a.u32() == openstate.OPEN4_CREATE
            args["how"] = a.u32()
            assert a.bitmap() == [0, 1 << (xdr.FATTR4_MODE - 32)]  # createattrs: the mode alone
            args["mode"] = Args(a.opaque()).u32()
            assert a.u32() == openstate.CLAIM_NULL
            args["name"] = a.opaque()
        elif op == xdr.OP_OPEN_CONFIRM:
            args["stateid"], args["seqid"] = a.fixed(16), a.u32()
        elif op == xdr.OP_CLOSE:
            args["seqid"], args["stateid"] = a.u32(), a.fixed(16)
        elif op == xdr.OP_WRITE:
            args["stateid"], args["offset"], args["stable"], args["data"] = a.fixed(16), a.u64(), a.u32(), a.opaque()
        elif op == xdr.OP_COMMIT:
            a.u64(), a.u32()
        elif op == xdr.OP_DELEGRETURN:
            args["stateid"] = a.fixed(16)
        else:
            assert op in (xdr.OP_PUTROOTFH, xdr.OP_SAVEFH, xdr.OP_RESTOREFH, xdr.OP_GETFH), op
        ops.append((op, args))
    assert a.pos == len(payload), "arguments left over: the encoding is not what RFC 7530 lays out"
    return ops


def failed(status: int, *results: bytes) -> bytes:
    """A COMPOUND reply with this status (its last result is the operation that failed)."""
    head = xdr.u32(9) + xdr.u32(1) + xdr.u32(0) + xdr.u32(0) + xdr.u32(0) + xdr.u32(0)
    return head + xdr.u32(status) + xdr.opaque(b"labgen") + xdr.u32(len(results)) + b"".join(results)


def open_body(stateid: bytes = STATEID, rflags: int = 0, delegation: bytes = xdr.u32(0)) -> bytes:
    return stateid + cinfo() + xdr.u32(rflags) + xdr.bitmap([]) + delegation


class ScriptedServer:
    """Answers each call with the next scripted reply (a function of the decoded ops) and keeps them."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls: list[list[tuple[int, dict[str, object]]]] = []

    def call(self, payload: bytes) -> bytes:
        ops = decode_ops(payload)
        self.calls.append(ops)
        return self.answers.pop(0)(ops)

    def close(self) -> None:
        pass


def setclientid(ops):
    assert [op for op, _ in ops] == [xdr.OP_SETCLIENTID]
    return reply(ok(xdr.OP_SETCLIENTID, xdr.u64(77) + b"C" * 8))


def setclientid_confirm(ops):
    assert ops == [(xdr.OP_SETCLIENTID_CONFIRM, {"clientid": 77, "confirm": b"C" * 8})]
    return reply(ok(xdr.OP_SETCLIENTID_CONFIRM))


def opened(rflags: int = 0, delegation: bytes = xdr.u32(0)):
    def answer(ops):
        assert [op for op, _ in ops][-6:] == [
            xdr.OP_SAVEFH, xdr.OP_OPEN, xdr.OP_GETFH, xdr.OP_GETATTR, xdr.OP_RESTOREFH, xdr.OP_GETATTR,
        ]  # fmt: skip
        results = [ok(xdr.OP_PUTROOTFH)] + [ok(xdr.OP_LOOKUP)] * (len(ops) - 7) + [ok(xdr.OP_SAVEFH)]
        results += [ok(xdr.OP_OPEN, open_body(rflags=rflags, delegation=delegation)), ok(xdr.OP_GETFH, xdr.opaque(FH))]
        results += [ok(xdr.OP_GETATTR, fattr(fileid=5, mode=0o640)), ok(xdr.OP_RESTOREFH)]
        results += [ok(xdr.OP_GETATTR, fattr(type_=2, fileid=4, mode=0o755))]
        return reply(*results)

    return answer


def confirmed(ops):
    assert [op for op, _ in ops] == [xdr.OP_PUTFH, xdr.OP_OPEN_CONFIRM]
    return reply(ok(xdr.OP_PUTFH), ok(xdr.OP_OPEN_CONFIRM, CONFIRMED))


def closed(ops):
    assert [op for op, _ in ops][:2] == [xdr.OP_PUTFH, xdr.OP_CLOSE]
    return reply(ok(xdr.OP_PUTFH), ok(xdr.OP_CLOSE, STATEID), *[ok(op) for op, _ in ops[2:]])


def refused(status: int, at: int = xdr.OP_OPEN):
    """The COMPOUND fails at the first operation `at` with `status`, the ones before it done."""

    def answer(ops):
        names = [op for op, _ in ops]
        index = names.index(at)
        return failed(status, *[ok(op) for op in names[:index]], xdr.u32(at) + xdr.u32(status))

    return answer


def client(server: ScriptedServer) -> CompoundClient:
    c = CompoundClient("127.0.0.1", 1, "/jenkins", 0, 0, 1.0)
    c.rpc = server  # type: ignore[assignment]
    return c


def sent(server: ScriptedServer, op: int) -> list[dict[str, object]]:
    return [args for ops in server.calls for each, args in ops if each == op]


def test_first_create_sets_up_the_client_id_and_confirms_the_owner_then_creates_in_two_round_trips():
    server = ScriptedServer(
        setclientid, setclientid_confirm, opened(openstate.OPEN4_RESULT_CONFIRM), confirmed, closed, opened(), closed
    )
    c = client(server)
    parent, created, held = c.create("jobs/a/config.xml", 0o640, exclusive=False)
    assert held is None  # closed
    assert parent is not None and created is not None
    assert (parent["st_ino"], created["st_ino"], created["st_mode"]) == (4, 5, 0o100640)
    c.create("jobs/a/nextBuildNumber", 0o644, exclusive=True)
    assert len(server.calls) == 7  # the second create: OPEN and CLOSE only
    setclient = sent(server, xdr.OP_SETCLIENTID)[0]
    assert setclient["cb_program"] == 0 and setclient["netid"] == b"tcp"  # no callback: no delegations
    first, second = sent(server, xdr.OP_OPEN)
    assert (first["name"], first["mode"], first["how"]) == (b"config.xml", 0o640, openstate.UNCHECKED4)
    assert (second["name"], second["mode"], second["how"]) == (b"nextBuildNumber", 0o644, openstate.GUARDED4)
    assert first["clientid"] == second["clientid"] == 77 and first["owner"] == second["owner"]
    assert first["access"] == openstate.OPEN4_SHARE_ACCESS_BOTH and first["deny"] == 0
    # the lookups lead to the directory, the OPEN names the file
    assert [a["name"] for a in sent(server, xdr.OP_LOOKUP)][:3] == [b"jenkins", b"jobs", b"a"]
    # one sequence for the owner: OPEN 0, OPEN_CONFIRM 1, CLOSE 2, OPEN 3, CLOSE 4
    confirm = sent(server, xdr.OP_OPEN_CONFIRM)[0]
    closes = sent(server, xdr.OP_CLOSE)
    seqids = [first["seqid"], confirm["seqid"], closes[0]["seqid"], second["seqid"], closes[1]["seqid"]]
    assert seqids == [0, 1, 2, 3, 4]
    assert confirm["stateid"] == STATEID and closes[0]["stateid"] == CONFIRMED  # CLOSE names the confirmed one
    assert [a["fh"] for a in sent(server, xdr.OP_PUTFH)] == [FH, FH, FH]


def test_a_lost_client_id_is_set_up_again_and_the_create_sent_once_more():
    server = ScriptedServer(
        setclientid, setclientid_confirm, opened(), closed,
        refused(xdr.NFS4ERR_STALE_CLIENTID), setclientid, setclientid_confirm, opened(openstate.OPEN4_RESULT_CONFIRM),
        confirmed, closed,
    )  # fmt: skip
    c = client(server)
    c.create("a", 0o644, exclusive=False)
    c.create("b", 0o644, exclusive=False)
    opens = sent(server, xdr.OP_OPEN)
    assert [o["name"] for o in opens] == [b"a", b"b", b"b"]
    assert opens[2]["seqid"] == 0 and opens[2]["owner"] != opens[1]["owner"]  # a new owner, from 0


def test_a_failed_open_is_the_callers_error_and_the_owners_sequence_goes_on_as_the_servers():
    server = ScriptedServer(
        setclientid, setclientid_confirm, opened(), closed,
        refused(xdr.NFS4ERR_EXIST),  # the server moved on by one (RFC 7530 9.1.7)
        refused(xdr.NFS4ERR_NOENT, at=xdr.OP_LOOKUP),  # the OPEN never ran: the sequence did not move
        refused(10036),  # NFS4ERR_BADXDR: the sequence did not move
        opened(), closed,
    )  # fmt: skip
    c = client(server)
    c.create("a", 0o644, exclusive=True)
    with pytest.raises(NfsError) as caught:
        c.create("a", 0o644, exclusive=True)
    assert caught.value.errno == errno.EEXIST
    with pytest.raises(NfsError) as caught:
        c.create("missing/b", 0o644, exclusive=True)
    assert caught.value.errno == errno.ENOENT
    with pytest.raises(NfsError):
        c.create("b", 0o644, exclusive=True)
    c.create("b", 0o644, exclusive=True)
    opens = sent(server, xdr.OP_OPEN)
    assert [o["seqid"] for o in opens] == [0, 2, 3, 3, 3]  # OPEN 0, CLOSE 1, then as the server counts
    assert len({o["owner"] for o in opens}) == 1 and not sent(server, xdr.OP_OPEN_CONFIRM)
    assert len(sent(server, xdr.OP_SETCLIENTID)) == 1  # the client id was fine


def test_bad_seqid_gives_up_the_owner_and_delay_sends_the_open_again_with_the_next_sequence_id():
    server = ScriptedServer(
        setclientid, setclientid_confirm, opened(), closed,
        refused(xdr.NFS4ERR_DELAY), opened(), closed,
        refused(openstate.NFS4ERR_BAD_SEQID), opened(openstate.OPEN4_RESULT_CONFIRM), confirmed, closed,
    )  # fmt: skip
    c = client(server)
    c.create("a", 0o644, exclusive=False)
    c.create("b", 0o644, exclusive=False)  # DELAY, then again
    with pytest.raises(NfsError):
        c.create("c", 0o644, exclusive=False)
    c.create("c", 0o644, exclusive=False)
    opens = sent(server, xdr.OP_OPEN)
    assert [o["name"] for o in opens] == [b"a", b"b", b"b", b"c", b"c"]
    assert [o["seqid"] for o in opens] == [0, 2, 3, 5, 0]
    assert opens[4]["owner"] != opens[3]["owner"]  # a new owner after BAD_SEQID, confirmed


def test_a_delegation_given_unasked_is_returned_with_the_close_and_the_reply_decodes_past_it():
    ace = xdr.u32(0) + xdr.u32(0) + xdr.u32(0) + xdr.opaque(b"EVERYONE@")
    write_delegation = xdr.u32(openstate.OPEN_DELEGATE_WRITE) + b"D" * 16 + xdr.u32(0)
    write_delegation += xdr.u32(1) + xdr.u64(1 << 20) + ace  # space limit by size, then the ace
    server = ScriptedServer(setclientid, setclientid_confirm, opened(delegation=write_delegation), closed)
    _, created, _ = client(server).create("a", 0o640, exclusive=False)
    assert created is not None and created["st_ino"] == 5  # GETFH and GETATTR found after the delegation
    assert [op for op, _ in server.calls[-1]] == [xdr.OP_PUTFH, xdr.OP_CLOSE, xdr.OP_DELEGRETURN]
    assert sent(server, xdr.OP_DELEGRETURN) == [{"stateid": b"D" * 16}]


def test_a_read_delegation_decodes():
    ace = xdr.u32(0) + xdr.u32(0) + xdr.u32(0) + xdr.opaque(b"OWNER@")
    body = open_body(delegation=xdr.u32(openstate.OPEN_DELEGATE_READ) + b"R" * 16 + xdr.u32(0) + ace)
    result = openstate.decode_open(body + b"tail", 0)
    assert result.delegation == b"R" * 16 and body[result.end :] == b"" and result.end == len(body)


def test_a_failed_close_leaves_the_file_created():
    server = ScriptedServer(
        setclientid, setclientid_confirm, opened(),
        lambda ops: failed(BAD_STATEID, ok(xdr.OP_PUTFH), xdr.u32(xdr.OP_CLOSE) + xdr.u32(BAD_STATEID)),
        opened(), closed,
    )  # fmt: skip
    c = client(server)
    _, created, _ = c.create("a", 0o644, exclusive=False)
    assert created is not None
    c.create("b", 0o644, exclusive=False)
    first, second = sent(server, xdr.OP_OPEN)
    assert second["seqid"] == 1 and second["owner"] == first["owner"]  # BAD_STATEID: the sequence kept


def written(ops):
    names = [op for op, _ in ops]
    assert names[-1] == xdr.OP_GETATTR and xdr.OP_WRITE in names
    data = ops[names.index(xdr.OP_WRITE)][1]["data"]
    assert isinstance(data, bytes)
    bodies = {
        xdr.OP_CLOSE: STATEID,
        xdr.OP_WRITE: xdr.u32(len(data)) + xdr.u32(0) + b"V" * 8,
        xdr.OP_COMMIT: b"V" * 8,
        xdr.OP_GETATTR: fattr(size=len(data)),
    }
    return reply(*[ok(op, bodies.get(op, b"")) for op in names])


def test_a_held_open_is_closed_in_front_of_the_first_write_and_only_there():
    server = ScriptedServer(setclientid, setclientid_confirm, opened(), written, written)
    c = client(server)
    _, _, held = c.create("jobs/a/config.xml", 0o644, exclusive=False, hold=True)
    assert held is not None and not sent(server, xdr.OP_CLOSE)  # no CLOSE yet
    n, attrs = c.write("jobs/a/config.xml", 0, b"<project/>", commit=True, close=held)
    assert n == 10 and attrs is not None and attrs["st_size"] == 10
    first_write = [op for op, _ in server.calls[-1]]
    assert first_write[:2] == [xdr.OP_PUTFH, xdr.OP_CLOSE] and first_write[2] == xdr.OP_PUTROOTFH
    assert sent(server, xdr.OP_WRITE)[0]["stateid"] == b"\0" * 16  # the write itself: anonymous, as before
    c.close_held(held, "jobs/a/config.xml")  # already closed: nothing is sent
    assert len(server.calls) == 4
    c.write("jobs/a/config.xml", 10, b"more", commit=False)
    assert server.calls[-1][0][0] == xdr.OP_PUTROOTFH


def test_a_close_that_fails_in_front_of_a_write_is_dropped_and_the_write_sent_again():
    def close_refused(ops):
        assert [op for op, _ in ops][:2] == [xdr.OP_PUTFH, xdr.OP_CLOSE]
        return failed(BAD_STATEID, ok(xdr.OP_PUTFH), xdr.u32(xdr.OP_CLOSE) + xdr.u32(BAD_STATEID))

    server = ScriptedServer(setclientid, setclientid_confirm, opened(), close_refused, written)
    c = client(server)
    _, _, held = c.create("a", 0o644, exclusive=False, hold=True)
    n, _ = c.write("a", 0, b"data", commit=True, close=held)
    assert n == 4 and server.calls[-1][0][0] == xdr.OP_PUTROOTFH  # resent without the CLOSE
    assert c.opens.seqid == 1 and c.opens.owner == sent(server, xdr.OP_OPEN)[0]["owner"]  # as the server has it


def test_a_write_that_fails_after_the_close_is_the_callers_error():
    def write_refused(ops):
        results = [ok(xdr.OP_PUTFH), ok(xdr.OP_CLOSE, STATEID), ok(xdr.OP_PUTROOTFH)]
        return failed(28, *results, xdr.u32(xdr.OP_WRITE) + xdr.u32(28))  # NFS4ERR_NOSPC

    server = ScriptedServer(setclientid, setclientid_confirm, opened(), write_refused)
    c = client(server)
    _, _, held = c.create("a", 0o644, exclusive=False, hold=True)
    with pytest.raises(NfsError) as caught:
        c.write("a", 0, b"data", commit=True, close=held)
    assert caught.value.errno == errno.ENOSPC and len(server.calls) == 4


def test_an_open_held_by_an_owner_since_replaced_is_not_closed_with_the_new_owners_sequence():
    server = ScriptedServer(setclientid, setclientid_confirm, opened(), refused(openstate.NFS4ERR_BAD_SEQID))
    c = client(server)
    _, _, held = c.create("a", 0o644, exclusive=False, hold=True)
    with pytest.raises(NfsError):
        c.create("b", 0o644, exclusive=True)
    assert held is not None
    c.close_held(held, "a")
    assert len(server.calls) == 4 and not sent(server, xdr.OP_CLOSE)


def test_a_write_whose_compound_failed_as_a_whole_is_not_sent_again_and_again():
    def no_results(ops):
        return failed(10018)  # NFS4ERR_RESOURCE, no result at all

    server = ScriptedServer(setclientid, setclientid_confirm, opened(), no_results)
    c = client(server)
    _, _, held = c.create("a", 0o644, exclusive=False, hold=True)
    with pytest.raises(NfsError):
        c.write("a", 0, b"data", commit=True, close=held)
    assert len(server.calls) == 4
