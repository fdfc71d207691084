"""Stage 5, chaos: one fault on one service of a running lab, recorded in the lab's event log.
The fault table (`table`) says what each action does, needs, and is healed by."""

from labgen.chaos.faults import AppliedFault, TargetState, apply, list_targets, targets, validate
from labgen.chaos.table import ACTIONS, FAULTS, HEAL, PAIR_FAULTS, TABLE, VERIFIABLE, Action

__all__ = [
    "ACTIONS",
    "FAULTS",
    "HEAL",
    "PAIR_FAULTS",
    "TABLE",
    "VERIFIABLE",
    "Action",
    "AppliedFault",
    "TargetState",
    "apply",
    "list_targets",
    "targets",
    "validate",
]
