"""The failover controller's decisions (images/controller/labgen_controller), without Docker, sockets or HTTP.

Most tests drive `decisions.Decider` with made-up HAProxy views, state-file contents and probe
results, and check the actions it returns. The last ones run the loop (`controller.Controller`)
against in-memory fakes of HAProxy and Jenkins, for what happens while a switch is executed:
the order of the runtime API commands, the reload wait, and the undo when a step fails.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from labgen.wire.http import Response

CONTROLLER_DIR = Path(__file__).resolve().parents[2] / "images" / "controller"
if str(CONTROLLER_DIR) not in sys.path:
    sys.path.insert(0, str(CONTROLLER_DIR))

from labgen_controller.controller import Controller  # noqa: E402
from labgen_controller.decisions import (  # noqa: E402
    Action,
    Decider,
    Emit,
    Observation,
    Report,
    SaveActive,
    SetStates,
    Switch,
    plan_promote,
)
from labgen_controller.haproxy import (  # noqa: E402
    ADMIN_FORCED_MAINT,
    ADMIN_RESOLUTION_MAINT,
    HAProxyError,
    HAProxyView,
    ServerView,
)
from labgen_controller.jenkins import Probe  # noqa: E402
from labgen_controller.settings import Settings  # noqa: E402

M1, M2, M3 = "jenkins01", "jenkins02", "jenkins03"
PROXIES = frozenset({"jenkins", "jenkins_agent"})
T0 = 1000.0  # the Decider's clock at its start


# --------------------------------------------------------------------------- what HAProxy shows


def ready(name: str) -> ServerView:
    return ServerView(name, "UP", "L7OK", 30, 0)


def down(name: str) -> ServerView:
    return ServerView(name, "DOWN", "L4CON", 2, 0)


def held(name: str) -> ServerView:
    """In maint, put there by `set server ... state maint`."""
    return ServerView(name, "MAINT", "L7OK", 30, ADMIN_FORCED_MAINT)


def view(*servers: ServerView) -> HAProxyView:
    return HAProxyView({server.name: server for server in servers}, PROXIES)


@pytest.mark.parametrize(
    ("server", "is_up", "is_down"),
    [
        (ready(M1), True, False),
        (ServerView(M1, "no check", "", 0, 0), True, False),
        (ServerView(M1, "UP 1/2", "L4TOUT", 0, 0), True, False),
        (ServerView(M1, "DOWN 1/2", "L4CON", 0, 0), False, True),
        (down(M1), False, True),
        (held(M1), False, False),
        (ServerView(M1, "UP", "L7OK", 0, ADMIN_FORCED_MAINT), False, False),
        (ServerView(M1, "MAINT (resolution)", "", 0, ADMIN_RESOLUTION_MAINT), False, True),
    ],
)
def test_what_counts_as_up_and_as_down(server: ServerView, is_up: bool, is_down: bool) -> None:
    assert (server.up, server.down) == (is_up, is_down)


class Logins:
    """The direct GET /login of each master (200 unless told; 0: no answer), and who was asked, in order."""

    def __init__(self, **statuses: int) -> None:
        self.statuses = statuses
        self.asked: list[str] = []

    def __call__(self, name: str) -> Response:
        self.asked.append(name)
        status = self.statuses.get(name, 200)
        return Response(status) if status else Response(0, error="ConnectionRefusedError: [Errno 111] refused")


def probe(ok: bool, started: float) -> Probe:
    return Probe(ok, "HTTP 200" if ok else "TimeoutError: timed out", started)


# --------------------------------------------------------------------------- driving the Decider


def decider(*masters: str, active: str | None = M1, grace: float = 0.0) -> Decider:
    """A Decider started at T0, with `active` adopted from the state file."""
    made = Decider(masters or (M1, M2), elect_grace_s=grace, retry_s=1.0, now=T0)
    if active is not None:
        assert poll(made, None, T0, recorded=active) == [Emit("active.elect", {"name": active, "source": "state-file"})]
    return made


def poll(
    made: Decider,
    seen: HAProxyView | None,
    now: float,
    *,
    recorded: str | None = None,
    probes: Mapping[str, Probe] | None = None,
    login: Logins | None = None,
) -> list[Action]:
    observation = Observation(now, seen, recorded, probes or {})
    return list(made.poll(observation, login or Logins()))


def kinds(actions: list[Action]) -> list[str]:
    return [type(action).__name__ if not isinstance(action, Emit) else action.event for action in actions]


# --------------------------------------------------------------------------- election


def test_elects_the_first_master_up_records_it_and_holds_the_other_in_maint() -> None:
    made = decider(active=None)
    actions = poll(made, view(ready(M1), ready(M2)), T0 + 1)
    assert actions == [
        Emit("active.elect", {"name": M1, "source": "haproxy"}),
        SaveActive(M1, None, "elect"),
        SetStates({M2: "maint"}, M1, PROXIES),
    ]
    assert made.active == M1


def test_during_the_grace_only_the_first_master_may_be_elected() -> None:
    made = decider(active=None, grace=120.0)
    waiting = poll(made, view(down(M1), ready(M2)), T0 + 10)
    assert waiting == [
        Report(
            "elect",
            "no master of jenkins01 is UP in HAProxy yet; waiting",
            {"statuses": {M1: "DOWN", M2: "UP"}},
        )
    ]
    assert made.active is None

    after = poll(made, view(down(M1), ready(M2)), T0 + 121)
    assert after == [
        Emit("active.elect", {"name": M2, "source": "haproxy"}),
        SaveActive(M2, None, "elect"),
        SetStates({M1: "maint"}, M2, PROXIES),
    ]


@pytest.mark.parametrize("first", [down(M1), held(M1)], ids=["down", "held-in-maint"])
def test_no_master_up_elects_nobody_and_changes_nothing(first: ServerView) -> None:
    made = decider(active=None)
    actions = poll(made, view(first, down(M2)), T0 + 1)
    assert kinds(actions) == ["Report"]
    assert isinstance(actions[0], Report) and actions[0].what == "elect"
    assert made.active is None


# --------------------------------------------------------------------------- the state file


def test_adopts_the_active_of_the_state_file_and_swaps_the_states() -> None:
    made = decider(active=M1)
    actions = poll(made, view(ready(M1), held(M2)), T0 + 1, recorded=M2)
    assert actions == [
        Emit("active.elect", {"name": M2, "source": "state-file"}),
        SetStates({M1: "maint", M2: "ready"}, M2, PROXIES),
    ]
    assert isinstance(actions[1], SetStates)
    assert actions[1].in_order() == [(M1, "maint"), (M2, "ready")]  # the stale one out before the new one in
    assert made.active == M2


def test_a_state_file_naming_an_unknown_master_is_ignored() -> None:
    made = decider(active=M1)
    actions = poll(made, view(ready(M1), held(M2)), T0 + 1, recorded="jenkins09")
    assert actions == [Report("state-file", "active 'jenkins09' is not one of LABGEN_MASTERS; ignored")]
    assert made.active == M1


def test_adopts_the_state_file_even_when_haproxy_does_not_answer() -> None:
    made = decider(active=M1)
    assert poll(made, None, T0 + 1, recorded=M2) == [Emit("active.elect", {"name": M2, "source": "state-file"})]
    assert made.active == M2


# --------------------------------------------------------------------------- rule 1: one master serves


def test_steady_state_does_nothing() -> None:
    made = decider(active=M1)
    assert poll(made, view(ready(M1), held(M2)), T0 + 1, recorded=M1) == []


def test_a_restarted_haproxy_gets_the_standby_back_in_maint() -> None:
    made = decider(active=M2)
    actions = poll(made, view(ready(M1), ready(M2)), T0 + 1, recorded=M2)
    assert actions == [SetStates({M1: "maint"}, M2, PROXIES)]


# --------------------------------------------------------------------------- rule 2: failover


def test_active_down_switches_to_the_first_standby_that_answers() -> None:
    made = decider(M1, M2, M3, active=M1)
    login = Logins(jenkins02=0, jenkins03=200)
    actions = poll(made, view(down(M1), held(M2), held(M3)), T0 + 5, login=login)
    assert actions == [
        Emit("active.down", {"name": M1, "status": "DOWN", "check_status": "L4CON", "since_s": 2}),
        Switch(M1, M3, "down", T0 + 5),
    ]
    assert login.asked == [M2, M3]


def test_standbys_go_back_to_maint_before_any_standby_is_probed() -> None:
    made = decider(active=M1)
    login = Logins()
    actions = made.poll(Observation(T0 + 5, view(down(M1), ready(M2))), login)
    assert next(actions) == Emit("active.down", {"name": M1, "status": "DOWN", "check_status": "L4CON", "since_s": 2})
    assert next(actions) == SetStates({M2: "maint"}, M1, PROXIES)
    assert login.asked == []  # the loop sets the states before the generator goes on
    assert next(actions) == Switch(M1, M2, "down", T0 + 5)
    assert login.asked == [M2]
    assert list(actions) == []


def test_an_active_whose_name_no_longer_resolves_is_down_and_is_not_set_ready() -> None:
    made = decider(active=M1)
    gone = ServerView(M1, "MAINT (resolution)", "", 3, ADMIN_RESOLUTION_MAINT | ADMIN_FORCED_MAINT)
    actions = poll(made, view(gone, held(M2)), T0 + 5)
    assert kinds(actions) == ["active.down", "Switch"]
    assert actions[1] == Switch(M1, M2, "down", T0 + 5)


def test_no_healthy_standby_reports_and_keeps_trying() -> None:
    made = decider(active=M1)
    first = poll(made, view(down(M1), held(M2)), T0 + 5, login=Logins(jenkins02=503))
    assert kinds(first) == ["active.down", "Report"]
    assert isinstance(first[1], Report) and first[1].what == "no-standby"

    login = Logins(jenkins02=0)
    again = poll(made, view(down(M1), held(M2)), T0 + 6, login=login)
    assert kinds(again) == ["Report"]  # active.down once only
    assert login.asked == [M2]

    # once the standby answers, the failover counts from the first active.down
    assert poll(made, view(down(M1), held(M2)), T0 + 7) == [Switch(M1, M2, "down", T0 + 5)]


def test_the_active_coming_back_before_a_failover_stays_the_active() -> None:
    made = decider(active=M1)
    poll(made, view(down(M1), held(M2)), T0 + 5, login=Logins(jenkins02=0))
    back = poll(made, view(ready(M1), held(M2)), T0 + 7.5)
    assert back == [Emit("active.back", {"name": M1, "seconds": 2.5})]
    assert made.active == M1
    # a new outage is a new active.down
    assert kinds(poll(made, view(down(M1), held(M2)), T0 + 9, login=Logins(jenkins02=0))) == ["active.down", "Report"]


def test_after_a_failed_switch_the_next_attempt_waits() -> None:
    made = decider(active=M1)
    assert poll(made, view(down(M1), held(M2)), T0 + 5)[-1] == Switch(M1, M2, "down", T0 + 5)
    made.switch_failed(T0 + 6)
    login = Logins()
    assert poll(made, view(down(M1), held(M2)), T0 + 6.5, login=login) == []
    assert login.asked == []
    assert poll(made, view(down(M1), held(M2)), T0 + 7) == [Switch(M1, M2, "down", T0 + 5)]


def test_after_a_switch_the_new_active_is_enforced() -> None:
    made = decider(active=M1)
    made.switched(M1, M2, ready_at=T0 + 8, now=T0 + 9)
    assert made.active == M2
    # HAProxy still shows the new active in maint (say the ready failed to stick): set it ready
    assert poll(made, view(held(M1), held(M2)), T0 + 10, recorded=M2) == [SetStates({M2: "ready"}, M2, PROXIES)]


# --------------------------------------------------------------------------- rule 3: no flapping back


def test_the_old_active_that_comes_back_stays_a_standby_in_maint() -> None:
    made = decider(active=M1)
    made.switched(M1, M2, ready_at=T0 + 8, now=T0 + 9)
    seen = view(held(M1), ready(M2))
    # a probe that began before the switch was done says nothing
    assert poll(made, seen, T0 + 10, recorded=M2, probes={M1: probe(True, T0 + 8.5)}) == []
    came_back = poll(made, seen, T0 + 11, recorded=M2, probes={M1: probe(True, T0 + 10.5)})
    assert came_back == [Emit("standby.back", {"name": M1})]
    assert poll(made, seen, T0 + 12, recorded=M2, probes={M1: probe(True, T0 + 11.5)}) == []
    # and if HAProxy lets it out of maint, it goes back in
    assert poll(made, view(ready(M1), ready(M2)), T0 + 13, recorded=M2) == [SetStates({M1: "maint"}, M2, PROXIES)]


def test_a_standby_going_down_and_back_is_reported_once_each() -> None:
    made = decider(active=M1)
    seen = view(ready(M1), held(M2))
    assert poll(made, seen, T0 + 1, probes={M2: probe(True, T0 + 0.5)}) == []  # first news: healthy, nothing to say
    went = poll(made, seen, T0 + 2, probes={M2: probe(False, T0 + 1.5)})
    assert went == [Emit("standby.down", {"name": M2, "detail": "TimeoutError: timed out"})]
    assert poll(made, seen, T0 + 3, probes={M2: probe(False, T0 + 2.5)}) == []
    assert poll(made, seen, T0 + 4, probes={M2: probe(True, T0 + 3.5)}) == [Emit("standby.back", {"name": M2})]


def test_a_failing_probe_of_the_active_only_makes_it_suspect() -> None:
    made = decider(active=M1)
    seen = view(ready(M1), held(M2))
    assert poll(made, seen, T0 + 1, probes={M1: probe(False, T0 - 1)}) == []  # from before it was the active
    assert not made.suspect
    failing = poll(made, seen, T0 + 2, probes={M1: probe(False, T0 + 1.5)})
    assert failing == [Emit("active.suspect", {"name": M1, "detail": "TimeoutError: timed out"})]
    assert made.suspect
    assert poll(made, seen, T0 + 3, probes={M1: probe(False, T0 + 2.5)}) == []  # said once
    assert poll(made, seen, T0 + 4, probes={M1: probe(True, T0 + 3.5)}) == []
    assert not made.suspect
    assert poll(made, seen, T0 + 5, probes={M1: probe(True, T0 + 4.5)}) == []


# --------------------------------------------------------------------------- promote


def test_promote_the_active_is_nothing_to_do() -> None:
    login = Logins()
    assert plan_promote((M1, M2), M1, M1, view(ready(M1), held(M2)), login) is None
    assert login.asked == []


def test_promote_refuses_a_target_that_does_not_answer() -> None:
    plan = plan_promote((M1, M2), M2, M1, view(ready(M1), held(M2)), Logins(jenkins02=503))
    assert plan == Report("promote", "jenkins02 does not answer GET /login with 200: HTTP 503")


def test_promote_switches_from_the_recorded_active() -> None:
    assert plan_promote((M1, M2), M2, M1, view(ready(M1), held(M2)), Logins()) == Switch(M1, M2, "promote")


def test_promote_the_recorded_active_held_in_maint_reloads_it_back_into_service() -> None:
    assert plan_promote((M1, M2), M1, M1, view(held(M1), held(M2)), Logins()) == Switch(M1, M1, "promote")


def test_promote_without_a_state_file_switches_from_the_master_not_in_maint() -> None:
    assert plan_promote((M1, M2), M1, None, view(held(M1), ready(M2)), Logins()) == Switch(M2, M1, "promote")


# --------------------------------------------------------------------------- the loop executing a switch, with fakes


class FakeHAProxy:
    """HAProxy's admin states in memory; every command it got, in order."""

    def __init__(self, *servers: ServerView, dead: tuple[str, ...] = ()) -> None:
        self.servers = {server.name: server for server in servers}
        self.dead = set(dead)
        self.commands: list[str] = []
        self.refuse: str | None = None  # a command that fails

    def view(self) -> HAProxyView:
        return view(*self.servers.values())

    def set_state(self, server: str, state: str) -> None:
        command = f"{server} {state}"
        self.commands.append(command)
        if command == self.refuse:
            raise HAProxyError(f"{command!r}: refused")
        old = self.servers[server]
        if state == "maint":
            self.servers[server] = replace(old, status="MAINT", admin_state=old.admin_state | ADMIN_FORCED_MAINT)
        else:
            status = "DOWN" if server in self.dead else "UP"
            self.servers[server] = replace(old, status=status, admin_state=old.admin_state & ~ADMIN_FORCED_MAINT)

    def clear_tables(self, proxies: Any) -> list[str]:
        self.commands.append("clear tables")
        return ["jenkins"]

    def servers_state(self) -> str:
        return "1\n# be_id be_name srv_id srv_name srv_admin_state\n" + "\n".join(
            f"3 jenkins {i} {s.name} {s.admin_state}" for i, s in enumerate(self.servers.values(), 1)
        )


