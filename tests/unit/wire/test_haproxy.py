"""HAProxy's stats CSV, read by column name."""

from __future__ import annotations

from labgen.wire.haproxy import server_states as parse_csv


def test_haproxy_csv_is_read_by_column_name() -> None:
    csv = (
        "# pxname,svname,qcur,scur,status,lastchg,downtime,check_status\n"
        "jenkins,FRONTEND,,0,OPEN,,,\n"
        "jenkins,jenkins01,0,2,UP,12,0,L7OK\n"
        "jenkins,jenkins02,0,0,MAINT,40,3,\n"
        "jenkins,BACKEND,0,2,UP,12,0,\n"
    )
    states = parse_csv(csv)
    assert [(s.server, s.status, s.up, s.sessions) for s in states] == [
        ("jenkins01", "UP", True, 2),
        ("jenkins02", "MAINT", False, 0),
    ]
    assert states[1].downtime_s == 3 and states[0].check_status == "L7OK"
