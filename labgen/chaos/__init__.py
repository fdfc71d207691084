"""Stage 5, chaos: one fault on one service of a running lab, recorded in the lab's event log."""

from labgen.chaos.faults import ACTIONS, FaultResult, TargetState, apply, list_targets, targets, validate

__all__ = ["ACTIONS", "FaultResult", "TargetState", "apply", "list_targets", "targets", "validate"]
