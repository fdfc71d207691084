"""The lab's layout: every name derived from a spec, spelled once.

Services, HAProxy proxies and servers, image tags, Docker labels, networks, volumes, URLs and
the NFS server's run options all come from here. Templates, the build, the running lab, chaos
and verify read them; nobody else spells them (tests/unit/model/test_names.py checks).
"""

from __future__ import annotations

import ipaddress
import typing
from dataclasses import dataclass
from pathlib import Path

from labgen.model import names
from labgen.model.names import (
    BASE_IMAGE,
    HAPROXY,
    HAPROXY_AGENT_PORT,
    HAPROXY_HTTP_PORT,
    HAPROXY_STATS_PORT,
    HTTP_BACKEND,
    HTTP_FRONTEND,
    JENKINS_HTTP_PORT,
    JENKINS_IMAGE,
    MASTER_PREFIX,
    NETWORK,
    NFS,
    NFS_PSEUDO_PATH,
    PROMOTER,
    STATS_PATH,
    WRITE_BACKEND,
    Flavour,
    ImageTags,
    NfsClient,
)
from labgen.model.spec import LabSpec


def host_can_mount_nfs(filesystems: Path = Path("/proc/filesystems")) -> bool:
    try:
        text = filesystems.read_text()
    except OSError:
        return False
    return any(line.split()[-1] in ("nfs", "nfs4") for line in text.splitlines() if line.strip())


def client_for(lab: LabSpec) -> NfsClient:
    """How the masters will mount JENKINS_HOME: `auto` becomes kernel or fuse for this host."""
    if lab.nfs.client != "auto":
        return lab.nfs.client
    return "kernel" if host_can_mount_nfs() else "fuse"


@dataclass(frozen=True)
class LoadBalancer:
    """One HAProxy container (with keepalived beside it when there are two)."""

    name: str  # its service: names.load_balancer_names
    address: str  # its fixed IPv4 address on the lab network
    priority: int  # its VRRP priority: the highest holds the VIP


