"""labgen/lab/doctor.py: the port check tells a lab's own ports from somebody else's."""

from __future__ import annotations

import socket

from labgen.lab import doctor
from labgen.model.spec import LabSpec, PortsSpec
from labgen.wire.net import free_port


def test_ports_free_are_ok() -> None:
    lab = LabSpec(name="unit-doc", ports=PortsSpec(http=free_port(), stats=free_port(), agent=free_port()))
    check = doctor.check_ports(lab)
    assert check.verdict == "ok" and "free on 127.0.0.1" in check.detail


def test_a_port_held_by_something_else_warns_and_names_the_field() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        lab = LabSpec(name="unit-doc", ports=PortsSpec(http=free_port(), stats=port, agent=free_port()))
        check = doctor.check_ports(lab)
    assert check.verdict == "warn"
    assert f"by something else than lab unit-doc: {port} (ports.stats)" in check.detail
    assert "--stats-port" in check.fix
