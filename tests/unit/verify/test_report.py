"""The failover reports (JSON, JUnit, SVG timeline, HTML) say what happened in a trial."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from labgen.verify.model import HAProxyMark, Sample, Trial, VerifyResult, WriteOp
from labgen.verify.report import FAULT_SHADE, aggregate, write_reports


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
