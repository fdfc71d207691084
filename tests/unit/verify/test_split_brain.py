"""The "never two ready" judge (labgen.verify.split_brain), from readings alone; and where the watch reads."""

from pathlib import Path
from typing import Any

import pytest

from labgen.generate import secrets as secret_keys
from labgen.lab.handle import LabHandle
from labgen.model import names
from labgen.model.spec import load_lab
from labgen.model.topology import Topology
from labgen.verify import split_brain
from labgen.verify.split_brain import Reading, judge, ready_masters
from labgen.wire import http
from labgen.wire.haproxy import server_states

HEADER = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,"
    "status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,"
    "type,rate,rate_lim,rate_max,check_status"
)
ROWS = [
    "jenkins,jenkins01,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5,0,,1,3,1,,0,,2,0,,0,L7OK",
    "jenkins,jenkins02,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT,1,1,0,0,0,5,0,,1,3,2,,0,,2,0,,0,L7OK",
    "jenkins,hold,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,0,1,0,0,5,0,,1,3,3,,0,,2,0,,0,",
    "jenkins_write,jenkins02,0,0,0,0,,0,0,0,,0,,0,0,0,0,UP,1,1,0,0,0,5,0,,1,3,2,,0,,2,0,,0,",
]
CSV = "\n".join([HEADER, *ROWS]) + "\n"
MASTERS = {"jenkins01": "jenkins01", "jenkins02": "jenkins02"}


def test_ready_masters_are_the_up_servers_of_the_http_backend_only() -> None:
    assert ready_masters(server_states(CSV), "jenkins", MASTERS) == ("jenkins01",)


def test_one_master_ready_across_the_pair_is_no_violation() -> None:
    readings = [
        Reading(0.0, "haproxy1", ("jenkins01",)),
        Reading(0.1, "haproxy2", ("jenkins01",)),
        Reading(0.2, "haproxy1", ()),
        Reading(0.3, "haproxy2", ()),
        Reading(0.4, "haproxy1", ("jenkins02",)),
        Reading(0.5, "haproxy2", ("jenkins02",)),
    ]
    assert judge(readings, window=0.25) == []


def test_two_balancers_each_with_another_master_ready_is_a_violation() -> None:
    readings = [Reading(0.0, "haproxy1", ("jenkins01",)), Reading(0.1, "haproxy2", ("jenkins02",))]
    found = judge(readings, window=0.25)
    assert len(found) == 1 and found[0].ready == {"haproxy1": ("jenkins01",), "haproxy2": ("jenkins02",)}
    assert "two masters ready" in found[0].describe()


def test_a_reading_older_than_the_window_does_not_count() -> None:
    # haproxy1 stopped answering (frozen): its last view is stale, not a second ready master
    readings = [Reading(0.0, "haproxy1", ("jenkins01",)), Reading(1.0, "haproxy2", ("jenkins02",))]
    assert judge(readings, window=0.25) == []


def test_one_balancer_with_two_masters_ready_is_a_violation() -> None:
    assert judge([Reading(0.0, "haproxy", ("jenkins01", "jenkins02"))], window=0.25)


@pytest.mark.parametrize("replicas", [1, 2])
def test_each_load_balancer_is_read_at_its_own_address(monkeypatch: pytest.MonkeyPatch, replicas: int) -> None:
    lab = load_lab(None, {"network.subnet": "10.7.8.0/24", "haproxy.replicas": replicas})
    secrets = {secret_keys.STATS_USER: "admin", secret_keys.STATS_PASSWORD: "pw"}
    handle = LabHandle(Topology.resolve(lab), Path("/nonexistent"), secrets)
    asked: list[tuple[str, int | None, tuple[str, str] | None]] = []

    def request(host: str, port: int | None, method: str, path: str, **options: Any) -> http.Response:
        asked.append((host, port, options.get("auth")))
        return http.Response(200, body=CSV.encode())

    monkeypatch.setattr(split_brain.http, "request", request)
    readers = split_brain.readers_for(handle)
    assert list(readers) == handle.topology.load_balancer_names
    readings = [reader() or [] for reader in readers.values()]
    backend = handle.topology.http_backend
    assert [ready_masters(servers, backend, MASTERS) for servers in readings] == [("jenkins01",)] * replicas
    addresses = [lb.address for lb in handle.topology.load_balancers]
    assert asked == [(address, names.HAPROXY_STATS_PORT, ("admin", "pw")) for address in addresses]
