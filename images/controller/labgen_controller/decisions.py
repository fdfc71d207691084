"""What the controller decides, apart from how it looks and acts: rules 1 to 3 of the package docstring.

Every poll the loop (`labgen_controller.controller`) gathers an `Observation` (the time, HAProxy's
view of the masters, the active recorded in the state file, the latest direct probes) and executes,
in order, the actions `Decider.poll` yields: `Emit` an event, `Report` an error, `SaveActive` in the
state file, `SetStates` in HAProxy, `Switch` to another master (reload it, then route to it).
Nothing here reads a clock, opens a socket or writes a file. The one call out is `login`, the direct
``GET /login`` of a standby, made only when a failover is due, and lazily: `poll` is a generator, so
the loop has executed every earlier action (the standbys are back in maint) before a standby is probed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from labgen.wire.http import Response

from .haproxy import HAProxyView, ServerView
from .jenkins import Probe

Login = Callable[[str], Response]  # GET /login on one master, directly

# --------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Emit:
    """Write the event line `event` with `fields`."""

    event: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """An `error` event (the loop leaves out repeats)."""

    what: str
    detail: str
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SaveActive:
    """Record `name` as the active in the state file."""

    name: str
    previous: str | None
    how: str


@dataclass(frozen=True)
class SetStates:
    """Correct HAProxy's admin states (`changes`: server -> "ready" or "maint"), then clear the stick tables."""

    changes: Mapping[str, str]
    active: str
    proxies: frozenset[str]

    def in_order(self) -> list[tuple[str, str]]:
        """Standbys out first, so that no moment has a stale master in rotation."""
        return sorted(self.changes.items(), key=lambda item: item[1] != "maint")


@dataclass(frozen=True)
class Switch:
    """Rule 2: every other master to maint, reload `new`, clear the stick tables, `new` to ready.

    The loop tells the Decider how it went: `Decider.switched` or `Decider.switch_failed`."""

    old: str | None
    new: str
    reason: str  # "down" or "promote"
    started: float | None = None  # when the active went down; None: when the switch starts


Action: TypeAlias = Emit | Report | SaveActive | SetStates | Switch

# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Observation:
    """What the loop saw at the start of one poll."""

    now: float  # time.monotonic()
    view: HAProxyView | None  # None: HAProxy did not answer (the loop has reported it)
    recorded: str | None = None  # the active in the state file (None: no file, or unreadable)
    probes: Mapping[str, Probe] = field(default_factory=dict)  # the latest background GET /login per master


@dataclass
class Health:
    """What the controller believes about a standby's direct reachability."""

    ok: bool | None = None  # None: not known yet
    since: float = 0.0  # ignore probes that began before this


def fresh(probes: Mapping[str, Probe], name: str, moment: float) -> Probe | None:
    """The latest probe of `name`, if it began at or after `moment`."""
    probe = probes.get(name)
    return probe if probe is not None and probe.started >= moment else None


# --------------------------------------------------------------------------- the daemon's rules


