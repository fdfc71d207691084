"""Two promoters, one decision (issue 20): two HAProxy on the host sharing a `peers` section over
loopback, in front of the same two jenkins-lite masters, each master with its home check (and its
decision arbiter, labgen_homecheck.lease) on a loopback address of its own, all on one JENKINS_HOME.

Throughout each test a split-brain watch (labgen.verify.split_brain) reads both HAProxy's server
states on their runtime sockets every 20 ms: never two masters ready across the pair. Reloads are
counted in the masters' access logs.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from labgen.model import names
from labgen.verify.split_brain import SplitBrainResult, SplitBrainWatch
from labgen.wire.haproxy import ServerState, server_states
from labgen.wire.net import listen_port
from tests.integration.test_promoter_host import (
    MASTERS,
    ROOT,
    HostLab,
    Process,
    Watcher,
    assert_consistent,
    pytestmark,  # noqa: F401 - the same conditions: HAProxy with Lua, jenkins-lite
    request,
    runtime,
    wait_for,
)

HOMECHECK = ROOT / "images" / "jenkins" / "homecheck"
HOSTS = {"jenkins01": "127.0.0.2", "jenkins02": "127.0.0.3"}  # the lease port is the same on each
RELOAD_TIMEOUT_MS = 8_000  # a claim not made ready within it (and the lease) is stale


def stat_reader(lab: HostLab) -> object:
    def read() -> list[ServerState] | None:
        text = runtime(lab.sock, "show stat")
        if "pxname" not in text:
            return None
        rows = list(csv.reader(io.StringIO(text)))
        return server_states("\n".join(",".join(row) for row in rows))

    return read


@dataclass
class Pair:
    tmp: Path
    lease_port: int = field(default_factory=listen_port)
    ports: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {m: (listen_port(), listen_port()) for m in MASTERS}
    )
    agents: list[Process] = field(default_factory=list)
    balancers: dict[str, HostLab] = field(default_factory=dict)

    def build(self, peers_reach_each_other: bool = True) -> Pair:
        ports = {"haproxy1": listen_port(), "haproxy2": listen_port()}
        env = {
            names.LEASE_PORT_ENV: str(self.lease_port),
            "LABGEN_RELOAD_TIMEOUT_MS": str(RELOAD_TIMEOUT_MS),
            "LABGEN_PEER_SYNC_MS": "300",
        }
        for name in ports:
            peers = dict(ports)
            if not peers_reach_each_other:  # the other's peers port is one nobody listens on
                peers = {other: (port if other == name else listen_port()) for other, port in ports.items()}
            self.balancers[name] = HostLab(
                self.tmp / name, ports=self.ports, peer_name=name, peers=peers, hosts=HOSTS, haproxy_env=env
            )
        return self

    @property
    def one(self) -> HostLab:
        return self.balancers["haproxy1"]

    @property
    def two(self) -> HostLab:
        return self.balancers["haproxy2"]

    def start_masters(self) -> None:
        for name in MASTERS:
            self.one.start_master(name)
            self.start_agent(name)

    def start_agent(self, name: str) -> None:
        argv = [sys.executable, "-m", "labgen_homecheck", "serve", "--home", str(self.one.home)]
        argv += ["--bind", HOSTS[name], "--port", str(listen_port()), "--lease-port", str(self.lease_port)]
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{HOMECHECK}:{ROOT}"}
        agent = Process(f"homecheck-{name}", argv, env, self.tmp / f"homecheck-{name}.log").start()
        self.agents.append(agent)
        wait_for(f"{name}'s arbiter", lambda: _lease_answers(HOSTS[name], self.lease_port), timeout=20)

    def reloads(self) -> dict[str, int]:
        logs = {name: (self.one.tmp / f"{name}.log").read_text(errors="replace") for name in MASTERS}
        return {name: text.count('"POST /reload"') for name, text in logs.items()}

    def watch(self) -> SplitBrainWatch:
        readers = {name: stat_reader(lab) for name, lab in self.balancers.items()}
        servers = {m: m for m in MASTERS}
        return SplitBrainWatch(readers, names.HTTP_BACKEND["ha"], servers, interval=0.02, window=0.1)  # type: ignore[arg-type]

    def active(self, lab: HostLab) -> str | None:
        up = [m for m in MASTERS if lab.status(m).startswith("UP")]
        return up[0] if len(up) == 1 else None

    def stop(self) -> None:
        for lab in self.balancers.values():
            lab.stop_all()
        for agent in self.agents:
            agent.stop()


def _lease_answers(host: str, port: int) -> bool:
    import socket

    with socket.create_connection((host, port), timeout=2) as conn:
        conn.sendall(b"read\n")
        return conn.recv(256).startswith(b"decision")


def assert_never_two(result: SplitBrainResult) -> None:
    assert result.readings, "the watch read nothing"
    assert result.ok, [v.describe() for v in result.violations[:5]]


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    both = Pair(tmp_path).build()
    try:
        both.start_masters()
        yield both
    finally:
        both.stop()


@pytest.fixture
def cut_pair(tmp_path: Path) -> Iterator[Pair]:
    """The two HAProxy cannot reach each other's peers port (a partition between the load balancers)."""
    both = Pair(tmp_path).build(peers_reach_each_other=False)
    try:
        both.start_masters()
        yield both
    finally:
        both.stop()


def start_both(pair: Pair) -> None:
    for lab in pair.balancers.values():
        lab.start_haproxy(wait_active=None)
    wait_for(
        "one active master on both",
        lambda: pair.active(pair.one) is not None and pair.active(pair.one) == pair.active(pair.two),
        timeout=30,
    )


