"""HAProxy's own view of its servers: the stats CSV (`show stat`, or the stats page's `;csv`)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

FRONTEND_OR_BACKEND = ("FRONTEND", "BACKEND")


def parse_stat_csv(text: str) -> list[dict[str, str]]:
    """The CSV (header `# pxname,svname,...`) as one dict per row, by header name.

    Raises ValueError when the text is not HAProxy's stats CSV."""
    body = text.lstrip()
    if not body.startswith("# pxname"):
        raise ValueError(f"not HAProxy's stats CSV: {body[:80]!r}")
    return list(csv.DictReader(io.StringIO(body[2:])))


def as_int(raw: str | None) -> int:
    try:
        return int(raw or 0)
    except ValueError:
        return 0


def status_is_up(status: str) -> bool:
    """UP, "UP 1/2" (going down) and "no check" take traffic; DOWN, MAINT, DRAIN do not."""
    return status.startswith("UP") or status == "no check"


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
        return status_is_up(self.status)


def server_states(text: str) -> list[ServerState]:
    """Every server row (frontends and backends left out)."""
    return [
        ServerState(
            proxy=row["pxname"],
            server=row["svname"],
            status=row.get("status") or "",
            check_status=row.get("check_status") or "",
            last_change_s=as_int(row.get("lastchg")),
            downtime_s=as_int(row.get("downtime")),
            sessions=as_int(row.get("scur")),
        )
        for row in parse_stat_csv(text)
        if row.get("svname") not in (*FRONTEND_OR_BACKEND, None)
    ]
