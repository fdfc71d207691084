"""The spec's network values: the address ports are published on, the lab network's subnet (the
spec's, or one derived from the lab's name), and where a pair's VIP may be in it.

The checks raise ValueError (pydantic reports it as the field's error) and return the value in its
canonical form.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from labgen.model import names
from labgen.model.grammar import excerpt

SUBNET_PREFIXES = (8, 28)
MAX_ADDRESS_CHARS = 45  # the longest textual IPv6 address
VIP_RULE = "allowed: an address of the lab's subnet"


def check_bind_address(value: str) -> str:
    """An address Docker can publish ports on: an IPv4 or IPv6 address in plain ASCII, no zone, one
    this host could own (not multicast, broadcast or reserved); returned in its canonical form."""
    allowed = "allowed: an IPv4 or IPv6 address of this host (e.g. 127.0.0.1, ::1), or 0.0.0.0 or :: for all"
    if len(value) > MAX_ADDRESS_CHARS or not value.isascii() or not re.fullmatch(r"[0-9A-Fa-f.:]+", value):
        raise ValueError(f"{excerpt(value)} is not an IP address; {allowed}")
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{excerpt(value)} is not an IP address; {allowed}") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ValueError(f"{excerpt(value)} is an IPv4-mapped IPv6 address: give the IPv4 address itself; {allowed}")
    if address.is_multicast:
        raise ValueError(f"{excerpt(value)} is a multicast address, which no port can bind; {allowed}")
    ordinary = address.is_loopback or address.is_unspecified
    if address == ipaddress.IPv4Address("255.255.255.255") or (address.is_reserved and not ordinary):
        raise ValueError(f"{excerpt(value)} is a broadcast or reserved address, which no port can bind; {allowed}")
    if isinstance(address, ipaddress.IPv6Address) and address.is_link_local:
        raise ValueError(f"{excerpt(value)} is an IPv6 link-local address (it needs a zone); {allowed}")
    return str(address)


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address).is_loopback


def check_subnet(value: str) -> str:
    """The lab network: a private IPv4 network in prefix form that Docker can give a bridge."""
    low, high = SUBNET_PREFIXES
    allowed = (
        f"allowed: a private IPv4 network as ADDRESS/PREFIX with a prefix from /{low} to /{high}, e.g. 172.30.213.0/24"
    )
    if len(value) > 18 or not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}", value):
        raise ValueError(f"{excerpt(value)} is not an IPv4 network in prefix form; {allowed}")
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError as exc:
        raise ValueError(f"{excerpt(value)} is not an IPv4 network ({exc}); {allowed}") from None
    if not low <= network.prefixlen <= high:
        raise ValueError(f"{excerpt(value)}: a /{network.prefixlen} network; {allowed}")
    if network.is_loopback or network.is_link_local or network.is_multicast or network.is_reserved:
        raise ValueError(f"{excerpt(value)} is a loopback, link-local, multicast or reserved network; {allowed}")
    if not network.is_private or network.overlaps(ipaddress.IPv4Network("0.0.0.0/8")):
        raise ValueError(f"{excerpt(value)} is not a private network; {allowed}")
    return str(network)


def derived_subnet(lab_name: str) -> str:
    """A /24 of names.DERIVED_SUBNET_BLOCK chosen from the lab's name: the same name always gets the
    same subnet, two names rarely the same one (`labgen up` refuses a subnet another network has)."""
    block = ipaddress.IPv4Network(names.DERIVED_SUBNET_BLOCK)
    count = 2 ** (names.DERIVED_SUBNET_PREFIX - block.prefixlen)
    index = int.from_bytes(hashlib.sha256(lab_name.encode()).digest()[:4], "big") % count
    size = 2 ** (32 - names.DERIVED_SUBNET_PREFIX)
    return str(ipaddress.IPv4Network((int(block.network_address) + index * size, names.DERIVED_SUBNET_PREFIX)))


def check_vip(value: str | None) -> str | None:
    """The pair's virtual IP as written: a dotted IPv4 address (None: names.VIP_HOST of the subnet)."""
    if value is None:
        return value
    if len(value) > 15 or not re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", value):
        raise ValueError(f"{excerpt(value)} is not an IPv4 address; {VIP_RULE}")
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"{excerpt(value)} is not an IPv4 address; {VIP_RULE}") from None


def fixed_hosts(masters: list[str], replicas: int) -> list[tuple[str, int]]:
    """Each service's host number in the subnet (names.*_HOSTS)."""
    balancers = names.load_balancer_names(replicas)
    return [
        (names.NFS, names.NFS_HOST),
        *zip(masters, names.MASTER_HOSTS, strict=False),
        *zip(balancers, names.LOAD_BALANCER_HOSTS, strict=False),
    ]


def check_vip_fits(vip: str, replicas: int, subnet: str, masters: list[str]) -> None:
    """A VIP the spec names: a pair's, inside the subnet, and no service's or the gateway's address."""
    network = ipaddress.IPv4Network(subnet)
    address = ipaddress.IPv4Address(vip)
    if replicas == 1:
        raise ValueError(f"haproxy.vip {address}: only a pair of load balancers has a VIP; set haproxy.replicas: 2")
    if address not in network:
        raise ValueError(f"haproxy.vip {address} is not in the lab's subnet {network}; give an address inside it")
    if address in (network.network_address, network.broadcast_address):
        raise ValueError(f"haproxy.vip {address} is the network or broadcast address of {network}")
    taken = {str(network.network_address + names.GATEWAY_HOST): "the gateway (Docker's)"}
    taken.update({str(network.network_address + h): f"{what}'s address" for what, h in fixed_hosts(masters, replicas)})
    if str(address) in taken:
        raise ValueError(f"haproxy.vip {address} is {taken[str(address)]}; give an address no service has")
