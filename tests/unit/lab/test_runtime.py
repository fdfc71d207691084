"""lab/runtime without a running lab: refusals before anything starts, and what status reports."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from labgen.errors import EngineMissing, NoSuchLab, NoSuchTarget, PortBusy
from labgen.lab import runtime
from labgen.lab.folder import save_topology
from labgen.lab.runtime import LabStatus, ServiceStatus
from labgen.model.spec import LabSpec, PortsSpec
from labgen.model.topology import Topology
from labgen.wire.haproxy import ServerState
from labgen.wire.net import free_port


def _saved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: LabSpec) -> Topology:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    folder = tmp_path / "labgen" / "labs" / spec.name
    folder.mkdir(parents=True)
    topology = Topology.resolve(spec)
    save_topology(topology, folder)
    return topology


def test_logs_of_an_unknown_service_name_the_services(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _saved(tmp_path, monkeypatch, LabSpec(name="unit-rt"))
    with pytest.raises(NoSuchTarget, match="no service 'web' in lab unit-rt; services: nfs, jenkins01, jenkins02"):
        next(runtime.logs("unit-rt", "web"))


def test_status_of_an_unknown_lab_is_no_such_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    with pytest.raises(NoSuchLab):
        runtime.status("unit-none")


def test_a_published_port_in_use_is_refused_before_compose(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        from labgen.engine import client

        client()
    except EngineMissing:
        pytest.skip("no Docker engine here: the port check first asks it for the lab's HAProxy")
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        topology = Topology.resolve(LabSpec(name="unit-rt-ports", ports=PortsSpec(http=free_port(), stats=port)))
        with pytest.raises(PortBusy) as raised:
            runtime._check_ports_free(topology)
    assert raised.value.message == f"port {port} on 127.0.0.1 (ports.stats) is already in use"
    assert "--stats-port N" in (raised.value.hint or "") and raised.value.exit_code == 3


def test_status_as_json_keeps_its_fields() -> None:
    status = LabStatus(
        name="unit-rt",
        profile="ha",
        flavour="lite",
        haproxy_version="2.6.12",
        services=[ServiceStatus("jenkins01", "labgen-unit-rt-jenkins01-1", "healthy", "img:1", "up")],
        servers=[ServerState("jenkins", "jenkins01", "UP", "L7OK", 3, 0, 1)],
        active="jenkins01",
        urls={"jenkins": "http://127.0.0.1:8080/"},
    )
    data = status.to_json()
    assert list(data) == [
        "lab",
        "profile",
        "jenkins_flavour",
        "haproxy_version",
        "active",
        "services",
        "haproxy_servers",
        "urls",
        "artifacts",
        "vip",
        "vip_holders",
        "load_balancers",
    ]
    assert data["services"][0]["home"] == "up" and data["haproxy_servers"][0]["status"] == "UP"
    assert LabStatus("x", "ha", None, "2.6", [], None, None, {}).to_json()["haproxy_servers"] is None