class FakeJenkins:
    """The masters' answers: GET /login 200, POST /reload `reload`, then GET /api/json `api` one by one."""

    def __init__(self, reload: int = 200, api: tuple[int, ...] = (503, 200)) -> None:
        self.reload_status = reload
        self.api_statuses = list(api)
        self.calls: list[str] = []

    def login(self, name: str) -> Response:
        self.calls.append(f"login {name}")
        return Response(200)

    def reload(self, name: str) -> Response:
        self.calls.append(f"reload {name}")
        return Response(self.reload_status) if self.reload_status else Response(0, error="ConnectionResetError")

    def api(self, name: str) -> Response:
        self.calls.append(f"api {name}")
        status = self.api_statuses.pop(0) if len(self.api_statuses) > 1 else self.api_statuses[0]
        return Response(status)


def make_controller(tmp_path: Path, haproxy: FakeHAProxy, jenkins: FakeJenkins, active: str | None) -> Controller:
    state_file = tmp_path / "run" / "controller-state.json"
    if active is not None:
        state_file.parent.mkdir(parents=True)
        state_file.write_text(json.dumps({"active": active}))
    env = {
        "LABGEN_MASTERS": f"{M1},{M2}",
        "LABGEN_STATE_FILE": str(state_file),
        "LABGEN_SERVER_STATE_FILE": str(tmp_path / "run" / "server-state"),
        "LABGEN_RELOAD_TIMEOUT_S": "0.3",
        "LABGEN_RELOAD_QUIET_S": "0.05",
        "LABGEN_UP_TIMEOUT_S": "0.3",
        "LABGEN_ELECT_GRACE_S": "0",
    }
    return Controller(Settings.from_env(env), threading.Event(), haproxy=haproxy, jenkins=jenkins)


