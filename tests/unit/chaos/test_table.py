"""The fault table: one spelling of every action, its heal and its undo hint, used by chaos and verify."""

from __future__ import annotations

from labgen import chaos
from labgen.chaos.table import ACTIONS, BY_NAME, FAULTS, HEAL, PAIR_FAULTS, TABLE
from labgen.verify import FAULTS as VERIFY_FAULTS
from labgen.verify import faults as verify_faults


def test_the_actions_are_the_tables_rows_in_order() -> None:
    assert ACTIONS == (
        "kill",
        "stop",
        "start",
        "restart",
        "pause",
        "unpause",
        "partition",
        "heal",
        "reload",
        "kill-haproxy",
        "split",
        "join",
    )
    assert chaos.ACTIONS is ACTIONS and len(set(ACTIONS)) == len(TABLE)


def test_the_faults_verify_holds_are_the_rows_with_a_heal() -> None:
    assert FAULTS == ("kill", "stop", "pause", "partition")
    assert PAIR_FAULTS == ("kill-haproxy", "split")  # a pair's load balancer only
    assert HEAL == {
        "kill": "start",
        "stop": "start",
        "pause": "unpause",
        "partition": "heal",
        "kill-haproxy": "restart",
        "split": "join",
    }
    # verify also measures the instant ones (nothing to heal): a reload
    assert VERIFY_FAULTS is FAULTS  # verify failover: a master's faults
    assert (*FAULTS, *PAIR_FAULTS, "reload") == verify_faults.FAULTS
    assert chaos.VERIFIABLE is verify_faults.FAULTS


def test_every_heal_and_undo_hint_names_an_action() -> None:
    for action in TABLE:
        assert action.heal is None or action.heal in BY_NAME
        if action.precondition is not None:
            assert action.precondition.instead in BY_NAME
    hints = {a.name: a.precondition.instead for a in TABLE if a.precondition is not None}
    assert hints == {
        "kill": "start",
        "pause": "unpause",
        "unpause": "pause",
        "partition": "heal",
        "kill-haproxy": "start",
        "split": "join",
    }


def test_only_reload_is_for_masters_only() -> None:
    assert [a.name for a in TABLE if a.masters_only] == ["reload"]


def test_the_pair_actions_are_refused_with_one_haproxy() -> None:
    from labgen.errors import ActionRefused
    from labgen.model.spec import load_lab
    from labgen.model.topology import Topology

    single = Topology(load_lab(None, {}))
    pair = Topology(load_lab(None, {"haproxy.replicas": 2}))
    for action in ("kill-haproxy", "split", "join"):
        try:
            chaos.validate(single, action, "haproxy")
        except ActionRefused as exc:
            assert "haproxy.replicas 2" in exc.message
        else:
            raise AssertionError(f"{action} accepted on one HAProxy")
        chaos.validate(pair, action, "haproxy1")
        chaos.validate(pair, action, "haproxy")  # the VIP's holder
        try:
            chaos.validate(pair, action, "jenkins01")
        except ActionRefused as exc:
            assert "haproxy1, haproxy2" in exc.message
        else:
            raise AssertionError(f"{action} accepted on a master")
    assert chaos.targets(pair) == ["nfs", "jenkins01", "jenkins02", "haproxy1", "haproxy2", "haproxy"]
    assert chaos.targets(single) == ["nfs", "jenkins01", "jenkins02", "haproxy"]