class Decider:
    """What the controller remembers between polls, and the rules that act on it."""

    def __init__(self, masters: Sequence[str], *, elect_grace_s: float, retry_s: float, now: float) -> None:
        self.masters = tuple(masters)
        self.elect_grace_s = elect_grace_s
        self.retry_s = retry_s  # after a failed switch, no new attempt for this long
        self.started = now
        self.active: str | None = None
        self.active_since = now  # probes of the active that began earlier are ignored
        self.down_at: float | None = None  # when active.down was seen, until a failover is done or it is back
        self.retry_at = float("-inf")  # no new failover attempt before this
        self.suspect = False  # the direct probe of the active fails: poll faster
        self.health = {name: Health(since=now) for name in self.masters}

    def standbys(self) -> list[str]:
        return [name for name in self.masters if name != self.active]

    def poll(self, seen: Observation, login: Login) -> Iterator[Action]:
        """The actions of one poll. Execute each one before taking the next: later ones depend on it."""
        yield from self._adopt(seen.recorded, seen.now)
        view = seen.view
        if view is None:
            return
        if self.active is None:
            yield from self._elect(view, seen.now)
            if self.active is None:
                return
        yield from self._track_standbys(seen.probes)
        active = view.servers[self.active]
        if active.down:
            yield from self._active_down(view, active, seen.now, login)
        else:
            yield from self._active_serving(active, seen.probes, seen.now)
            yield from self._enforce(view, include_active=True)

    def switched(self, old: str | None, new: str, *, ready_at: float, now: float) -> None:
        """A switch is done: `new` serves since `ready_at`; `old` counts as down until a later probe says not."""
        self._set_active(new, ready_at)
        if old is not None:
            self.health[old] = Health(ok=False, since=now)

    def switch_failed(self, now: float) -> None:
        self.retry_at = now + self.retry_s

    # ---- the steps of a poll

    def _set_active(self, name: str, now: float) -> None:
        self.active = name
        self.active_since = now
        self.down_at = None
        self.suspect = False

    def _adopt(self, recorded: str | None, now: float) -> Iterator[Action]:
        """Follow the state file when someone else (``promote``) changed it."""
        if recorded is None or recorded == self.active:
            return
        if recorded not in self.masters:
            yield Report("state-file", f"active {recorded!r} is not one of LABGEN_MASTERS; ignored")
            return
        self._set_active(recorded, now)
        yield Emit("active.elect", {"name": recorded, "source": "state-file"})

    def _elect(self, view: HAProxyView, now: float) -> Iterator[Action]:
        """No state file: the first master HAProxy reports UP becomes the active.

        For LABGEN_ELECT_GRACE_S after the start only the first master may be elected, so that a
        lab whose masters start together always begins on the same one.
        """
        electable = self.masters[:1] if now - self.started < self.elect_grace_s else self.masters
        name = next((m for m in electable if view.servers[m].up), None)
        if name is None:
            waiting = f"no master of {', '.join(electable)} is UP in HAProxy yet; waiting"
            yield Report("elect", waiting, {"statuses": {m: view.servers[m].status for m in self.masters}})
            return
        self._set_active(name, now)
        yield Emit("active.elect", {"name": name, "source": "haproxy"})
        yield SaveActive(name, None, "elect")

    def _track_standbys(self, probes: Mapping[str, Probe]) -> Iterator[Action]:
        for name in self.standbys():
            health = self.health[name]
            probe = fresh(probes, name, health.since)
            if probe is None or probe.ok == health.ok:
                continue
            if not probe.ok:
                yield Emit("standby.down", {"name": name, "detail": probe.detail})
            elif health.ok is False:
                yield Emit("standby.back", {"name": name})
            health.ok = probe.ok

    def _active_down(self, view: HAProxyView, active: ServerView, now: float, login: Login) -> Iterator[Action]:
        if self.down_at is None:
            self.down_at = now
            yield Emit(
                "active.down",
                {
                    "name": active.name,
                    "status": active.status,
                    "check_status": active.check_status,
                    "since_s": active.since_s,
                },
            )
        yield from self._enforce(view, include_active=False)
        if now < self.retry_at:
            return
        candidate = next((name for name in self.standbys() if login(name).ok), None)
        if candidate is None:
            yield Report("no-standby", "the active is DOWN and no standby answers GET /login with 200; retrying")
            return
        yield Switch(active.name, candidate, "down", self.down_at)

    def _active_serving(self, active: ServerView, probes: Mapping[str, Probe], now: float) -> Iterator[Action]:
        if self.down_at is not None and active.up:
            yield Emit("active.back", {"name": active.name, "seconds": round(now - self.down_at, 3)})
            self.down_at = None
        probe = fresh(probes, active.name, self.active_since)
        if probe is not None and not probe.ok and not self.suspect:
            yield Emit("active.suspect", {"name": active.name, "detail": probe.detail})
        self.suspect = probe is not None and not probe.ok

    def _enforce(self, view: HAProxyView, include_active: bool) -> Iterator[Action]:
        """Active ready, every standby in maint."""
        assert self.active is not None
        changes: dict[str, str] = {}
        for name in self.masters:
            server = view.servers[name]
            if name == self.active:
                if include_active and server.forced_maint:
                    changes[name] = "ready"
            elif not server.forced_maint:
                changes[name] = "maint"
        if changes:
            yield SetStates(changes, self.active, view.proxies)


# --------------------------------------------------------------------------- the one-shot promote


def plan_promote(
    masters: Sequence[str], target: str, recorded: str | None, view: HAProxyView, login: Login
) -> Switch | Report | None:
    """`promote TARGET`: None when TARGET already serves, a Report when it may not, else the Switch."""
    current = recorded
    if current is None:
        current = next((m for m in masters if not view.servers[m].forced_maint), None)
    if current == target and not view.servers[target].forced_maint:
        return None
    probe = login(target)
    if not probe.ok:
        return Report("promote", f"{target} does not answer GET /login with 200: {probe.describe()}")
    return Switch(current, target, "promote")