def events(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def recorded(controller: Controller) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(controller.s.state_file.read_text())
    return data


def test_loop_fails_over_reloading_the_standby_before_it_serves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    haproxy = FakeHAProxy(down(M1), held(M2), dead=(M1,))
    jenkins = FakeJenkins(reload=200, api=(503, 200))
    controller = make_controller(tmp_path, haproxy, jenkins, active=M1)
    controller.poll()

    assert haproxy.commands == [f"{M1} maint", f"{M2} maint", "clear tables", f"{M2} ready"]
    assert jenkins.calls == [f"login {M2}", f"reload {M2}", f"api {M2}", f"api {M2}"]
    assert controller.decider.active == M2
    assert {k: recorded(controller)[k] for k in ("active", "previous", "by")} == {
        "active": M2,
        "previous": M1,
        "by": "down",
    }
    assert f"{M2} 0" in (tmp_path / "run" / "server-state").read_text()  # saved with jenkins02 ready
    seen = events(capsys)
    assert [e["event"] for e in seen] == [
        "active.elect",
        "active.down",
        "failover.start",
        "reload.sent",
        "reload.done",
        "failover.done",
    ]
    assert seen[4]["saw_503"] is True
    assert seen[5]["from"] == M1 and seen[5]["to"] == M2 and seen[5]["tables"] == ["jenkins"]


def test_loop_with_only_200s_after_the_reload_waits_for_the_quiet_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    haproxy = FakeHAProxy(down(M1), held(M2), dead=(M1,))
    controller = make_controller(tmp_path, haproxy, FakeJenkins(reload=200, api=(200,)), active=M1)
    controller.poll()
    done = [e for e in events(capsys) if e["event"] == "reload.done"]
    assert len(done) == 1 and done[0]["saw_503"] is False and done[0]["seconds"] >= 0.05
    assert controller.decider.active == M2


@pytest.mark.parametrize(
    ("reload", "api", "detail"),
    [
        (500, (200,), "reload: POST /reload: HTTP 500"),
        (0, (200,), "reload: POST /reload: ConnectionResetError"),
        (200, (401,), "reload: GET /api/json: HTTP 401 (admin credentials?)"),
        (503, (503,), "reload: not reloaded after 0.3 s (last: HTTP 503)"),
    ],
    ids=["refused", "no-answer", "bad-credentials", "never-reloaded"],
)
def test_loop_undoes_a_failed_reload_and_waits_before_trying_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reload: int, api: tuple[int, ...], detail: str
) -> None:
    haproxy = FakeHAProxy(down(M1), held(M2), dead=(M1,))
    jenkins = FakeJenkins(reload=reload, api=api)
    controller = make_controller(tmp_path, haproxy, jenkins, active=M1)
    controller.poll()

    # the candidate stays in maint, the old active is put back: it may come back by itself
    assert haproxy.commands == [f"{M1} maint", f"{M2} maint", f"{M2} maint", f"{M1} ready"]
    assert controller.decider.active == M1
    assert recorded(controller) == {"active": M1}  # the state file is untouched
    seen = events(capsys)
    errors = [e for e in seen if e["event"] == "error"]
    assert errors == [{**errors[0], "what": "failover", "detail": detail, "from": M1, "to": M2}]
    assert "failover.done" not in [e["event"] for e in seen]
    sent = [e for e in seen if e["event"] == "reload.sent"]
    assert sent[0]["status"] == (reload or None)

    calls = len(jenkins.calls)
    controller.poll()  # within the retry period: no new attempt, not even a probe
    assert len(jenkins.calls) == calls


