"""Issue 19, class 6: a lab folder is written whole or left as it was, under a lock. An
interrupt (KeyboardInterrupt, SIGINT, SIGTERM) in the middle of the writes, and two `generate`
runs into one folder at once, never leave files of two different labs side by side."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from labgen.generate import render
from labgen.model.spec import load_lab
from labgen.model.topology import Topology

REPO = Path(__file__).resolve().parents[3]


def _topology(masters: int = 2) -> Topology:
    return Topology.resolve(load_lab(None, {"jenkins.masters": masters}), nfs_client="fuse")


def _state(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _masters(folder: Path) -> tuple[int, int]:
    compose = yaml.safe_load((folder / "compose.yaml").read_text())
    in_compose = sum(1 for name in compose["services"] if name.startswith("jenkins"))
    in_haproxy = (folder / "haproxy/haproxy.cfg").read_text().count(":8080 check")
    return in_compose, in_haproxy


@pytest.mark.parametrize("at", [1, 2, 3, 4])
def test_an_interrupt_midway_leaves_the_folder_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, at: int
) -> None:
    render.generate(_topology(2), tmp_path)
    before = _state(tmp_path)
    calls: list[Path] = []
    real_write = render.write_atomic

    def interrupted(path: Path, data: bytes, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == at:
            raise KeyboardInterrupt
        real_write(path, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(render, "write_atomic", interrupted)
    with pytest.raises(KeyboardInterrupt):
        render.generate(_topology(4), tmp_path)
    monkeypatch.setattr(render, "write_atomic", real_write)
    assert _state(tmp_path) == before


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_writes_waits_until_the_folder_is_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int
) -> None:
    seen: list[tuple[int, int]] = []
    old = signal.signal(signum, lambda *_: seen.append(_masters(tmp_path)))
    real_write = render.write_atomic
    calls: list[Path] = []

    def signalled(path: Path, data: bytes, **kwargs: object) -> None:
        calls.append(path)
        if len(calls) == 2:
            os.kill(os.getpid(), signum)  # delivered once the files are written
        real_write(path, data, **kwargs)  # type: ignore[arg-type]

    try:
        render.generate(_topology(2), tmp_path)
        monkeypatch.setattr(render, "write_atomic", signalled)
        render.generate(_topology(3), tmp_path)
    finally:
        signal.signal(signum, old)
    assert seen == [(3, 3)], "the handler ran once, after every file of the 3-master lab was written"


def test_two_generates_into_one_folder_never_mix(tmp_path: Path) -> None:
    out = tmp_path / "lab"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for _ in range(2):
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "labgen", "generate", "--out", str(out), "--masters", str(n)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            for n in (3, 4)
        ]
        for proc in procs:
            assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
        compose, haproxy = _masters(out)
        assert compose == haproxy and compose in (3, 4)


def test_sigterm_during_generate_leaves_a_whole_folder_or_none(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for delay in (0.8, 1.2, 1.6):
        out = tmp_path / f"lab-{delay}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "labgen", "generate", "--out", str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        if out.exists():
            names = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
            assert names == {
                "compose.yaml",
                "haproxy/haproxy.cfg",
                "nfs/ganesha.conf",
                "nfs/seccomp.json",
                "secrets.env",
                "secrets/haproxy.env",
                "secrets/jenkins.env",
            }, names
