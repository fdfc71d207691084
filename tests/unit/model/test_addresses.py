"""The lab network: one subnet per lab (the spec's, or derived from the name), a fixed address per
service, and a pair's load balancers and VIP."""

from __future__ import annotations

import ipaddress

import pytest

from labgen.errors import BadSpecField
from labgen.model import names
from labgen.model.addresses import derived_subnet
from labgen.model.spec import load_lab
from labgen.model.topology import Topology


def test_the_derived_subnet_is_deterministic_private_and_spread() -> None:
    assert derived_subnet("jenkins-ha") == derived_subnet("jenkins-ha")
    block = ipaddress.IPv4Network(names.DERIVED_SUBNET_BLOCK)
    subnets = {derived_subnet(f"lab-{i}") for i in range(200)}
    assert all(ipaddress.IPv4Network(s).subnet_of(block) and ipaddress.IPv4Network(s).is_private for s in subnets)
    assert all(ipaddress.IPv4Network(s).prefixlen == names.DERIVED_SUBNET_PREFIX for s in subnets)
    assert len(subnets) >= 195  # 200 names, 16,384 subnets: a collision is rare


def test_a_spec_subnet_wins_and_every_address_is_inside_it_and_distinct() -> None:
    lab = load_lab(None, {"network.subnet": "192.168.50.0/28", "jenkins.masters": 4, "haproxy.replicas": 2})
    topology = Topology(lab)
    network = ipaddress.IPv4Network("192.168.50.0/28")
    taken = [*topology.addresses.values(), topology.vip, topology.gateway]
    assert len(set(taken)) == len(taken)
    for address in taken:
        ip = ipaddress.IPv4Address(address)
        assert ip in network and ip not in (network.network_address, network.broadcast_address)
    assert topology.gateway == "192.168.50.1"


def test_one_haproxy_has_no_vip_and_keeps_its_name() -> None:
    topology = Topology(load_lab(None, {}))
    assert [lb.name for lb in topology.load_balancers] == [names.HAPROXY] and topology.vip is None
    assert topology.front_host == "127.0.0.1" and topology.front_ports["http"] == 8080
    assert topology.urls["jenkins"] == "http://127.0.0.1:8080/"


def test_a_pair_is_reached_at_its_vip_on_the_containers_ports() -> None:
    topology = Topology(load_lab(None, {"network.subnet": "10.5.6.0/24", "haproxy.replicas": 2}))
    assert [(lb.name, lb.address, lb.priority) for lb in topology.load_balancers] == [
        ("haproxy1", "10.5.6.2", 150),
        ("haproxy2", "10.5.6.3", 100),
    ]
    assert topology.vip == "10.5.6.4" and topology.front_host == "10.5.6.4"
    assert topology.urls["jenkins"] == f"http://10.5.6.4:{names.HAPROXY_HTTP_PORT}/"
    assert topology.urls["agent"] == f"10.5.6.4:{names.HAPROXY_AGENT_PORT}"
    assert topology.services[-2:] == ["haproxy1", "haproxy2"]
    chosen = Topology(
        load_lab(None, {"network.subnet": "10.5.6.0/24", "haproxy.replicas": 2, "haproxy.vip": "10.5.6.200"})
    )
    assert chosen.vip == "10.5.6.200"


def test_the_topology_round_trips_through_lab_json() -> None:
    topology = Topology(load_lab(None, {"name": "pair-x", "haproxy.replicas": 2}))
    again = Topology.from_json(topology.to_json())
    assert again.load_balancers == topology.load_balancers and again.vip == topology.vip
    assert again.subnet == derived_subnet("pair-x")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"haproxy.replicas": 0}, "greater than or equal to 1"),
        ({"haproxy.replicas": "2"}, "must be an int"),
        ({"haproxy.replicas": 2, "profile": "article"}, "only the ha profile reads"),
        ({"haproxy.replicas": 2, "haproxy.vip": "10.1.2.3.4"}, "is not an IPv4 address"),
        ({"haproxy.replicas": 2, "haproxy.vip": "::1"}, "is not an IPv4 address"),
        ({"haproxy.replicas": 2, "network.subnet": "10.1.2.0/24", "haproxy.vip": "10.1.2.2"}, "haproxy1's address"),
        ({"haproxy.replicas": 2, "network.subnet": "10.1.2.0/24", "haproxy.vip": "10.1.2.10"}, "nfs's address"),
        ({"haproxy.replicas": 2, "network.subnet": "10.1.2.0/24", "haproxy.vip": "10.1.2.0"}, "network or broadcast"),
        ({"network.subnet": "10.1.2.0/29"}, "a /29 network"),
    ],
)
def test_bad_addresses_are_refused_with_one_message(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(BadSpecField) as info:
        load_lab(None, overrides)
    assert message in " ".join(info.value.message.split())
