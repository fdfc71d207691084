"""labgen_homecheck's decision arbiter (issue 20): epochs claimed atomically on one JENKINS_HOME,
through two agents (two masters) at once, as the real program on TCP."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from labgen_homecheck import agent

from labgen.model.names import DECISION_DIR
from labgen.wire.poll import wait_for

ROOT = Path(__file__).resolve().parents[3]
HOMECHECK_DIR = ROOT / "images" / "jenkins" / "homecheck"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ask(port: int, line: str) -> str:
    return agent.ask("127.0.0.1", port, timeout=5, line=line)


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[tuple[list[int], Path]]:
    """Two agents (as on two masters) on one home."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HOMECHECK_DIR), str(ROOT)])}
    ports, processes = [], []
    try:
        for _ in range(2):
            lease = _free_port()
            argv = [sys.executable, "-m", "labgen_homecheck", "serve", "--home", str(home), "--bind", "127.0.0.1"]
            argv += ["--port", str(_free_port()), "--lease-port", str(lease)]
            processes.append(subprocess.Popen(argv, env=env, stderr=subprocess.DEVNULL))
            ports.append(lease)
        for port in ports:
            wait_for(functools.partial(_answers, port), timeout=30, interval=0.1)
        yield ports, home
    finally:
        for process in processes:
            process.kill()
            process.wait()


def _answers(port: int) -> bool:
    try:
        return ask(port, "read").startswith("decision")
    except OSError:
        return False


def test_a_fresh_home_has_no_decision(agents: tuple[list[int], Path]) -> None:
    ports, _home = agents
    assert ask(ports[0], "read") == "decision 0 - none 0"


def test_claim_renew_then_ready_seen_through_the_other_master(agents: tuple[list[int], Path]) -> None:
    (one, two), home = agents
    assert ask(one, "claim 1 jenkins01") == "ok 1 jenkins01 claimed 0"
    assert ask(two, "read") == "decision 1 jenkins01 claimed 0"
    assert ask(one, "renew 1 jenkins01 1") == "ok 1 jenkins01 claimed 1"
    assert ask(two, "read") == "decision 1 jenkins01 claimed 1"  # the claimer is alive
    assert ask(two, "renew 1 jenkins02 5") == "taken 1 jenkins01 claimed 1"
    assert ask(two, "ready 1 jenkins02") == "taken 1 jenkins01 claimed 1"  # not its master
    assert ask(two, "ready 1 jenkins01") == "ok 1 jenkins01 ready 1"
    assert ask(one, "read") == "decision 1 jenkins01 ready 1"
    assert ask(one, "claim 1 jenkins02") == "taken 1 jenkins01 ready 1"  # an epoch is claimed once
    assert ask(one, "claim 3 jenkins02") == "taken 1 jenkins01 ready 1"  # only the next one
    assert ask(two, "claim 2 jenkins02") == "ok 2 jenkins02 claimed 0"
    assert ask(one, "ready 1 jenkins01") == "taken 2 jenkins02 claimed 0"  # superseded
    assert ask(one, "renew 1 jenkins01 2") == "taken 2 jenkins02 claimed 0"
    found = sorted(os.listdir(home / DECISION_DIR))
    assert found == ["0000000001", "0000000001.ready", "0000000001.renew", "0000000002"]


def test_of_many_simultaneous_claims_of_an_epoch_exactly_one_wins(agents: tuple[list[int], Path]) -> None:
    ports, _home = agents
    for epoch in range(1, 6):
        answers: list[str] = []
        barrier = threading.Barrier(8)

        def claim(i: int, epoch: int, barrier: threading.Barrier, answers: list[str]) -> None:
            barrier.wait()
            answers.append(ask(ports[i % 2], f"claim {epoch} jenkins0{i % 2 + 1}"))

        threads = [threading.Thread(target=claim, args=(i, epoch, barrier, answers)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        won = [a for a in answers if a.startswith("ok ")]
        assert len(answers) == 8 and len(won) == 1, answers
        winner = won[0].split()[2]
        assert all(a == f"taken {epoch} {winner} claimed 0" for a in answers if a not in won), answers


def test_bad_requests_get_an_error_line(agents: tuple[list[int], Path]) -> None:
    ports, _home = agents
    assert ask(ports[0], "claim x jenkins01") == "error bad request"
    assert ask(ports[0], "claim 1 ../../etc") == "error bad request"
    assert ask(ports[0], "rm -rf") == "error bad request"
    assert ask(ports[0], "renew 1 jenkins01 x") == "error bad request"
