"""The fault table: one spelling of every action, its heal and its undo hint, used by chaos and verify."""

from __future__ import annotations

from labgen import chaos
from labgen.chaos.table import ACTIONS, BY_NAME, FAULTS, HEAL, TABLE
from labgen.verify import FAULTS as VERIFY_FAULTS
from labgen.verify import faults as verify_faults


def test_the_actions_are_the_tables_rows_in_order() -> None:
    assert ACTIONS == ("kill", "stop", "start", "restart", "pause", "unpause", "partition", "heal", "reload")
    assert chaos.ACTIONS is ACTIONS and len(set(ACTIONS)) == len(TABLE)


def test_the_faults_verify_holds_are_the_rows_with_a_heal() -> None:
    assert FAULTS == ("kill", "stop", "pause", "partition")
    assert HEAL == {"kill": "start", "stop": "start", "pause": "unpause", "partition": "heal"}
    # verify also measures the instant ones (nothing to heal): a reload
    assert VERIFY_FAULTS is FAULTS  # verify failover: a master's faults
    assert (*FAULTS, "reload") == verify_faults.FAULTS
    assert chaos.VERIFIABLE is verify_faults.FAULTS


def test_every_heal_and_undo_hint_names_an_action() -> None:
    for action in TABLE:
        assert action.heal is None or action.heal in BY_NAME
        if action.precondition is not None:
            assert action.precondition.instead in BY_NAME
    hints = {a.name: a.precondition.instead for a in TABLE if a.precondition is not None}
    assert hints == {"kill": "start", "pause": "unpause", "unpause": "pause", "partition": "heal"}


def test_only_reload_is_for_masters_only() -> None:
    assert [a.name for a in TABLE if a.masters_only] == ["reload"]
