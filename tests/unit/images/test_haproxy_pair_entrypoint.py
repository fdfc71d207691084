"""The HAProxy image's entrypoint as a pair's PID 1 (haproxy.replicas 2), run on the host with a
stand-in keepalived: HAProxy dying alone leaves keepalived running and writes the exit file that
keepalived watches; SIGTERM stops keepalived first, then HAProxy."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from labgen.model import names

ROOT = Path(__file__).resolve().parents[3]
ENTRYPOINT = ROOT / "images" / "haproxy" / "entrypoint.sh"
PYTHON = "/usr/bin/python3"
# stands in for keepalived: says when it got SIGTERM, and exits
KEEPALIVED = """#!/bin/sh
trap 'echo "keepalived TERM $(date +%s.%N)" >>"$LOG"; exit 0' TERM
while :; do sleep 0.05; done
"""
# stands in for HAProxy's master: a process named haproxy (pidof finds it) that leaves on SIGUSR1
HAPROXY = "import signal, sys, time; signal.signal(signal.SIGUSR1, lambda *a: sys.exit(0)); time.sleep(60)"

pytestmark = pytest.mark.skipif(
    shutil.which("pidof") is None or not os.path.exists(PYTHON), reason="needs pidof and /usr/bin/python3"
)


def _until(what: str, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.02)


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], dict[str, Path]]:
    bin_dir, run_dir = tmp_path / "bin", tmp_path / "run"
    bin_dir.mkdir()
    (bin_dir / "keepalived").write_text(KEEPALIVED)
    (bin_dir / "keepalived").chmod(0o755)
    (bin_dir / "haproxy").symlink_to(PYTHON)
    conf = tmp_path / "keepalived.conf"
    conf.write_text("# the stand-in reads nothing\n")
    files = {"state": run_dir / "vrrp-state", "exited": run_dir / "haproxy-exited", "log": tmp_path / "log"}
    args = names.image_buildargs()
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "LOG": str(files["log"]),
        "LABGEN_ENTRYPOINT_LIB": str(ROOT / "images" / "common"),
        "LABGEN_SECRETS_FILE": str(tmp_path / "none"),
        "LABGEN_STATS_USER_VARIABLE": args["STATS_USER_ENV"],
        "LABGEN_STATS_PASSWORD_VARIABLE": args["STATS_PASSWORD_ENV"],
        args["STATS_PASSWORD_ENV"]: "x",
        "LABGEN_KEEPALIVED_CONF": str(conf),
        "LABGEN_VRRP_STATE_FILE": str(files["state"]),
        "LABGEN_HAPROXY_EXIT_FILE": str(files["exited"]),
        "LABGEN_KEEPALIVED_PID_DIR": str(run_dir),
    }
    process = subprocess.Popen(["sh", str(ENTRYPOINT), "haproxy", "-c", HAPROXY, "-db"], env=env)
    _until("HAProxy runs", lambda: files["exited"].exists() and _haproxy_pids(process.pid) != [])
    return process, files


def _haproxy_pids(root: int) -> list[int]:
    """The processes named haproxy that descend from `root` (never another HAProxy of this machine:
    the host sees every container's processes too)."""
    found = subprocess.run(["pidof", "haproxy"], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split() if _descends(int(pid), root)]


def _descends(pid: int, root: int) -> bool:
    while pid > 1:
        if pid == root:
            return True
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])  # the parent's pid
    return False


def test_haproxy_dying_alone_writes_the_exit_file_and_keepalived_stays(tmp_path: Path) -> None:
    process, files = _start(tmp_path)
    try:
        assert files["exited"].read_text().strip() == "0" and files["state"].read_text().strip() == "INIT"
        pids = _haproxy_pids(process.pid)
        assert pids
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        _until("the exit file says 1", lambda: files["exited"].read_text().strip() == "1", timeout=2)
        time.sleep(0.3)
        assert process.poll() is None  # PID 1 and keepalived still run: keepalived gives up the VIP
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sigterm_stops_keepalived_first_then_haproxy(tmp_path: Path) -> None:
    process, files = _start(tmp_path)
    pids = _haproxy_pids(process.pid)
    # another HAProxy of this machine (a lab's, seen from the host): the entrypoint must leave it be
    bystander = subprocess.Popen([str(tmp_path / "bin" / "haproxy"), "-c", HAPROXY])
    try:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "keepalived TERM" in files["log"].read_text()
        assert files["state"].read_text().strip() == "STOPPED"
        _until("HAProxy left on SIGUSR1", lambda: not any(Path(f"/proc/{pid}").exists() for pid in pids), timeout=3)
        assert bystander.poll() is None, "the entrypoint signalled an HAProxy that is not its own"
    finally:
        bystander.kill()
        bystander.wait(timeout=5)