@dataclass(frozen=True)
class Topology:
    """One lab as it runs: the spec, resolved against what was built, and every derived name.

    `lab` carries the HAProxy version actually built (it may differ from the spec's request);
    `flavour` is the Jenkins flavour built; `nfs_client` how the masters mount JENKINS_HOME."""

    lab: LabSpec
    flavour: Flavour = "lite"
    nfs_client: NfsClient = "fuse"

    @classmethod
    def resolve(
        cls,
        spec: LabSpec,
        *,
        haproxy_version: str | None = None,
        flavour: Flavour = "lite",
        nfs_client: str | None = None,
    ) -> Topology:
        """The one place the spec meets what the build produced."""
        lab = spec
        if haproxy_version and haproxy_version != spec.haproxy.version:
            lab = spec.model_copy(update={"haproxy": spec.haproxy.model_copy(update={"version": haproxy_version})})
        client = nfs_client or client_for(spec)
        if client not in ("kernel", "fuse", "local"):
            raise ValueError(f"unknown NFS client {client!r}")
        return cls(lab, flavour, typing.cast(NfsClient, client))

    # ---- names ---------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.lab.name

    @property
    def project(self) -> str:
        """The Compose project name, and the prefix of every container, network and volume."""
        return self.lab.project

    @property
    def masters(self) -> list[str]:
        return self.lab.masters

    @property
    def services(self) -> list[str]:
        """Every service of the lab, in start order."""
        return [NFS, *self.masters, *self.load_balancer_names]

    @property
    def load_balancers(self) -> list[LoadBalancer]:
        """The HAProxy containers: `haproxy` alone, or haproxy1 and haproxy2 sharing the VIP."""
        found = names.load_balancer_names(self.lab.haproxy.replicas)
        hosts, priorities = names.LOAD_BALANCER_HOSTS, names.VRRP_PRIORITIES
        return [LoadBalancer(n, self._host(h), p) for n, h, p in zip(found, hosts, priorities, strict=False)]

    @property
    def load_balancer_names(self) -> list[str]:
        return [lb.name for lb in self.load_balancers]

    @property
    def pair(self) -> bool:
        """Two load balancers sharing a virtual IP (haproxy.replicas 2)."""
        return self.lab.haproxy.replicas > 1

    @property
    def promoter(self) -> str | None:
        """The service that promotes a standby: HAProxy itself (Lua) in the `ha` profile; none in the article's."""
        return PROMOTER if self.lab.profile == "ha" else None

    @property
    def network(self) -> str:
        """The lab network's Docker name."""
        return f"{self.project}_{NETWORK}"

    @property
    def http_backend(self) -> str:
        return HTTP_BACKEND[self.lab.profile]

    @property
    def write_backend(self) -> str:
        """Where the `ha` profile sends requests other than GET/HEAD (the article has one backend)."""
        return WRITE_BACKEND if self.lab.profile == "ha" else self.http_backend

    @property
    def http_frontend(self) -> str:
        return HTTP_FRONTEND[self.lab.profile]

    def http_server(self, master: str) -> str:
        """The master's server name in the HTTP backend: the article calls them jenkins1, jenkins2."""
        if self.lab.profile == "article":
            return f"{MASTER_PREFIX}{self.masters.index(master) + 1}"
        return master

    def master_of_server(self, server: str) -> str | None:
        return next((m for m in self.masters if self.http_server(m) == server), None)

    @property
    def http_servers(self) -> dict[str, str]:
        """HTTP backend server name -> master."""
        return {self.http_server(m): m for m in self.masters}

    # ---- images --------------------------------------------------------------------------------------
    def images(self, tags: ImageTags) -> dict[str, str]:
        """The image each service runs, in the namespace of `tags`; `labgen build` produces exactly these."""
        return {
            BASE_IMAGE: tags.base(),
            HAPROXY: tags.haproxy(self.lab.haproxy.version),
            NFS: tags.nfs,
            JENKINS_IMAGE: tags.jenkins(self.flavour, self.lab.jenkins.version),
        }

    # ---- addresses -----------------------------------------------------------------------------------
    @property
    def subnet(self) -> str:
        """The lab network's IPv4 subnet (the spec's, or derived from the lab's name)."""
        return self.lab.subnet

    @property
    def gateway(self) -> str:
        """The bridge's own address on the lab network (the Docker host)."""
        return self._host(names.GATEWAY_HOST)

    def _host(self, number: int) -> str:
        return str(ipaddress.IPv4Network(self.subnet).network_address + number)

    @property
    def vip(self) -> str | None:
        """The pair's virtual IP on the lab network; None with one HAProxy."""
        if not self.pair:
            return None
        return self.lab.haproxy.vip or self._host(names.VIP_HOST)

    @property
    def addresses(self) -> dict[str, str]:
        """Every service's fixed IPv4 address on the lab network."""
        found = {NFS: self._host(names.NFS_HOST)}
        found.update({m: self._host(h) for m, h in zip(self.masters, names.MASTER_HOSTS, strict=False)})
        found.update({lb.name: lb.address for lb in self.load_balancers})
        return found

    @property
    def master_addresses(self) -> list[str]:
        """The masters' addresses: the only clients the NFS export admits."""
        return [self.addresses[m] for m in self.masters]

    @property
    def front_host(self) -> str:
        """Where the host reaches Jenkins, the stats port and the agent port: the VIP (on the bridge
        itself: Docker's port publishing DNATs to one container and cannot follow a VIP), or the
        published ports' address with one HAProxy."""
        return self.vip or self.published_host

    @property
    def front_ports(self) -> dict[str, int]:
        """http, stats, agent: the container's ports at the VIP, the published ones otherwise."""
        if self.vip:
            return {"http": HAPROXY_HTTP_PORT, "stats": HAPROXY_STATS_PORT, "agent": HAPROXY_AGENT_PORT}
        ports = self.lab.ports
        return {"http": ports.http, "stats": ports.stats, "agent": ports.agent}

    @property
    def published_host(self) -> str:
        """Where the host reaches the published ports (an any-address bind is reached on loopback)."""
        return "127.0.0.1" if self.lab.ports.bind in ("0.0.0.0", "::") else self.lab.ports.bind

    @property
    def url_host(self) -> str:
        host = self.published_host
        return f"[{host}]" if ":" in host else host

    @property
    def urls(self) -> dict[str, str]:
        """Jenkins, the stats page and the agent port as users reach them (the VIP for a pair)."""
        host = self.vip or self.url_host
        ports = self.front_ports
        urls = {
            "jenkins": f"http://{host}:{ports['http']}/",
            "stats": f"http://{host}:{ports['stats']}{STATS_PATH}",
            "agent": f"{host}:{ports['agent']}",
        }
        return urls

    @property
    def nfs_address(self) -> str:
        """The NFS server's fixed address on the lab network."""
        return self.addresses[NFS]

    @property
    def nfs_url(self) -> str:
        return f"nfs://{NFS}{NFS_PSEUDO_PATH}?version=4"

    def master_url(self, master: str) -> str:
        """A master's own URL on the lab network (not through HAProxy)."""
        return f"http://{master}:{JENKINS_HTTP_PORT}/"

    def to_json(self) -> dict[str, object]:
        return {"spec": self.lab.model_dump(mode="json"), "flavour": self.flavour, "nfs_client": self.nfs_client}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Topology:
        flavour, client = data.get("flavour", "lite"), data.get("nfs_client", "fuse")
        if flavour not in ("real", "lite") or client not in ("kernel", "fuse", "local"):
            raise ValueError(f"unknown flavour {flavour!r} or NFS client {client!r}")
        return cls(LabSpec.model_validate(data["spec"]), typing.cast(Flavour, flavour), typing.cast(NfsClient, client))
