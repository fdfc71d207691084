"""ONC RPC (RFC 5531) to the server's NFSv4 program: one TCP connection of our own, record marking,
an AUTH_SYS credential, and the check that the server accepted the call.

compound.CompoundClient sends its COMPOUNDs through it; the COMPOUND's status and results are decoded
in replies.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import struct
import time

from labgen_nfsmount import xdr
from labgen_nfsmount.errors import NfsError


class RpcConnection:
    """NFSPROC4_COMPOUND calls as `uid`/`gid` over TCP to host:port, connected at the first call and
    again at the next call after close()."""

    def __init__(self, host: str, port: int, uid: int, gid: int, timeout: float | None) -> None:
        self.host, self.port = host, port
        # AUTH_SYS after its stamp: machine name, uid, gid, no other groups (the same in every call)
        machine = socket.gethostname().encode()[:255]
        self._cred_tail = xdr.opaque(machine) + xdr.u32(uid) + xdr.u32(gid) + xdr.u32(0)
        self.timeout = timeout if timeout and timeout > 0 else None
        self.sock: socket.socket | None = None
        self.xid = int.from_bytes(os.urandom(4), "big")

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None

    def call(self, payload: bytes) -> bytes:
        """One NFSv4 COMPOUND call; the reply with our xid (record marking, RFC 5531)."""
        self.xid = (self.xid + 1) & 0xFFFFFFFF
        header = [self.xid, 0, 2, xdr.NFS4_PROGRAM, xdr.NFS_V4, xdr.NFSPROC4_COMPOUND]  # xid, CALL, RPC version 2
        verifier = xdr.u32(0) + xdr.u32(0)  # AUTH_NONE
        msg = b"".join(xdr.u32(v) for v in header) + self._cred() + verifier + payload
        sock = self._connected()
        sock.sendall(xdr.u32(0x80000000 | len(msg)) + msg)
        while True:
            fragments = []
            last = False
            while not last:
                mark = struct.unpack(">I", self._recv_exact(sock, 4))[0]
                last = bool(mark & 0x80000000)
                fragments.append(self._recv_exact(sock, mark & 0x7FFFFFFF))
            reply = b"".join(fragments)
            if struct.unpack(">I", reply[:4])[0] == self.xid:
                return reply  # else: a late reply to an old call

    def _cred(self) -> bytes:
        body = xdr.u32(int(time.time())) + self._cred_tail
        return xdr.u32(1) + xdr.opaque(body)  # AUTH_SYS

    def _connected(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.sock

    def _recv_exact(self, sock: socket.socket, n: int) -> bytes:
        buf = bytearray(n)
        view = memoryview(buf)
        got = 0
        while got < n:
            k = sock.recv_into(view[got:], n - got)
            if not k:
                raise OSError(errno.ECONNRESET, "connection closed by server")
            got += k
        return bytes(buf)


def status_offset(reply: bytes, path: str) -> int:
    """Where the COMPOUND status starts in an RPC reply; NfsError when the call was not accepted."""
    msg_type, reply_stat = struct.unpack(">II", reply[4:12])
    if msg_type != 1 or reply_stat != 0:
        raise NfsError(errno.EIO, f"nfs {path}: RPC denied")
    vlen = struct.unpack(">I", reply[16:20])[0]
    pos = 20 + vlen + (-vlen % 4)
    accept_stat = struct.unpack(">I", reply[pos : pos + 4])[0]
    if accept_stat != 0:
        raise NfsError(errno.EIO, f"nfs {path}: RPC accept_stat {accept_stat}")
    return pos + 4
