"""The probe (bounded in time) and the TCP agent that reports it."""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import threading
import time
from dataclasses import dataclass

from labgen.model.names import HOMECHECK_TIMEOUT_S


@dataclass(frozen=True)
class Verdict:
    up: bool
    why: str

    def line(self) -> bytes:
        """One line of HAProxy's agent-check protocol: `up`, or `down #why` (shown on the stats page)."""
        return b"up\n" if self.up else f"down #{self.why}\n".encode()


class HomeProbe:
    """Probes `home` every `interval` seconds in a thread of its own; the verdict is "down" when the
    last probe failed or when the running one has taken longer than `timeout` (a hung call)."""

    def __init__(self, home: str, *, interval: float = 1.0, timeout: float = HOMECHECK_TIMEOUT_S) -> None:
        self.home = home
        self.interval = interval
        self.timeout = timeout
        self.marker = os.path.join(home, f".labgen-homecheck-{socket.gethostname()}")
        self._lock = threading.Lock()
        self._started: float | None = None  # the running probe's start, None between probes
        self._last: Verdict = Verdict(False, "not probed yet")

    def probe_once(self) -> Verdict:
        """stat, write, read back: what Jenkins does to its home all the time."""
        token = f"{time.time():.6f}\n"
        try:
            os.stat(self.home)
            with open(self.marker, "w", encoding="ascii") as handle:
                handle.write(token)
            with open(self.marker, encoding="ascii") as handle:
                if handle.read() != token:
                    return Verdict(False, "JENKINS_HOME read back something else than was written")
        except OSError as exc:
            return Verdict(False, f"JENKINS_HOME: {exc.strerror or exc}")
        return Verdict(True, "")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._lock:
                self._started = time.monotonic()
            verdict = self.probe_once()  # may hang for as long as the file system does
            with self._lock:
                self._started = None
                self._last = verdict
            stop.wait(self.interval)

    def verdict(self) -> Verdict:
        with self._lock:
            started, last = self._started, self._last
        if started is not None and time.monotonic() - started > self.timeout:
            return Verdict(False, f"JENKINS_HOME has not answered for {time.monotonic() - started:.0f} s")
        return last

    def start(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.run, args=(stop,), name="home-probe", daemon=True).start()
        return stop


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        probe: HomeProbe = self.server.probe  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            self.request.sendall(probe.verdict().line())


class AgentServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], probe: HomeProbe) -> None:
        super().__init__(address, _Handler)
        self.probe = probe


def ask(host: str, port: int, timeout: float = 2.0, line: str | None = None) -> str:
    """The agent's answer, one line (`up`, `down #why`); `no answer: ...` when it does not answer.
    With `line`, that line is sent first (the lease port's requests: `read`, `claim E M`, ...)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            if line is not None:
                conn.sendall(line.encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(256)
                if not chunk:
                    break
                data += chunk
    except OSError as exc:
        return f"no answer: {exc}"
    return data.decode("utf-8", "replace").strip() or "no answer: empty reply"
