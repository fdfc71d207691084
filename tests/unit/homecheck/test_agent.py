"""images/jenkins/homecheck: the agent HAProxy's agent-check, the Docker health check and
`labgen status` ask whether a master's JENKINS_HOME still answers. Run as the real program."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from labgen.errors import SpecError
from labgen.generate.render import render_files
from labgen.model.names import HOMECHECK_PORT, HOMECHECK_TIMEOUT_ENV, HOMECHECK_TIMEOUT_S
from labgen.model.spec import LabSpec, load_lab
from labgen.model.topology import Topology
from labgen.wire.poll import wait_for

ROOT = Path(__file__).resolve().parents[3]
HOMECHECK_DIR = ROOT / "images" / "jenkins" / "homecheck"
PROBE_TIMEOUT_S = 2  # a probe slower than this is down: given as compose.yaml gives jenkins.home_check_timeout_s
PROBE_SETTLES_S = 30.0  # generous: a loaded machine is slow to start the asking process, never wrong


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HOMECHECK_DIR), str(ROOT)])}
    return subprocess.run([sys.executable, "-m", "labgen_homecheck", *args], capture_output=True, text=True, env=env)


def _answer_within(port: int, seconds: float, wanted: Callable[[str], bool]) -> str:
    """Ask the agent until its answer is `wanted` or `seconds` pass; the last answer either way."""
    answers: list[str] = []

    def ask() -> bool:
        answers.append(_ask(port)[0])
        return wanted(answers[-1])

    wait_for(ask, timeout=seconds, interval=0.2)
    return answers[-1]


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
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HOMECHECK_DIR), str(ROOT)]),
        HOMECHECK_TIMEOUT_ENV: str(PROBE_TIMEOUT_S),
    }
    process = subprocess.Popen(
        [
            *[sys.executable, "-m", "labgen_homecheck", "serve", "--port", str(port), "--home", str(home)],
            *["--lease-port", str(_free_port()), "--bind", "127.0.0.1"],
        ],
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        assert _answer_within(port, PROBE_SETTLES_S, lambda answer: answer == "up") == "up", (
            "never up on a healthy home"
        )
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
    answer = _answer_within(port, PROBE_SETTLES_S, lambda answer: answer.startswith("down #JENKINS_HOME:"))
    assert answer.startswith("down #JENKINS_HOME:"), answer


def test_a_hung_home_is_down_once_the_timeout_passed_and_the_agent_still_answers(agent: tuple[int, Path]) -> None:
    """A FIFO with no reader where the probe writes: open() blocks forever, like a call on dead NFS.
    "has not answered for" is only said while a probe hangs, so the agent answering it is the agent
    not being stuck with the probe (no wall-clock bound: a loaded machine may be slow to ask)."""
    port, home = agent
    marker = next(p for p in home.iterdir() if p.name.startswith(".labgen-homecheck-"))
    marker.unlink()
    os.mkfifo(marker)
    hung = "down #JENKINS_HOME has not answered for"
    answer = _answer_within(port, PROBE_SETTLES_S, lambda answer: answer.startswith(hung))
    assert answer.startswith(hung), answer
    seconds = float(answer.removeprefix(hung).split()[0])
    assert seconds >= PROBE_TIMEOUT_S  # down only once the probe's timeout has passed
    assert _ask(port)[0].startswith(hung)  # and it keeps answering while the probe still hangs
    # The probe's next open, its read-back, must find a file, not the FIFO (it would hang on it for good,
    # seen in CI): the FIFO gets a second name, a file takes its place, then the FIFO gets its reader.
    fifo = marker.with_name(marker.name + ".fifo")
    os.link(marker, fifo)
    replacement = marker.with_name(marker.name + ".new")
    replacement.write_text("")
    os.replace(replacement, marker)
    with open(fifo, "rb", buffering=0) as reader:  # the hung open() returns, the write goes through
        reader.read()
    fifo.unlink()
    assert _answer_within(port, PROBE_SETTLES_S, lambda answer: answer == "up") == "up", "did not come back up"


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


def test_the_probe_timeout_is_a_spec_setting() -> None:
    """jenkins.home_check_timeout_s reaches every master's home check (default: nothing to say)."""

    def env(lab: LabSpec) -> list[dict[str, str]]:
        compose = yaml.safe_load(render_files(Topology.resolve(lab))["compose.yaml"])
        return [compose["services"][m]["environment"] for m in lab.masters]

    assert all(HOMECHECK_TIMEOUT_ENV not in e for e in env(LabSpec()))
    assert LabSpec().jenkins.home_check_timeout_s == HOMECHECK_TIMEOUT_S
    slow = load_lab(None, {"jenkins.home_check_timeout_s": 30})
    assert all(e[HOMECHECK_TIMEOUT_ENV] == "30" for e in env(slow))
    for bad in (0, 601, "soon"):
        with pytest.raises(SpecError, match="home_check_timeout_s"):
            load_lab(None, {"jenkins.home_check_timeout_s": bad})