def test_loop_undoes_a_switch_when_haproxy_refuses_the_ready(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    haproxy = FakeHAProxy(down(M1), held(M2), dead=(M1,))
    haproxy.refuse = f"{M2} ready"
    controller = make_controller(tmp_path, haproxy, FakeJenkins(), active=M1)
    controller.poll()
    assert haproxy.commands[-3:] == [f"{M2} ready", f"{M2} maint", f"{M1} ready"]
    errors = [e for e in events(capsys) if e["event"] == "error"]
    assert [e["detail"] for e in errors] == [f"ready: '{M2} ready': refused"]
    assert controller.decider.active == M1


def test_promote_reloads_the_target_then_records_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    haproxy = FakeHAProxy(ready(M1), held(M2))
    jenkins = FakeJenkins()
    controller = make_controller(tmp_path, haproxy, jenkins, active=M1)
    assert controller.promote(M2) is True
    assert haproxy.commands == [f"{M1} maint", f"{M2} maint", "clear tables", f"{M2} ready"]
    assert jenkins.calls[:2] == [f"login {M2}", f"reload {M2}"]
    assert recorded(controller)["by"] == "promote" and recorded(controller)["active"] == M2
    done = [e for e in events(capsys) if e["event"] == "failover.done"]
    assert len(done) == 1 and done[0]["reason"] == "promote" and done[0]["from"] == M1


def test_promote_the_active_changes_nothing(tmp_path: Path) -> None:
    haproxy = FakeHAProxy(ready(M1), held(M2))
    jenkins = FakeJenkins()
    controller = make_controller(tmp_path, haproxy, jenkins, active=M1)
    assert controller.promote(M1) is True
    assert haproxy.commands == [] and jenkins.calls == []
