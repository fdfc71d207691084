"""hudson.util.DoubleLaunchChecker: notice another Jenkins writing JENKINS_HOME/.owner.

Jenkins 2.190 schedules the first check 60 to 89 whole minutes (random) after the jobs are loaded, then again
60 to 89 minutes after each check. A check reads the mtime of .owner; if this instance wrote it before
(lastWriteTime != 0) and the mtime is not the one it remembered, someone else wrote it: the web app is
replaced by the collision page (HTTP 500 on every URL) until POST /ignore. Either way the check then writes
its own id into .owner and remembers the new mtime (so the other instance notices too). `ignore` is for good:
later checks report nothing. A reload puts the normal web app back (Jenkins.reload ends with setApp(this))
without setting `ignore`. `period` compresses the minute: the delay is period * (60 + random 0..29) / 60.
"""

from __future__ import annotations

import os
import random
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from labgen_lite.home import write_durable


class DoubleLaunchChecker:
    def __init__(self, home: Path, period: float, log: Callable[[str, str], None]) -> None:
        self.path = home / ".owner"
        self.period = period  # seconds that stand for Jenkins' hour
        self.id = f'{random.randrange(2**31)} contextPath="" at {os.getpid()}@{socket.gethostname()}'
        self.last_write = 0  # st_mtime_ns after our last write; 0: none yet (or it failed)
        self.ignored = False
        self.colliding_id: str | None = None  # what the other instance wrote
        self.showing = False  # the collision page is the web app
        self._log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="DoubleLaunchChecker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def next_delay(self) -> float:
        return self.period * (60 + random.randrange(30)) / 60

    def _loop(self) -> None:
        while not self._stop.wait(self.next_delay()):
            self.execute()

    def execute(self) -> None:
        try:
            seen = os.stat(self.path).st_mtime_ns
        except OSError:
            seen = 0
        if seen and self.last_write and seen != self.last_write and not self.ignored:
            try:
                self.colliding_id = self.path.read_text(errors="replace")
            except OSError as error:
                self._log(f"Failed to read collision file: {error}", "SEVERE")
            self.showing = True
            self._log(
                f"Collision detected. timestamp={seen // 1_000_000}, expected={self.last_write // 1_000_000}", "SEVERE"
            )
        try:
            write_durable(self.path, self.id.encode())
            self.last_write = os.stat(self.path).st_mtime_ns
        except OSError:
            self.last_write = 0  # err on the safe side: assume all is well

    def ignore(self) -> None:
        """POST /ignore: back to Jenkins, and no more collision reports."""
        self.ignored = True
        self.showing = False
