"""The report's HTML pages are Jinja templates (package data, autoescaped): the same result renders
to the same bytes as before, checked against the committed example report and two golden pages
(tests/fixtures/report/, written by the f-string renderer the templates replaced)."""

from __future__ import annotations

from pathlib import Path

from labgen.verify.model import FaultTrial
from labgen.verify.report import html_report, write_fault_reports
from tests.unit.verify.report_cases import EXAMPLE, GOLDEN, fault_result, load_result, tricky_result


def test_the_example_report_renders_byte_for_byte_from_its_result_json() -> None:
    result = load_result(EXAMPLE / "result.json")
    assert html_report(result).encode() == (EXAMPLE / "report.html").read_bytes()


def test_every_branch_of_the_failover_page_matches_its_golden() -> None:
    page = html_report(tricky_result())
    assert page == (GOLDEN / "tricky.html").read_text(encoding="utf-8")
    # the branches the golden holds: lite, an unofficial artifact, builds, a manual reload
    for part in ("Jenkins flavour: lite", "<b>haproxy: UNOFFICIAL</b>", "<h2>Builds</h2>", "manual reload 5.00 s"):
        assert part in page
    assert "jenkins.war: UNOFFICIAL" not in page  # official artifacts get no note


def test_the_fault_matrix_page_matches_its_golden(tmp_path: Path) -> None:
    paths = write_fault_reports(fault_result(), tmp_path)
    assert paths["html"].read_text(encoding="utf-8") == (GOLDEN / "fault-matrix.html").read_text(encoding="utf-8")


def test_text_from_a_run_is_escaped_everywhere(tmp_path: Path) -> None:
    result = tricky_result()
    result.trials[0].reasons = ['<script>alert("x")</script>']
    result.trials[0].target = "<b>jenkins01</b>"
    page = html_report(result)
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<b>jenkins01</b>" not in page and "&lt;b&gt;jenkins01&lt;/b&gt;" in page

    matrix = fault_result()
    matrix.trials.append(FaultTrial(3, "<nfs>", "kill", "it's <odd>", reasons=["a & b"]))
    text = write_fault_reports(matrix, tmp_path)["html"].read_text(encoding="utf-8")
    assert "<nfs>" not in text and "&lt;nfs&gt; (it&#x27;s &lt;odd&gt;)" in text and "a &amp; b" in text
