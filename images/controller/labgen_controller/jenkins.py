"""The masters' own HTTP API, reached directly (not through HAProxy): probes and reloads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from labgen.wire.http import Response, request_url
from labgen.wire.poll import wait_for

from .settings import Settings

MAX_BODY = 65536  # of an answer, read and dropped


class Jenkins:
    """GET /login (health), POST /reload, GET /api/json (reloaded yet?) on one master."""

    def __init__(self, urls: Mapping[str, str], auth: tuple[str, str], timeout: float) -> None:
        self.urls = urls
        self.auth = auth
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings) -> Jenkins:
        return cls(settings.urls, (settings.admin_user, settings.admin_token), settings.probe_timeout_s)

    def login(self, name: str) -> Response:
        return self._call(name, "GET", "/login", self.timeout, None)

    def reload(self, name: str) -> Response:
        return self._call(name, "POST", "/reload", max(self.timeout, 5.0), self.auth)

    def api(self, name: str) -> Response:
        return self._call(name, "GET", "/api/json?tree=mode", max(self.timeout, 2.0), self.auth)

    def _call(self, name: str, method: str, path: str, timeout: float, auth: tuple[str, str] | None) -> Response:
        return request_url(self.urls[name], method, path, auth=auth, timeout=timeout, max_body=MAX_BODY)


@dataclass(frozen=True)
class ReloadOutcome:
    ok: bool
    seconds: float
    saw_503: bool
    detail: str


class _ReloadWatch:
    """One look at GET /api/json after POST /reload: an outcome once there is one."""

    def __init__(self, poll: Callable[[], Response], saw_503: bool, quiet_s: float) -> None:
        self.poll = poll
        self.saw_503 = saw_503
        self.quiet_s = quiet_s
        self.start = time.monotonic()
        self.last = "no answer yet"

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def check(self) -> ReloadOutcome | None:
        elapsed = self.elapsed()
        result = self.poll()
        self.last = result.describe()
        if result.status == 503:
            self.saw_503 = True
        elif result.status in (401, 403):
            return ReloadOutcome(False, elapsed, self.saw_503, f"GET /api/json: {self.last} (admin credentials?)")
        elif result.ok and (self.saw_503 or elapsed >= self.quiet_s):
            return ReloadOutcome(True, self.elapsed(), self.saw_503, self.last)
        return None


def wait_reloaded(
    poll: Callable[[], Response],
    *,
    saw_503: bool,
    timeout_s: float,
    quiet_s: float,
    stop: threading.Event,
    interval_s: float = 0.1,
) -> ReloadOutcome:
    """Until `poll` answers 200 after a 503, or only 200s for `quiet_s` when no 503 came."""
    watch = _ReloadWatch(poll, saw_503, quiet_s)
    outcome = wait_for(watch.check, timeout_s, interval_s, stop)
    if outcome is not None:
        return outcome
    detail = "stopped" if stop.is_set() else f"not reloaded after {timeout_s:g} s (last: {watch.last})"
    return ReloadOutcome(False, watch.elapsed(), watch.saw_503, detail)


@dataclass(frozen=True)
class Probe:
    """One direct GET /login of a master."""

    ok: bool
    detail: str
    started: float  # time.monotonic() when the probe began


class Prober:
    """One thread per master: GET /login every poll period; the loop reads the latest results."""

    def __init__(
        self, login: Callable[[str], Response], masters: Sequence[str], period_s: float, stop: threading.Event
    ) -> None:
        self.login = login
        self.period_s = period_s
        self.stop = stop
        self.latest: dict[str, Probe] = {}
        self.threads = [
            threading.Thread(target=self._run, args=(name,), name=f"probe-{name}", daemon=True) for name in masters
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def _run(self, name: str) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            result = self.login(name)
            self.latest[name] = Probe(result.ok, result.describe(), started)
            self.stop.wait(max(0.0, self.period_s - (time.monotonic() - started)))

    def snapshot(self) -> dict[str, Probe]:
        """The latest probe of each master probed so far."""
        return dict(self.latest)
