"""Chaos input validation, the event log, HAProxy's CSV and the verify reports, without Docker."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labgen.cli import run
from labgen.lab import journal
from labgen.lab.folder import save_topology
from labgen.model.spec import LabSpec
from labgen.model.topology import Topology
from labgen.verify.model import HAProxyMark, Sample, Trial, VerifyResult, WriteOp
from labgen.verify.report import FAULT_SHADE, aggregate, write_reports
from labgen.wire.haproxy import server_states as parse_csv


@pytest.fixture
def saved_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LabSpec:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    lab = LabSpec(name="unit-lab")
    folder = tmp_path / "labgen" / "labs" / lab.name
    folder.mkdir(parents=True)
    save_topology(Topology.resolve(lab), folder)
    return lab


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["chaos", "explode", "jenkins01"], "unknown chaos action 'explode'; valid: kill, stop, start"),
        (["chaos", "kill", "jenkins09"], "unknown target 'jenkins09' in lab unit-lab; valid: nfs, jenkins01"),
        (["chaos", "reload", "haproxy"], "reload applies to a master"),
        (["chaos", "kill"], "chaos kill needs a TARGET; valid: nfs, jenkins01, jenkins02, haproxy"),
        (["verify", "failover", "--action", "melt"], "unknown --action 'melt'; valid: kill, stop, pause, partition"),
    ],
)
def test_bad_chaos_input_exits_2_and_touches_nothing(
    saved_lab: LabSpec, args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([*args, "--lab", saved_lab.name]) == 2
    assert expected in " ".join(capsys.readouterr().err.split())
    assert journal.read(saved_lab.name) == []  # nothing was recorded: nothing was done


def test_the_event_log_appends_timestamped_lines(saved_lab: LabSpec) -> None:
    journal.record(saved_lab.name, "chaos.kill", "kill jenkins01", target="jenkins01")
    journal.record(saved_lab.name, "chaos.start", "start jenkins01", target="jenkins01")
    entries = journal.read(saved_lab.name)
    assert [e["kind"] for e in entries] == ["chaos.kill", "chaos.start"]
    assert entries[0]["ts"] <= entries[1]["ts"] and entries[0]["target"] == "jenkins01"


def test_haproxy_csv_is_read_by_column_name() -> None:
    csv = (
        "# pxname,svname,qcur,scur,status,lastchg,downtime,check_status\n"
        "jenkins,FRONTEND,,0,OPEN,,,\n"
        "jenkins,jenkins01,0,2,UP,12,0,L7OK\n"
        "jenkins,jenkins02,0,0,MAINT,40,3,\n"
        "jenkins,BACKEND,0,2,UP,12,0,\n"
    )
    states = parse_csv(csv)
    assert [(s.server, s.status, s.up, s.sessions) for s in states] == [
        ("jenkins01", "UP", True, 2),
        ("jenkins02", "MAINT", False, 0),
    ]
    assert states[1].downtime_s == 3 and states[0].check_status == "L7OK"


def _trial(number: int, lost: list[str], consistent: float | None) -> Trial:
    trial = Trial(number=number, action="kill", target="jenkins01", prefix="p", survivor="jenkins02")
    trial.detection_s, trial.first_success_s, trial.consistent_s = 1.5, 2.5, consistent
    trial.lost, trial.acknowledged, trial.requests, trial.failed_requests = lost, 10, 100, 7
    trial.samples = [
        Sample(-1.0, 200, "jenkins01", True, 0.01),
        Sample(0.5, 503, None, False, 0.01),
        Sample(2.5, 200, "jenkins02", True, 0.01),
    ]
    trial.writes = [WriteOp("p-during-0", "create", 0.2, 0.3, "info", 0, None)]
    trial.haproxy = [HAProxyMark(-2.0, "UP"), HAProxyMark(1.5, "DOWN")]
    trial.verdict = "pass" if not lost and consistent is not None else "fail"
    if trial.verdict == "fail":
        trial.reasons = ["1 acknowledged writes lost"]
    return trial


def test_reports_say_what_happened(tmp_path: Path) -> None:
    result = VerifyResult("lab", "ha", "lite", "2.6.12", "kill", 20.0, 0.0, [_trial(1, [], 2.5), _trial(2, ["x"], 4.0)])
    paths = write_reports(result, tmp_path)
    data = json.loads(paths["json"].read_text())
    assert data["verdict"] == "fail" and data["summary"]["lost_writes"] == 1
    assert data["summary"]["consistent_s"] == {"median": 3.25, "worst": 4.0, "missing": 0}
    suite = ET.parse(paths["junit"]).getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failures = suite.findall("testcase/failure")
    assert len(failures) == 1 and "lost" in (failures[0].get("message") or "")
    svg = ET.parse(paths["timeline-1"]).getroot()  # well-formed SVG
    assert svg.tag.endswith("svg")
    page = paths["html"].read_text()
    assert "FAIL" in page and "lite" in page and page.count("<svg") == 2
    assert aggregate(result)["passed"] == 1


def test_the_timeline_draws_the_survivor_under_the_target_and_shades_the_fault(tmp_path: Path) -> None:
    trial = _trial(1, [], 2.5)
    trial.haproxy = [
        HAProxyMark(-2.0, "UP", "jenkins01"),
        HAProxyMark(-2.0, "MAINT", "jenkins02"),
        HAProxyMark(1.5, "DOWN", "jenkins01"),
        HAProxyMark(1.6, "MAINT (reloading)", "jenkins02"),
        HAProxyMark(2.4, "UP", "jenkins02"),
    ]
    trial.latency_p50_s, trial.latency_p99_s, trial.latency_max_s = 0.01, 1.8, 2.2
    result = VerifyResult("lab", "ha", "lite", "2.6.12", "kill", 20.0, 0.0, [trial])
    paths = write_reports(result, tmp_path)
    svg = paths["timeline-1"].read_text()
    texts = [el.text for el in ET.fromstring(svg).iter() if el.tag.endswith("text")]
    assert "HAProxy: jenkins01" in texts and "HAProxy: jenkins02" in texts  # target, then survivor
    assert texts.index("HAProxy: jenkins02") == texts.index("HAProxy: jenkins01") + 1
    assert "MAINT (reloading)" in texts and texts.count("UP") == 2
    assert f'fill="{FAULT_SHADE}"' in svg and "kill (until healed)" in texts  # the fault, shaded
    page = paths["html"].read_text()
    assert "when the answer came back" in page and "0.01 s / 1.80 s / 2.20 s" in page
    summary = json.loads(paths["json"].read_text())["summary"]
    assert summary["latency_max_s"]["worst"] == 2.2 and summary["unknown_requests"] == 0


def test_a_trial_summary_can_be_journalled(saved_lab: LabSpec) -> None:
    trial = Trial(number=1, action="switchover", target="jenkins01", prefix="p", experiment="switchover")
    journal.record(saved_lab.name, "verify.trial", "trial 1: fail", **trial.summary())
    assert journal.read(saved_lab.name)[-1]["experiment"] == "switchover"
