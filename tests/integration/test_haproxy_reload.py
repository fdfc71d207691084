"""Issue 20, item 4, on a real lab (one HAProxy, ha profile): `labgen chaos reload haproxy` is a soft
reload (SIGUSR2 to HAProxy's master process), and the new worker adopts the active master from the
decision the old one handed over (peers): no promotion, so no Jenkins reload, and no failed request.
`labgen verify fault haproxy --action reload` measures the same."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labgen.cli import run
from labgen.lab.handle import LabHandle
from labgen.model import names
from labgen.verify.faults import FaultPlan, promotions_since, run_faults
from labgen.verify.split_brain import watch_lab
from labgen.wire import http
from tests.integration.conftest import RunningLab, requires_docker, running_lab

pytestmark = [requires_docker, pytest.mark.integration]
PREFIX = os.environ.get("LABGEN_TEST_LAB_PREFIX", "it")


@pytest.fixture(scope="module")
def lab(state_home: Path) -> Iterator[RunningLab]:
    with running_lab(f"{PREFIX}-hareload") as running:
        yield running


def _reads(lab: RunningLab, stop: threading.Event, statuses: list[int]) -> None:
    auth = (lab.secrets[names.ADMIN_USER_ENV], lab.secrets[names.ADMIN_TOKEN_ENV])
    while not stop.is_set():
        reply = http.request("127.0.0.1", lab.lab.ports.http, "GET", "/api/json", auth=auth, timeout=10)
        statuses.append(reply.status)
        stop.wait(0.02)


def test_chaos_reload_haproxy_keeps_the_active_master(lab: RunningLab) -> None:
    handle = LabHandle.open(lab.name)
    before = handle.promoter_state()
    assert before is not None and before["phase"] == "serving", before
    # the check below can fail: it counts the election at start
    assert (promotions_since(handle, time.time() - 3600) or 0) >= 1
    time.sleep(6)  # HAProxy's peers hand a table over only once their start-up resync is done (5 s)
    since = time.time()
    statuses: list[int] = []
    stop = threading.Event()
    reader = threading.Thread(target=_reads, args=(lab, stop, statuses), daemon=True)
    reader.start()
    watch = watch_lab(handle, interval=0.1, window=0.5)  # the "never two ready" check, on a lab
    watch.__enter__()
    try:
        time.sleep(1)
        assert run(["chaos", "reload", names.HAPROXY, "--lab", lab.name]) == 0
        deadline = time.monotonic() + 15
        after = None
        while time.monotonic() < deadline:
            after = handle.promoter_state()
            if after and after.get("adopted"):
                break
            time.sleep(0.2)
        time.sleep(2)
    finally:
        stop.set()
        reader.join(15)
        watch.__exit__(None, None, None)
    never_two = watch.result()
    assert never_two.readings and never_two.ok, [v.describe() for v in never_two.violations]
    # the active master, or none in the new worker's first milliseconds (before it adopts)
    seen = {r.ready for r in never_two.readings}
    assert (before["active"],) in seen and seen <= {(before["active"],), ()}, seen
    assert after is not None and after["adopted"] == f"{before['active']} epoch {before['epoch']}", after
    assert after["active"] == before["active"] and after["promotions"] == 0
    assert promotions_since(handle, since) == 0, "the new worker promoted (reloaded) a master"
    assert statuses and all(s == 200 for s in statuses), f"{sum(s != 200 for s in statuses)} of {len(statuses)} failed"
    print(f"\nchaos reload haproxy: {len(statuses)} reads, all 200; {after['last']}")


def test_verify_fault_reload_haproxy_passes(lab: RunningLab) -> None:
    result = run_faults(lab.name, [FaultPlan(names.HAPROXY, "reload", hold=5.0)], probe_timeout=10.0)
    trial = result.trials[0]
    print(f"\nverify fault haproxy --action reload: {trial.summary()}")
    assert trial.verdict == "pass", trial.reasons
    assert trial.promotions_during == 0
    assert trial.failed_during == 0 and trial.unknown_during == 0
    assert trial.active_changes == 0 and trial.active_after == trial.active_before


def test_reload_is_refused_on_the_nfs_server(lab: RunningLab) -> None:
    assert run(["chaos", "reload", names.NFS, "--lab", lab.name]) != 0


# Runs inside a master: claims `epoch` for `master` on its own home check's arbiter, 10 times a row
# with the other master doing the same, and prints the answers.
CLAIMS = """
import socket, sys
port, first, master = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for epoch in range(first, first + 10):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"claim {epoch} {master}\\n".encode())
        print(conn.makefile().readline().strip(), flush=True)
"""


def test_the_arbiter_on_the_labs_nfs_lets_exactly_one_claim_of_an_epoch_win(lab: RunningLab) -> None:
    """Both masters claim the same epochs at the same time, each through its own home check on its
    own NFS client: for each epoch, one `ok`, and the other sees the winner."""
    handle = LabHandle.open(lab.name)
    newest = handle.exec_in("jenkins01", ["python3", "-c", READ, str(names.HOMECHECK_LEASE_PORT)])[1].split()
    first = int(newest[1]) + 1
    answers: dict[str, list[str]] = {}

    def claims(master: str) -> None:
        argv = ["python3", "-c", CLAIMS, str(names.HOMECHECK_LEASE_PORT), str(first), master]
        answers[master] = handle.exec_in(master, argv)[1].split("\n")

    threads = [threading.Thread(target=claims, args=(m,)) for m in ("jenkins01", "jenkins02")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    lines = {m: [line for line in answers[m] if line] for m in answers}
    assert all(len(found) == 10 for found in lines.values()), lines
    for one, two in zip(lines["jenkins01"], lines["jenkins02"], strict=True):
        # each epoch: exactly one ok; and what the other was told names the winner or a later epoch
        assert [one.startswith("ok "), two.startswith("ok ")].count(True) <= 1, (one, two)
    won = sum(line.startswith("ok ") for found in lines.values() for line in found)
    final = handle.exec_in("jenkins02", ["python3", "-c", READ, str(names.HOMECHECK_LEASE_PORT)])[1].split()
    print(f"\narbiter on the lab's NFS: {won} claims won of 20, newest epoch {final[1]}")
    assert int(final[1]) == first - 1 + won  # every epoch won once, none twice, no gap


READ = """
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10) as conn:
    conn.sendall(b"read\\n")
    print(conn.makefile().readline().strip())
"""
