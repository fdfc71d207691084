"""images/jenkins/homecheck: the agent HAProxy's agent-check, the Docker health check and
`labgen status` ask whether a master's JENKINS_HOME still answers. Run as the real program."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from labgen.generate.render import render_files
from labgen.model.names import HOMECHECK_PORT
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology

ROOT = Path(__file__).resolve().parents[3]
HOMECHECK_DIR = ROOT / "images" / "jenkins" / "homecheck"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HOMECHECK_DIR), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "labgen_homecheck", *args], capture_output=True, text=True, env=env)


def _ask(port: int) -> tuple[str, float]:
    started = time.monotonic()
    result = _run("ask", "--port", str(port))
    assert (result.returncode == 0) == (result.stdout.strip() == "up")
    return result.stdout.strip(), time.monotonic() - started


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    home = tmp_path / "home"
    home.mkdir()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HOMECHECK_DIR), str(ROOT)])}
    process = subprocess.Popen(
        [sys.executable, "-m", "labgen_homecheck", "serve", "--port", str(port), "--home", str(home)],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while _ask(port)[0] != "up":
            assert time.monotonic() < deadline, "the agent never said up on a healthy home"
            time.sleep(0.1)
        yield port, home
    finally:
        process.kill()
        process.wait()


def test_up_on_a_home_that_answers(agent: tuple[int, Path]) -> None:
    port, home = agent
    assert _ask(port)[0] == "up"
    assert any(p.name.startswith(".labgen-homecheck-") for p in home.iterdir())  # it really wrote there


def test_down_when_the_home_is_gone(agent: tuple[int, Path]) -> None:
    port, home = agent
    for child in home.iterdir():
        child.unlink()
    home.rmdir()
    time.sleep(2.5)
    answer, _ = _ask(port)
    assert answer.startswith("down #JENKINS_HOME:")


def test_a_hung_home_is_down_within_the_timeout_and_the_agent_still_answers(agent: tuple[int, Path]) -> None:
    """A FIFO with no reader where the probe writes: open() blocks forever, like a call on dead NFS."""
    port, home = agent
    marker = next(p for p in home.iterdir() if p.name.startswith(".labgen-homecheck-"))
    marker.unlink()
    os.mkfifo(marker)
    time.sleep(3.5)  # the next probe hangs; after 2 s it is down
    answer, seconds = _ask(port)
    assert answer.startswith("down #JENKINS_HOME has not answered for")
    assert seconds < 2.0  # the agent is not stuck with the probe
    with open(marker, "rb", buffering=0):  # a reader: the hung open() returns, the write goes through
        pass
    marker.unlink()
    deadline = time.monotonic() + 10
    while _ask(port)[0] != "up":
        assert time.monotonic() < deadline, "the agent did not come back up once the home answered"
        time.sleep(0.2)


def test_nobody_listening_is_not_up() -> None:
    answer, _ = _ask(_free_port())
    assert answer.startswith("no answer")


def test_the_ha_profile_asks_the_agent_and_the_article_profile_does_not() -> None:
    def cfg(lab: LabSpec) -> str:
        files = render_files(Topology.resolve(lab, haproxy_version=lab.haproxy.version, flavour="lite"))
        return files["haproxy/haproxy.cfg"]

    ha = cfg(LabSpec())
    agent = f"agent-check agent-port {HOMECHECK_PORT} agent-inter 1s"
    assert ha.count(agent) == 2 and f"setenv LABGEN_HOMECHECK_PORT {HOMECHECK_PORT}" in ha
    article = cfg(LabSpec(profile="article"))
    assert "agent-check" not in article and "HOMECHECK" not in article
