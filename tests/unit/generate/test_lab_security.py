"""Issue 19, classes 9 to 12, as rendered: each service gets only the secrets it uses, as a file
(nothing secret in the container's configuration); HAProxy runs with the few capabilities it
needs; the NFS export admits the lab network only and squashes root; a non-loopback bind warns.
tests/integration/test_lab_security.py checks the same on a running lab."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml

from labgen.cli import run
from labgen.generate.render import COMPOSE_FILE, GANESHA_CONFIG, generate, render_files
from labgen.generate.secrets import ADMIN_PASSWORD, ADMIN_TOKEN, STATS_PASSWORD, parse_secrets
from labgen.model import names
from labgen.model.spec import load_lab
from labgen.model.topology import Topology

HAPROXY_CAPS = {"NET_BIND_SERVICE", "SETUID", "SETGID", "SYS_CHROOT", "KILL"}


@pytest.mark.parametrize("client", ["fuse", "kernel", "local"])
@pytest.mark.parametrize("profile", ["ha", "article"])
def test_each_service_gets_only_its_secrets_as_a_file(tmp_path: Path, client: str, profile: str) -> None:
    generate(Topology.resolve(load_lab(None, {"profile": profile}), nfs_client=client), tmp_path)
    compose = yaml.safe_load((tmp_path / COMPOSE_FILE).read_text())
    for name, service in compose["services"].items():
        assert "env_file" not in service, f"{name}: an env_file puts secrets in docker inspect"
        assert not any("PASSWORD" in k or "TOKEN" in k for k in service.get("environment", {})), name
    files = {name: parse_secrets((tmp_path / spec["file"]).read_text()) for name, spec in compose["secrets"].items()}
    mounted = {name: [s["source"] for s in svc.get("secrets", [])] for name, svc in compose["services"].items()}
    haproxy = {k for source in mounted["haproxy"] for k in files[source]}
    assert STATS_PASSWORD in haproxy and ADMIN_PASSWORD not in haproxy
    for master in (n for n in compose["services"] if n.startswith("jenkins")):
        keys = {k for source in mounted[master] for k in files[source]}
        assert ADMIN_PASSWORD in keys and ADMIN_TOKEN in keys and STATS_PASSWORD not in keys, master
    assert mounted["nfs"] == []
    folder = tmp_path / "secrets"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "secrets.env").stat().st_mode) == 0o600


def test_haproxy_runs_with_few_capabilities() -> None:
    compose = yaml.safe_load(render_files(Topology.resolve(load_lab(None, {})))[COMPOSE_FILE])
    haproxy = compose["services"]["haproxy"]
    assert haproxy["cap_drop"] == ["ALL"] and set(haproxy["cap_add"]) == HAPROXY_CAPS
    assert "no-new-privileges:true" in haproxy["security_opt"]
    assert all("privileged" not in service for service in compose["services"].values())


def test_a_pair_of_load_balancers_adds_only_what_keepalived_needs() -> None:
    topology = Topology.resolve(load_lab(None, {"haproxy.replicas": 2}), nfs_client="fuse")
    compose = yaml.safe_load(render_files(topology)[COMPOSE_FILE])
    for balancer in topology.load_balancer_names:
        service = compose["services"][balancer]
        assert service["cap_drop"] == ["ALL"] and set(service["cap_add"]) == HAPROXY_CAPS | {"NET_ADMIN", "NET_RAW"}
        assert "no-new-privileges:true" in service["security_opt"] and "privileged" not in service
    assert names.HAPROXY not in compose["services"]


@pytest.mark.parametrize("client", ["fuse", "kernel"])
@pytest.mark.parametrize("replicas", [1, 2])
def test_the_export_admits_the_masters_only_and_squashes_root(client: str, replicas: int) -> None:
    lab = load_lab(None, {"network.subnet": "172.30.213.0/24", "haproxy.replicas": replicas, "jenkins.masters": 3})
    topology = Topology.resolve(lab, nfs_client=client)
    text = render_files(topology)[GANESHA_CONFIG]
    assert "Squash = Root_Squash;" in text and "No_Root_Squash" not in text
    export = text[text.index("EXPORT {") :]
    assert "Access_Type = None;" in export
    clients = export.split("CLIENT {", 1)[1].split("}", 1)[0]
    assert "Clients = 172.30.213.11, 172.30.213.12, 172.30.213.13;" in clients
    for balancer in topology.load_balancers:  # HAProxy is on the lab network but may not mount
        assert balancer.address not in clients
    assert "/" not in clients  # no network, only addresses


def test_every_service_has_its_fixed_address_on_the_lab_network() -> None:
    lab = load_lab(None, {"network.subnet": "10.9.8.0/28", "haproxy.replicas": 2, "jenkins.masters": 4})
    topology = Topology.resolve(lab, nfs_client="fuse")
    compose = yaml.safe_load(render_files(topology)[COMPOSE_FILE])
    ipam = compose["networks"][names.NETWORK]["ipam"]["config"][0]
    assert ipam == {"subnet": "10.9.8.0/28", "gateway": "10.9.8.1"}
    seen = {service: spec["networks"][names.NETWORK]["ipv4_address"] for service, spec in compose["services"].items()}
    assert seen == topology.addresses and len(set(seen.values())) == len(seen)
    assert topology.vip == "10.9.8.4" and topology.vip not in seen.values()


@pytest.mark.parametrize(("bind", "warned"), [("127.0.0.1", False), ("::1", False), ("0.0.0.0", True), ("::", True)])
def test_a_bind_beyond_loopback_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], bind: str, warned: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(["generate", "--out", "lab", "--bind", bind]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert ("is not a loopback address" in err) == warned
    if warned:
        assert "stats admin page" in err and "agent port" in err
