"""The TCP agent port: what an agent, or a probe, gets before any remoting would start."""

from __future__ import annotations

import socket
import socketserver
from dataclasses import dataclass
from typing import cast

from labgen_lite.identity import AGENT_PROTOCOLS, PRODUCT, REMOTING_MINIMUM_VERSION
from labgen_lite.logs import log


@dataclass
class AgentInfo:
    version: str
    session_hash: str
    node: str


class AgentListener(socketserver.ThreadingTCPServer):
    """hudson.TcpSlaveAgentListener: hello on `GET /`, the Ping protocol, nothing else."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app_info: AgentInfo) -> None:
        self.info = app_info
        super().__init__(address, AgentConnection)


def recv_exact(sock: socket.socket, count: int) -> bytes | None:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            return None
        data += chunk
    return data


class AgentConnection(socketserver.BaseRequestHandler):
    IDLE_SECONDS = 30.0

    @property
    def info(self) -> AgentInfo:
        return cast(AgentListener, self.server).info

    def handle(self) -> None:
        sock = cast(socket.socket, self.request)
        sock.settimeout(self.IDLE_SECONDS)
        try:
            head = recv_exact(sock, 10)
            if head is None:
                return
            if head.startswith(b"GET "):
                self._hello(sock, head)
            else:
                self._protocol(sock, head)
        except OSError:
            pass

    def _hello(self, sock: socket.socket, head: bytes) -> None:
        if head.startswith(b"GET / "):
            lines = [
                f"Jenkins-Agent-Protocols: {AGENT_PROTOCOLS}",
                f"Jenkins-Version: {self.info.version}",
                f"Jenkins-Session: {self.info.session_hash}",
                f"Client: {sock.getpeername()[0]}",
                f"Server: {sock.getsockname()[0]}",
                f"Remoting-Minimum-Version: {REMOTING_MINIMUM_VERSION}",
            ]
            body = "".join(line + "\r\n" for line in lines)
            response = "HTTP/1.0 200 OK\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\n" + body
        else:
            response = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain;charset=UTF-8\r\n\r\nNot Found\r\n"
        sock.sendall(response.encode())
        sock.shutdown(socket.SHUT_WR)
        while sock.recv(4096):
            pass  # like Jenkins: drain until the client closes

    def _protocol(self, sock: socket.socket, head: bytes) -> None:
        """Java DataInput.readUTF: 2-byte big-endian length, then the bytes."""
        length = int.from_bytes(head[:2], "big")
        rest = recv_exact(sock, max(0, length + 2 - len(head)))
        if rest is None:
            return
        text = (head + rest)[2 : 2 + length].decode("utf-8", "replace")
        if not text.startswith("Protocol:"):
            self._error(sock, f"Unrecognized protocol: {text}")
        elif text == "Protocol:Ping":
            sock.sendall(b"Ping\n")
        elif text[9:] in ("JNLP4-connect",):
            log(self.info.node, "WARNING", f"{self.client_address[0]}: JNLP4-connect is not implemented by {PRODUCT}")
        else:
            self._error(sock, "Unknown protocol:")

    def _error(self, sock: socket.socket, message: str) -> None:
        sock.sendall((message + "\n").encode())
        log(self.info.node, "WARNING", f"agent connection from {self.client_address[0]} aborted: {message}")