@pytest.mark.parametrize("peers", ["synced", "cut"])
def test_started_together_only_one_promotes(request_: pytest.FixtureRequest, peers: str) -> None:
    both: Pair = request_.getfixturevalue("pair" if peers == "synced" else "cut_pair")
    with both.watch() as watch:
        start_both(both)
        time.sleep(1.0)
    assert_never_two(watch.result())
    assert sum(both.reloads().values()) == 1, both.reloads()  # one election, one reload, for both
    active = both.active(both.one)
    lost = [lab for lab in both.balancers.values() if lab.events("promote.lost") or lab.events("adopt")]
    assert len(lost) == 1, "exactly one promoter should have followed the other"
    for lab in both.balancers.values():
        assert request(lab.front).node == active


@pytest.fixture
def request_(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    return request


@pytest.mark.parametrize("peers", ["synced", "cut"])
def test_a_failover_is_one_promotion_for_the_pair(request_: pytest.FixtureRequest, peers: str) -> None:
    both: Pair = request_.getfixturevalue("pair" if peers == "synced" else "cut_pair")
    start_both(both)
    job = f"p-{uuid.uuid4().hex[:8]}"
    both.one.create_job(job)
    before = both.reloads()
    with both.watch() as watch, Watcher(both.one) as through_one, Watcher(both.two) as through_two:
        time.sleep(0.5)
        both.one.masters["jenkins01"].kill()  # returns once it is dead: a write sent before is in flight
        killed_at = time.monotonic()
        wait_for(
            "jenkins02 active on both",
            lambda: both.active(both.one) == "jenkins02" and both.active(both.two) == "jenkins02",
            timeout=30,
        )
        time.sleep(1.0)
    assert_never_two(watch.result())
    after = both.reloads()
    assert after["jenkins02"] - before["jenkins02"] == 1, (before, after)  # one reload for the pair
    for lab, watcher in ((both.one, through_one), (both.two, through_two)):
        assert_consistent(lab, watcher, {job}, killed_at)


def test_a_restarted_haproxy_adopts_the_other_ones_decision(pair: Pair) -> None:
    start_both(pair)
    before = pair.reloads()
    with pair.watch() as watch, Watcher(pair.one) as through_one:
        assert pair.two.haproxy is not None
        pair.two.haproxy.kill()
        pair.two.start_haproxy(wait_active=None)
        event = pair.two.wait_event("adopt", after=0, timeout=15)
        wait_for("jenkins01 active on the restarted one", lambda: pair.active(pair.two) == "jenkins01")
        time.sleep(0.5)
    assert event["name"] == "jenkins01"
    assert pair.reloads() == before, "a master was reloaded"
    assert_never_two(watch.result())
    assert_consistent(pair.one, through_one, set())
    assert request(pair.two.front).node == "jenkins01"


def test_a_soft_reload_of_one_keeps_the_pair_as_it_is(pair: Pair) -> None:
    start_both(pair)
    before = pair.reloads()
    with pair.watch() as watch, Watcher(pair.two) as through_two:
        time.sleep(0.5)
        mark = pair.two.log_mark()
        assert pair.two.haproxy is not None
        pair.two.haproxy.signal(signal.SIGUSR2)
        pair.two.wait_event("adopt", after=mark, timeout=15)
        time.sleep(1.0)
    assert pair.reloads() == before
    assert_never_two(watch.result())
    assert_consistent(pair.two, through_two, set())
    held = [r.held_ms or 0 for r in through_two.replies] + through_two.held
    print(f"\nsoft reload of haproxy2 in a pair: longest held {max(held)} ms")
    assert max(held) < 1000


@pytest.mark.parametrize("peers", ["synced", "cut"])
def test_a_promoter_frozen_mid_promotion_never_makes_a_second_master_ready(
    request_: pytest.FixtureRequest, peers: str
) -> None:
    both: Pair = request_.getfixturevalue("pair" if peers == "synced" else "cut_pair")
    start_both(both)
    winner_of: dict[str, HostLab] = {}
    marks = {name: lab.log_mark() for name, lab in both.balancers.items()}
    with both.watch() as watch:
        both.one.masters["jenkins01"].kill()

        def claimed() -> bool:
            for name, lab in both.balancers.items():
                if any(e.get("answer") == "ok" for e in lab.events("lease.claim", after=marks[name])):
                    winner_of["lab"] = lab
                    return True
            return False

        wait_for("a claim of the next epoch", claimed, timeout=20, interval=0.005)
        frozen = winner_of["lab"]
        assert frozen.haproxy is not None
        signal_tree(frozen, signal.SIGSTOP)  # the master process and its worker, as the cgroup freezer would
        other = both.two if frozen is both.one else both.one
        frozen_at = time.monotonic()
        wait_for("the other promoter takes over", lambda: pair_active(both, other), timeout=40, interval=0.1)
        took = time.monotonic() - frozen_at
        time.sleep(1.0)
        signal_tree(frozen, signal.SIGCONT)
        wait_for("the thawed one follows", lambda: both.active(frozen) == both.active(other), timeout=20)
        time.sleep(1.0)
    print(f"\nfrozen mid-promotion: the other took over after {took:.1f} s")
    assert_never_two(watch.result())
    assert frozen.events("promote.lost") or frozen.events("decision.superseded")
    assert request(frozen.front).node == request(other.front).node == "jenkins02"


def signal_tree(lab: HostLab, signum: int) -> None:
    """The HAProxy this test started (its master process) and its workers (the master's children)."""
    assert lab.haproxy is not None and lab.haproxy.proc is not None
    pid = lab.haproxy.proc.pid
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    for target in (pid, *children):
        os.kill(target, signum)


def pair_active(both: Pair, lab: HostLab) -> bool:
    return both.active(lab) == "jenkins02"
