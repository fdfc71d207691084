"""The promotion decision's arbiter (issue 20): epochs claimed atomically on the shared JENKINS_HOME.

Two HAProxy in front of the same masters have no majority between them (two nodes), and a partition
between them leaves each one thinking the other is gone. What both still share is the one thing two
active masters would corrupt: JENKINS_HOME. So the decision is arbitrated there, through each
master's home check (it runs with the home mounted): a promoter claims epoch E+1 for a master
before it reloads it, and only one claim of an epoch can ever succeed, because the claim is a hard
link of a fully written file to the epoch's name, which the NFS server creates only if the name
does not exist yet (LINK: EEXIST otherwise), whichever master's client asks. Once the claimed master
is reloaded, its promoter marks the epoch ready; a promoter that finds a newer epoch than its own
stops serving its master.

One request line, one answer line, on the lease port:

    read                       -> decision <epoch> <master> <claimed|ready> <renewals>  (decision 0 - none 0)
    claim <epoch> <master>     -> ok <epoch> <master> claimed 0 | taken <epoch> <master> <state> <renewals>
    renew <epoch> <master> <n> -> ok ... | taken ...   (a claimer still reloading: n counts up)
    ready <epoch> <master>     -> ok <epoch> <master> ready <n> | taken ...

`claim` succeeds only for the epoch after the newest; `renew` and `ready` only for the newest epoch's
master. Another promoter takes a claim whose renewals stop changing for long as abandoned (its
promoter died or froze) and claims the next epoch.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import socketserver
import threading
from dataclasses import dataclass

from labgen.model.names import DECISION_DIR

EPOCH_WIDTH = 10
_EPOCH = re.compile(rf"^\d{{{EPOCH_WIDTH}}}$")
_MASTER = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
READY_SUFFIX = ".ready"
RENEW_SUFFIX = ".renew"


@dataclass(frozen=True)
class Decision:
    epoch: int
    master: str
    state: str  # claimed, ready; none for epoch 0
    renewals: int = 0

    def words(self) -> str:
        return f"{self.epoch} {self.master} {self.state} {self.renewals}"


NONE = Decision(0, "-", "none")


class Lease:
    """The decisions on `home` (its DECISION_DIR folder)."""

    def __init__(self, home: str) -> None:
        self.folder = os.path.join(home, DECISION_DIR)
        self._lock = threading.Lock()  # one request at a time in this agent (the home arbitrates between agents)

    def _name(self, epoch: int) -> str:
        return os.path.join(self.folder, f"{epoch:0{EPOCH_WIDTH}d}")

    def newest(self) -> Decision:
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return NONE
        epochs = sorted((int(n) for n in names if _EPOCH.match(n)), reverse=True)
        for epoch in epochs:
            try:
                with open(self._name(epoch), encoding="ascii") as handle:
                    master = handle.read().strip()
            except (FileNotFoundError, UnicodeDecodeError):
                continue
            if not _MASTER.match(master):
                continue
            state = "ready" if os.path.exists(self._name(epoch) + READY_SUFFIX) else "claimed"
            return Decision(epoch, master, state, self._renewals(epoch))
        return NONE

    def _renewals(self, epoch: int) -> int:
        try:
            with open(self._name(epoch) + RENEW_SUFFIX, encoding="ascii") as handle:
                text = handle.read().strip()
        except (FileNotFoundError, UnicodeDecodeError):
            return 0
        return int(text) if text.isdigit() else 0

    def renew(self, epoch: int, master: str, count: int) -> tuple[bool, Decision]:
        with self._lock:
            newest = self.newest()
            if (newest.epoch, newest.master) != (epoch, master):
                return False, newest
            with open(self._name(epoch) + RENEW_SUFFIX, "w", encoding="ascii") as handle:
                handle.write(f"{count}\n")
            return True, Decision(epoch, master, newest.state, count)

    def claim(self, epoch: int, master: str) -> tuple[bool, Decision]:
        with self._lock:
            newest = self.newest()
            if epoch != newest.epoch + 1:
                return False, newest
            os.makedirs(self.folder, exist_ok=True)
            temporary = os.path.join(self.folder, f".claim-{socket.gethostname()}-{os.getpid()}-{epoch}")
            with open(temporary, "w", encoding="ascii") as handle:
                handle.write(master + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, self._name(epoch))  # atomic on the server: fails if the epoch exists
            except FileExistsError:
                return False, self.newest()
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            return True, Decision(epoch, master, "claimed")

    def ready(self, epoch: int, master: str) -> tuple[bool, Decision]:
        with self._lock:
            newest = self.newest()
            if (newest.epoch, newest.master) != (epoch, master):
                return False, newest
            with open(self._name(epoch) + READY_SUFFIX, "w", encoding="ascii") as handle:
                handle.write(master + "\n")
            return True, Decision(epoch, master, "ready", newest.renewals)

    def answer(self, line: str) -> str:
        words = line.split()
        try:
            if words == ["read"]:
                return "decision " + self.newest().words()
            if len(words) == 3 and words[0] in ("claim", "ready") and words[1].isdigit() and _MASTER.match(words[2]):
                act = self.claim if words[0] == "claim" else self.ready
                ok, decision = act(int(words[1]), words[2])
                return ("ok " if ok else "taken ") + decision.words()
            renew = len(words) == 4 and words[0] == "renew" and words[1].isdigit() and words[3].isdigit()
            if renew and _MASTER.match(words[2]):
                ok, decision = self.renew(int(words[1]), words[2], int(words[3]))
                return ("ok " if ok else "taken ") + decision.words()
        except OSError as exc:
            return f"error JENKINS_HOME: {exc.strerror or exc}"
        return "error bad request"


class _Handler(socketserver.StreamRequestHandler):
    timeout = 5

    def handle(self) -> None:
        lease: Lease = self.server.lease  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            line = self.rfile.readline(256).decode("ascii", "replace")
            self.wfile.write((lease.answer(line) + "\n").encode())


class LeaseServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], lease: Lease) -> None:
        super().__init__(address, _Handler)
        self.lease = lease
