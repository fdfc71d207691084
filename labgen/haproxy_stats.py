"""Read HAProxy's own view of the masters from its stats page (CSV)."""

from __future__ import annotations

import base64
import csv
import io
import urllib.error
import urllib.request
from dataclasses import dataclass


@dataclass(frozen=True)
class ServerState:
    proxy: str
    server: str
    status: str  # UP, DOWN, MAINT, "UP 1/2", DRAIN, no check ...
    check_status: str
    last_change_s: int
    downtime_s: int
    sessions: int

    @property
    def up(self) -> bool:
        return self.status.startswith("UP") or self.status == "no check"


def parse_csv(text: str) -> list[ServerState]:
    rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
    states = []
    for row in rows:
        if row.get("svname") in ("FRONTEND", "BACKEND", None):
            continue
        states.append(
            ServerState(
                proxy=row["pxname"],
                server=row["svname"],
                status=row.get("status", ""),
                check_status=row.get("check_status", ""),
                last_change_s=int(row.get("lastchg") or 0),
                downtime_s=int(row.get("downtime") or 0),
                sessions=int(row.get("scur") or 0),
            )
        )
    return states


def fetch(host: str, port: int, user: str, password: str, timeout: float = 2.0) -> list[ServerState]:
    """Raises OSError (incl. URLError) when HAProxy does not answer."""
    request = urllib.request.Request(f"http://{host}:{port}/haproxy?stats;csv;norefresh")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return parse_csv(response.read().decode("utf-8", "replace"))


def try_fetch(host: str, port: int, user: str, password: str) -> list[ServerState] | None:
    try:
        return fetch(host, port, user, password)
    except (OSError, urllib.error.HTTPError, ValueError):
        return None
