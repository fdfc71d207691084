"""Issue 20: two HAProxy sharing a VIP (haproxy.replicas 2). One lab for every fault here: the
VIP's holder killed and paused, and the two load balancers cut off from each other (both hold
the VIP while they cannot hear each other; one again once they can). Every container, network,
address and route is the lab's own, removed with it (`labgen down --volumes`), also on failure.

Each holds the VIP's part (it moves, and what clients lose while it moves) and the promoters'
part: the two HAProxy share one promotion decision (arbitrated on the home), so verify's whole
verdict passes (consistent, no write lost) and its "never two ready" check, which reads both
HAProxy's servers through the trial, never saw two masters ready at once."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from labgen import chaos
from labgen.lab import runtime
from labgen.lab.handle import LabHandle
from labgen.model import names
from labgen.verify.faults import FaultPlan, run_faults
from labgen.verify.model import FaultTrial
from labgen.wire import http
from tests.integration.conftest import RunningLab, requires_docker, running_lab

pytestmark = [requires_docker, pytest.mark.integration]
PREFIX = os.environ.get("LABGEN_TEST_LAB_PREFIX", "it")  # labs of parallel runs on one machine must differ
HOLD_S = 3.0
RATE = 20.0


@pytest.fixture(scope="module")
def lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"lb-{PREFIX}-pair", "--set", "haproxy.replicas=2") as running:
        yield running


def _until(what: str, check: Callable[[], bool], handle: LabHandle, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        # say what each load balancer saw, so that a failure here tells why
        assert time.monotonic() < deadline, f"not within {timeout:.0f} s: {what}; {handle.balancer_views()}"
        time.sleep(0.2)


def _passed_and_never_two_ready(trial: FaultTrial) -> None:
    assert trial.verdict == "pass", trial.summary()
    assert trial.trial is not None and trial.trial.ready_readings > 20, "the never-two-ready check did not run"
    assert trial.trial.two_ready_moments == 0, trial.trial.two_ready


def _one_holder(handle: LabHandle) -> str:
    _until("exactly one load balancer holds the VIP", lambda: len(handle.vip_holders()) == 1, handle)
    return handle.vip_holders()[0]


def test_the_pair_serves_at_its_vip_and_status_says_who_holds_it(lab: RunningLab) -> None:
    handle = LabHandle.open(lab.name)
    topology = handle.topology
    assert topology.vip is not None and topology.urls["jenkins"].startswith(f"http://{topology.vip}:")
    holder = _one_holder(handle)
    status = runtime.status(lab.name).to_json()
    assert status["vip"] == topology.vip and status["vip_holders"] == [holder]
    views = {view["name"]: view for view in status["load_balancers"]}
    assert set(views) == {"haproxy1", "haproxy2"}
    assert views[holder]["vrrp"] == "MASTER" and views[holder]["holds_vip"]
    other = next(name for name in views if name != holder)
    assert views[other]["vrrp"] == "BACKUP" and not views[other]["holds_vip"]
    # the host reaches the VIP on the bridge, with the containers' own ports
    reply = http.request(topology.vip, names.HAPROXY_HTTP_PORT, "GET", names.LOGIN_PATH, timeout=5)
    assert reply.status == 200


@pytest.mark.parametrize("action", ["kill", "pause"])
def test_a_fault_of_the_vip_holder_moves_the_vip_and_loses_nothing(lab: RunningLab, action: str) -> None:
    handle = LabHandle.open(lab.name)
    holder = _one_holder(handle)
    result = run_faults(lab.name, [FaultPlan(names.HAPROXY, action, hold=HOLD_S, rate=RATE)])
    trial = result.trials[0]
    _passed_and_never_two_ready(trial)
    assert trial.service == holder and trial.role == "HAProxy holding the VIP"
    assert trial.ok_during > 0, trial.summary()  # the other one served while the holder was down
    if action == "kill":
        # only a request in flight on the killed balancer may fail
        assert trial.failed_during + trial.unknown_during <= 1, trial.summary()
    else:
        # a frozen holder still has the VIP and accepts connections: its requests wait for the thaw
        assert trial.failed_during == 0, trial.summary()
    new = _one_holder(handle)
    assert new != holder or action == "pause", f"the VIP stayed on the {action}ed {holder}"


def test_the_two_cut_off_from_each_other_both_hold_the_vip_then_one_again(lab: RunningLab) -> None:
    handle = LabHandle.open(lab.name)
    holder = _one_holder(handle)
    chaos.apply(handle, "split", holder)
    try:
        _until("both hold the VIP while they cannot hear each other", lambda: len(handle.vip_holders()) == 2, handle)
    finally:
        chaos.apply(handle, "join", holder)
    _one_holder(handle)
    reply = http.request(handle.topology.front_host, names.HAPROXY_HTTP_PORT, "GET", names.LOGIN_PATH, timeout=5)
    assert reply.status == 200
    # and verify measures it like any other fault: nothing refused while both hold the VIP. The
    # second holder's gratuitous ARP moves the host's neighbour entry for the VIP to it, so a request
    # in flight on the first one at that moment is reset (as on a real network): at most that one.
    result = run_faults(lab.name, [FaultPlan(names.HAPROXY, "split", hold=HOLD_S, rate=RATE)])
    trial = result.trials[0]
    _passed_and_never_two_ready(trial)
    assert trial.failed_during + trial.unknown_during <= 1 and trial.ok_during > 0, trial.summary()
