"""One freestyle build as Jenkins 2.190 runs it on the built-in node: its shell steps, its log, its result.

The log (builds/N/log) is appended to as the build goes, so consoleText shows it while it runs; build.xml is
written once, at the end (Run.execute). Shell steps run as hudson.tasks.Shell does: the command in a temporary
`jenkins*.sh` under the system temp dir, run as `/bin/sh -xe <script>` (or the `#!` line's interpreter) in the
job's workspace, with the build's environment.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from labgen_lite.jobs import Build

SCRIPT_PREFIX = "jenkins"  # CommandInterpreter's temporary script: jenkins<random>.sh in java.io.tmpdir
KILL_AFTER_SECONDS = 2.0  # an aborted step gets SIGTERM, then SIGKILL this much later


@dataclass(frozen=True)
class BuildPlan:
    """What a build needs to run, taken under the app's lock when it starts."""

    job: str
    build: Build
    steps: tuple[str, ...]
    directory: Path  # builds/N
    workspace: Path
    env: Mapping[str, str]
    shell: str


class Execution:
    """A running build: run() on the executor's thread, abort() from a request (POST .../stop)."""

    def __init__(self, plan: BuildPlan) -> None:
        self.plan = plan
        self.aborted = False
        self.aborted_by: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def abort(self, user: str | None) -> None:
        """Executor.interrupt(ABORTED): the running step's process group is killed."""
        with self._lock:
            if self.aborted:
                return
            self.aborted, self.aborted_by = True, user
            process = self._process
        if process is not None:
            _signal_group(process, signal.SIGTERM)
            timer = threading.Timer(KILL_AFTER_SECONDS, _signal_group, (process, signal.SIGKILL))
            timer.daemon = True
            timer.start()

    def run(self) -> str:
        """Run every step; return the result. The caller writes build.xml and updates the build in memory."""
        plan = self.plan
        with open(plan.directory / "log", "ab", buffering=0) as log:
            causes = f"Started by user {plan.build.user}\n" if plan.build.user else ""
            log.write(f"{causes}Running as SYSTEM\nBuilding in workspace {plan.workspace}\n".encode())
            result = self._steps(log)
            if self.aborted:
                result = "ABORTED"
                log.write(b"Build was aborted\n")
                if self.aborted_by:
                    log.write(f"Aborted by {self.aborted_by}\n".encode())
            log.write(f"Finished: {result}\n".encode())
        return result

    def _steps(self, log: object) -> str:
        plan = self.plan
        plan.workspace.mkdir(parents=True, exist_ok=True)
        fileno = log.fileno()  # type: ignore[attr-defined]
        for command in plan.steps:
            if self.aborted:
                return "ABORTED"
            code = self._shell(command, fileno)
            if code != 0 and not self.aborted:
                os.write(fileno, b"Build step 'Execute shell' marked build as failure\n")
                return "FAILURE"
        return "SUCCESS"

    def _shell(self, command: str, log_fd: int) -> int:
        plan = self.plan
        contents = command if command.startswith("#!") or command.startswith("\n") else "\n" + command
        fd, script = tempfile.mkstemp(prefix=SCRIPT_PREFIX, suffix=".sh")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(contents.replace("\r\n", "\n"))
            if command.startswith("#!"):
                argv = [*shlex.split(command.splitlines()[0][2:]), script]
            else:
                argv = [plan.shell, "-xe", script]
            os.write(log_fd, f"[{plan.workspace.name}] $ {' '.join(argv)}\n".encode())
            with self._lock:
                if self.aborted:
                    return -1
                self._process = subprocess.Popen(
                    argv,
                    cwd=plan.workspace,
                    env=dict(plan.env),
                    stdin=subprocess.DEVNULL,
                    stdout=log_fd,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, so that stop kills what it started
                )
            code = self._process.wait()
            with self._lock:
                self._process = None
            return code
        except OSError as error:
            os.write(log_fd, f"java.io.IOException: {error}\n".encode())
            return -1
        finally:
            with contextlib.suppress(OSError):
                os.unlink(script)


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(process.pid, signum)
