"""HAProxy's runtime API (one command per connection) and what it says about the masters."""

from __future__ import annotations

import socket
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from labgen.wire.haproxy import as_int, parse_stat_csv, status_is_up

ADMIN_FORCED_MAINT = 0x01  # srv_admin_state bits (HAProxy's SRV_ADMF_*): set by "state maint"
ADMIN_RESOLUTION_MAINT = 0x20  # the server's name no longer resolves


class HAProxyError(Exception):
    """The runtime API could not be reached or refused a command."""


class RuntimeAPI:
    """HAProxy's runtime API: one command per connection."""

    def __init__(self, address: str | tuple[str, int], timeout: float = 2.0) -> None:
        self.address = address
        self.timeout = timeout

    def command(self, line: str) -> str:
        family = socket.AF_UNIX if isinstance(self.address, str) else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.address)
                sock.sendall(line.encode() + b"\n")
                return _read_all(sock).decode("utf-8", "replace")
        except OSError as error:
            raise HAProxyError(f"{line!r}: {error}") from None

    def action(self, line: str) -> None:
        """A command that answers nothing when it succeeds."""
        reply = self.command(line).strip()
        if reply:
            raise HAProxyError(f"{line!r}: {reply}")


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse_servers_state(text: str) -> list[dict[str, str]]:
    """`show servers state`: a version line, `# name name ...`, then space-separated rows."""
    lines = [line for line in text.splitlines() if line.strip()]
    headers = next((line[1:].split() for line in lines if line.startswith("#")), None)
    if headers is None:
        raise HAProxyError(f"show servers state: unexpected answer {text[:80]!r}")
    rows = [line.split() for line in lines if not line.startswith("#") and " " in line.strip()]
    return [dict(zip(headers, row, strict=False)) for row in rows]


@dataclass(frozen=True)
class ServerView:
    """One server of the HTTP backend, as HAProxy sees it."""

    name: str
    status: str  # UP, DOWN, MAINT, "DOWN 1/2", "MAINT (resolution)", ...
    check_status: str
    since_s: int  # seconds since the last status change
    admin_state: int

    @property
    def forced_maint(self) -> bool:
        return bool(self.admin_state & ADMIN_FORCED_MAINT)

    @property
    def down(self) -> bool:
        return self.status.startswith("DOWN") or bool(self.admin_state & ADMIN_RESOLUTION_MAINT)

    @property
    def up(self) -> bool:
        return status_is_up(self.status) and not self.forced_maint


@dataclass(frozen=True)
class HAProxyView:
    """What one poll learnt: the backend's servers and the proxies that route to the masters."""

    servers: Mapping[str, ServerView]
    proxies: frozenset[str]


class HAProxy:
    """The few runtime API operations the controller needs."""

    def __init__(self, api: RuntimeAPI, backend: str, masters: Sequence[str]) -> None:
        self.api = api
        self.backend = backend
        self.masters = tuple(masters)

    def view(self) -> HAProxyView:
        try:
            rows = parse_stat_csv(self.api.command("show stat"))
        except ValueError as error:
            raise HAProxyError(f"show stat: {error}") from None
        admin = {
            row.get("srv_name", ""): as_int(row.get("srv_admin_state"))
            for row in parse_servers_state(self.api.command(f"show servers state {self.backend}"))
        }
        servers = {}
        proxies = set()
        for row in rows:
            if row.get("svname") in self.masters:
                proxies.add(row.get("pxname", ""))
            if row.get("pxname") == self.backend and row.get("svname") in self.masters:
                name = row["svname"]
                servers[name] = ServerView(
                    name=name,
                    status=row.get("status", ""),
                    check_status=row.get("check_status", ""),
                    since_s=as_int(row.get("lastchg")),
                    admin_state=admin.get(name, 0),
                )
        missing = [name for name in self.masters if name not in servers]
        if missing:
            raise HAProxyError(f"backend {self.backend!r} has no server {', '.join(missing)}")
        return HAProxyView(servers, frozenset(proxies))

    def set_state(self, server: str, state: str) -> None:
        self.api.action(f"set server {self.backend}/{server} state {state}")

    def clear_tables(self, proxies: AbstractSet[str]) -> list[str]:
        """Clear the stick tables of `proxies` (those that route to the masters)."""
        existing = {
            line.split(":", 1)[1].split(",", 1)[0].strip()
            for line in self.api.command("show table").splitlines()
            if line.startswith("# table:")
        }
        cleared = sorted(existing & (set(proxies) | {self.backend}))
        for table in cleared:
            self.api.action(f"clear table {table}")
        return cleared

    def servers_state(self) -> str:
        return self.api.command("show servers state")
