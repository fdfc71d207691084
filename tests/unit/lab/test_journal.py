"""The lab's event log: timestamped lines appended, a trial summary journalled."""

from __future__ import annotations

from labgen.lab import journal
from labgen.model.spec import LabSpec
from labgen.verify.model import Trial


def test_the_event_log_appends_timestamped_lines(saved_lab: LabSpec) -> None:
    journal.record(saved_lab.name, "chaos.kill", "kill jenkins01", target="jenkins01")
    journal.record(saved_lab.name, "chaos.start", "start jenkins01", target="jenkins01")
    entries = journal.read(saved_lab.name)
    assert [e["kind"] for e in entries] == ["chaos.kill", "chaos.start"]
    assert entries[0]["ts"] <= entries[1]["ts"] and entries[0]["target"] == "jenkins01"


def test_a_trial_summary_can_be_journalled(saved_lab: LabSpec) -> None:
    trial = Trial(number=1, action="switchover", target="jenkins01", prefix="p", experiment="switchover")
    journal.record(saved_lab.name, "verify.trial", "trial 1: fail", **trial.summary())
    assert journal.read(saved_lab.name)[-1]["experiment"] == "switchover"
