"""The loop: looks (state file, HAProxy, probes), asks `decisions`, and does what it says."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Set as AbstractSet
from typing import Protocol

from labgen.wire.files import write_atomic
from labgen.wire.http import Response
from labgen.wire.poll import wait_for

from .decisions import Action, Decider, Emit, Observation, Report, SaveActive, SetStates, Switch, plan_promote
from .events import ErrorLog, emit
from .haproxy import HAProxy, HAProxyError, HAProxyView, RuntimeAPI
from .jenkins import Jenkins, Prober, ReloadOutcome, wait_reloaded
from .settings import Settings
from .state import read_active, state_lock, write_active


class HAProxyPort(Protocol):
    """What the loop needs from HAProxy (`haproxy.HAProxy`; a fake in the unit tests)."""

    def view(self) -> HAProxyView: ...

    def set_state(self, server: str, state: str) -> None: ...

    def clear_tables(self, proxies: AbstractSet[str]) -> list[str]: ...

    def servers_state(self) -> str: ...


class JenkinsPort(Protocol):
    """What the loop needs from the masters (`jenkins.Jenkins`; a fake in the unit tests)."""

    def login(self, name: str) -> Response: ...

    def reload(self, name: str) -> Response: ...

    def api(self, name: str) -> Response: ...


class Controller:
    def __init__(
        self,
        settings: Settings,
        stop: threading.Event,
        *,
        haproxy: HAProxyPort | None = None,
        jenkins: JenkinsPort | None = None,
    ) -> None:
        self.s = settings
        self.stop = stop
        if haproxy is None:
            haproxy = HAProxy(RuntimeAPI(settings.haproxy), settings.backend, settings.masters)
        self.haproxy: HAProxyPort = haproxy
        self.jenkins: JenkinsPort = Jenkins.from_settings(settings) if jenkins is None else jenkins
        self.error = ErrorLog()
        self.prober = Prober(self.jenkins.login, settings.masters, settings.poll_s, stop)
        self.decider = Decider(
            settings.masters,
            elect_grace_s=settings.elect_grace_s,
            retry_s=max(1.0, settings.poll_s),
            now=time.monotonic(),
        )

    # ---- daemon

    def run(self) -> None:
        self.prober.start()
        while not self.stop.is_set():
            try:
                with state_lock(self.s.state_file, 0.0) as locked:
                    if locked:
                        self.poll()
            except Exception as error:  # the loop must survive anything
                self.error("loop", f"{type(error).__name__}: {error}")
            self.stop.wait(self.s.poll_s / 4 if self.decider.suspect else self.s.poll_s)

    def poll(self) -> None:
        recorded = self.read_state_file()
        seen = Observation(time.monotonic(), self.read_view(), recorded, self.prober.snapshot())
        for action in self.decider.poll(seen, self.jenkins.login):
            self.execute(action)

    def read_state_file(self) -> str | None:
        try:
            return read_active(self.s.state_file)
        except ValueError as error:
            self.error("state-file", error)
            return None

    def read_view(self) -> HAProxyView | None:
        try:
            return self.haproxy.view()
        except HAProxyError as error:
            self.error("runtime-api", error)
            return None

    def execute(self, action: Action) -> None:
        match action:
            case Emit(event=event, fields=fields):
                emit(event, **fields)
            case Report(what=what, detail=detail, fields=fields):
                self.error(what, detail, **fields)
            case SaveActive(name=name, previous=previous, how=how):
                self.save_active(name, previous, how)
            case SetStates():
                self.set_states(action)
            case Switch():
                if not self.switch(action):
                    self.decider.switch_failed(time.monotonic())

    def set_states(self, action: SetStates) -> None:
        """Correct HAProxy; a correction also clears the stick tables."""
        changes = dict(action.changes)
        try:
            for name, state in action.in_order():
                self.haproxy.set_state(name, state)
            cleared = self.haproxy.clear_tables(action.proxies)
        except HAProxyError as error:
            self.error("assert", error, wanted=changes)
            return
        emit("state.assert", set=changes, active=action.active, cleared=cleared)
        self.save_servers_state()

    # ---- failover (also the one-shot promote)

    def switch(self, plan: Switch) -> bool:
        """Rule 2: old (and every other standby) out, reload new, clear tables, new in."""
        old, new, reason = plan.old, plan.new, plan.reason
        started = time.monotonic() if plan.started is None else plan.started
        emit("failover.start", **{"from": old, "to": new, "reason": reason})
        try:
            for name in self.s.masters:
                if name != new:
                    self.haproxy.set_state(name, "maint")
            self.haproxy.set_state(new, "maint")
        except HAProxyError as error:
            return self.abort(plan, f"maint: {error}")
        outcome = self.reload(new)
        if not outcome.ok:
            return self.abort(plan, f"reload: {outcome.detail}")
        try:
            tables = self.haproxy.clear_tables(self.haproxy.view().proxies)
            self.haproxy.set_state(new, "ready")
        except HAProxyError as error:
            return self.abort(plan, f"ready: {error}")
        ready_at = time.monotonic()
        self.wait_up(new)
        self.decider.switched(old, new, ready_at=ready_at, now=time.monotonic())
        self.save_active(new, old, reason)
        self.save_servers_state()
        seconds = round(time.monotonic() - started, 3)
        emit("failover.done", **{"from": old, "to": new, "reason": reason, "seconds": seconds, "tables": tables})
        return True

    def reload(self, name: str) -> ReloadOutcome:
        sent = self.jenkins.reload(name)
        emit("reload.sent", name=name, status=sent.status if sent.answered else None)
        if not sent.answered or (sent.status >= 400 and sent.status != 503):
            return ReloadOutcome(False, 0.0, False, f"POST /reload: {sent.describe()}")
        outcome = wait_reloaded(
            lambda: self.jenkins.api(name),
            saw_503=sent.status == 503,
            timeout_s=self.s.reload_timeout_s,
            quiet_s=self.s.reload_quiet_s,
            stop=self.stop,
        )
        if outcome.ok:
            emit("reload.done", name=name, seconds=round(outcome.seconds, 3), saw_503=outcome.saw_503)
        return outcome

    def abort(self, plan: Switch, detail: str) -> bool:
        """A failed switch: the candidate stays a standby, the old active is put back."""
        self.error("failover", detail, **{"from": plan.old, "to": plan.new})
        with contextlib.suppress(HAProxyError):
            self.haproxy.set_state(plan.new, "maint")
            if plan.old is not None:
                self.haproxy.set_state(plan.old, "ready")
        return False

    def wait_up(self, name: str) -> None:
        """HAProxy may keep a server DOWN until its next check: do not mistake that for a failure."""
        if wait_for(lambda: self.reports_up(name), self.s.up_timeout_s, 0.05, self.stop) is None:
            self.error("failover", f"HAProxy does not report {name} UP after {self.s.up_timeout_s:g} s")

    def reports_up(self, name: str) -> bool:
        view = self.read_view()
        return view is not None and view.servers[name].up

    def save_active(self, name: str, previous: str | None, how: str) -> None:
        try:
            write_active(self.s.state_file, name, previous, how)
        except OSError as error:
            self.error("state-file", error)

    def save_servers_state(self) -> None:
        """For HAProxy's `server-state-file`: a restarted HAProxy then starts with the standbys in maint."""
        if self.s.server_state_file is None:
            return
        try:
            write_atomic(self.s.server_state_file, self.haproxy.servers_state().encode())
        except (OSError, HAProxyError) as error:
            self.error("server-state-file", error)

    # ---- manual switchover

    def promote(self, target: str) -> bool:
        with state_lock(self.s.state_file, self.s.reload_timeout_s + 30, self.stop) as locked:
            if not locked:
                self.error("promote", "the state file lock is held by someone else")
                return False
            try:
                recorded = read_active(self.s.state_file)
                view = self.haproxy.view()
            except (ValueError, HAProxyError) as error:
                self.error("promote", error)
                return False
            plan = plan_promote(self.s.masters, target, recorded, view, self.jenkins.login)
            if plan is None:
                print(f"{target} is already the active master: nothing to do", file=sys.stderr)
                return True
            if isinstance(plan, Report):
                self.execute(plan)
                return False
            return self.switch(plan)
