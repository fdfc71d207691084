"""The build fates of a trial, counted by verify/builds.py and shown in the report."""

from __future__ import annotations

import json

from labgen.verify.builds import summary
from labgen.verify.model import BuildFate, BuildsView, Trial, VerifyResult
from labgen.verify.report import html_report, to_json


def _trial(number: int, running: str, queued: str, serving: list[str]) -> Trial:
    trial = Trial(number=number, action="kill", target="jenkins01", prefix=f"p{number}")
    trial.builds = BuildsView(
        fates=[
            BuildFate("p-running", "running", "jenkins01", 3, running, "no build.xml"),
            BuildFate("p-queued", "queued", "jenkins01", None, queued, "posted again"),
        ],
        collisions=["JENKINS-23152: builds/4 already existed"] if len(serving) > 1 else [],
        serving_before=serving,
        unseen={"jenkins02": ["p1-pre-0"]},
    )
    return trial


def test_the_report_counts_every_fate() -> None:
    trials = [
        _trial(1, "vanished", "requeued", ["jenkins01"]),
        _trial(2, "vanished", "lost", ["jenkins01", "jenkins02"]),
        _trial(3, "finished-elsewhere", "kept", ["jenkins01"]),
    ]
    totals = summary(trials)
    assert totals == {
        "running": {"vanished": 2, "finished-elsewhere": 1},
        "queued": {"requeued": 1, "lost": 1, "kept": 1},
        "collisions": 1,
        "split_brain_trials": 1,
    }
    result = VerifyResult("lab", "ha", "lite", "2.6.12", "kill", 20.0, 0.0, trials)
    page = html_report(result)
    assert "<h2>Builds</h2>" in page and "Running: finished-elsewhere 1, vanished 2." in page
    assert "running p-running #3 on jenkins01: vanished (no build.xml)" in page
    data = json.loads(json.dumps(to_json(result), default=str))
    assert data["builds"]["queued"]["lost"] == 1
    assert data["trials"][0]["builds"]["fates"][1]["fate"] == "requeued"


def test_a_report_without_build_phase_has_no_builds_section() -> None:
    result = VerifyResult("lab", "ha", "lite", "2.6.12", "kill", 20.0, 0.0, [Trial(1, "kill", "jenkins01")])
    assert "<h2>Builds</h2>" not in html_report(result)
