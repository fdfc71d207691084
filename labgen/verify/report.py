"""Write a verify result for people and for CI: JSON, JUnit XML, and an HTML page with timelines."""

from __future__ import annotations

import html
import json
import statistics
from dataclasses import asdict
from pathlib import Path
from xml.etree import ElementTree as ET

from labgen.verify.model import Trial, VerifyResult
from labgen.wire.files import format_seconds

WIDTH, ROW, LEFT = 920, 26, 130
COLOURS = {
    "consistent": "#2e9e44",
    "stale": "#f0a202",
    "target": "#3b6fd6",
    "failed": "#d33f2f",
    "ok": "#2e9e44",
    "fail": "#d33f2f",
    "info": "#888888",
}


def write_reports(result: VerifyResult, folder: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": folder / "result.json",
        "junit": folder / "junit.xml",
        "html": folder / "report.html",
    }
    paths["json"].write_text(json.dumps(to_json(result), indent=2, default=str), encoding="utf-8")
    paths["junit"].write_text(junit_xml(result), encoding="utf-8")
    for trial in result.trials:
        svg = folder / f"timeline-{trial.number}.svg"
        svg.write_text(timeline_svg(trial), encoding="utf-8")
        paths[f"timeline-{trial.number}"] = svg
    paths["html"].write_text(html_report(result), encoding="utf-8")
    return paths


def aggregate(result: VerifyResult) -> dict[str, object]:
    def stats(values: list[float | None]) -> dict[str, float | None]:
        present = [v for v in values if v is not None]
        return {
            "median": round(statistics.median(present), 3) if present else None,
            "worst": round(max(present), 3) if present else None,
            "missing": len(values) - len(present),
        }

    trials = result.trials
    return {
        "trials": len(trials),
        "passed": sum(t.verdict == "pass" for t in trials),
        "detection_s": stats([t.detection_s for t in trials]),
        "first_success_s": stats([t.first_success_s for t in trials]),
        "consistent_s": stats([t.consistent_s for t in trials]),
        "failed_requests": sum(t.failed_requests for t in trials),
        "requests": sum(t.requests for t in trials),
        "lost_writes": sum(len(t.lost) for t in trials),
        "acknowledged_writes": sum(t.acknowledged for t in trials),
        "manual_reloads": sum(t.manual_reload_s is not None for t in trials),
    }


def to_json(result: VerifyResult) -> dict[str, object]:
    return {
        "lab": result.lab,
        "profile": result.profile,
        "jenkins_flavour": result.flavour,
        "haproxy_version": result.haproxy_version,
        "action": result.action,
        "rate": result.rate,
        "started": result.started,
        "verdict": "pass" if result.passed else "fail",
        "summary": aggregate(result),
        "trials": [asdict(t) for t in result.trials],
    }


def junit_xml(result: VerifyResult) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"labgen verify failover ({result.lab}, {result.profile}, {result.action})",
        tests=str(len(result.trials)),
        failures=str(sum(t.verdict == "fail" for t in result.trials)),
    )
    for trial in result.trials:
        seconds = trial.consistent_s or 0.0
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"labgen.failover.{result.profile}",
            name=f"trial {trial.number}: {trial.action} {trial.target}",
            time=f"{seconds:.3f}",
        )
        if trial.verdict == "fail":
            failure = ET.SubElement(case, "failure", message="; ".join(trial.reasons))
            failure.text = json.dumps(trial.summary(), indent=2, default=str)
        out = ET.SubElement(case, "system-out")
        out.text = json.dumps(trial.summary(), default=str)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _x(t: float, t0: float, t1: float) -> float:
    return LEFT + (t - t0) / max(t1 - t0, 0.001) * (WIDTH - LEFT - 20)


def timeline_svg(trial: Trial) -> str:
    times = [s.t for s in trial.samples] + [w.t_done for w in trial.writes if w.t_invoke >= -3]
    t0, t1 = min([-2.0, *times]), max([1.0, *times]) + 0.3
    rows = ["requests", "writes", f"HAProxy: {trial.target}"]
    height = 60 + ROW * len(rows) + 50
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="18" font-size="14" font-weight="bold">trial {trial.number}: {html.escape(trial.action)} '
        f"{html.escape(trial.target)} (t = 0)</text>",
    ]
    for i, name in enumerate(rows):
        parts.append(f'<text x="10" y="{50 + i * ROW + 14}">{html.escape(name)}</text>')
    for sample in trial.samples:
        if sample.status == 200 and sample.served_by == trial.target:
            colour = COLOURS["target"]
        elif sample.status == 200:
            colour = COLOURS["consistent"] if sample.consistent else COLOURS["stale"]
        else:
            colour = COLOURS["failed"]
        parts.append(f'<rect x="{_x(sample.t, t0, t1):.1f}" y="50" width="3" height="18" fill="{colour}"/>')
    for write in trial.writes:
        if write.t_invoke < t0:
            continue
        parts.append(
            f'<circle cx="{_x(write.t_done, t0, t1):.1f}" cy="{50 + ROW + 9}" r="4" fill="{COLOURS[write.outcome]}"/>'
        )
    marks = [*trial.haproxy]
    for i, mark in enumerate(marks):
        end = marks[i + 1].t if i + 1 < len(marks) else t1
        colour = "#2e9e44" if mark.status.startswith("UP") else "#d33f2f" if mark.status.startswith("DOWN") else "#999"
        x0, x1 = _x(max(mark.t, t0), t0, t1), _x(end, t0, t1)
        parts.append(
            f'<rect x="{x0:.1f}" y="{50 + 2 * ROW}" width="{max(x1 - x0, 1):.1f}" height="18" fill="{colour}"/>'
        )
        parts.append(f'<text x="{x0 + 3:.1f}" y="{50 + 2 * ROW + 13}" fill="white">{html.escape(mark.status)}</text>')
    bottom = 50 + ROW * len(rows)
    events = [
        ("fault", 0.0, "#000"),
        ("DOWN", trial.detection_s, "#d33f2f"),
        ("first 200", trial.first_success_s, "#f0a202"),
        ("consistent", trial.consistent_s, "#2e9e44"),
        ("manual reload", trial.manual_reload_s, "#8e44ad"),
    ]
    for i, (label, t, colour) in enumerate(events):
        if t is None:
            continue
        x = _x(t, t0, t1)
        parts.append(
            f'<line x1="{x:.1f}" y1="40" x2="{x:.1f}" y2="{bottom + 4}" stroke="{colour}" stroke-dasharray="4 3"/>'
        )
        parts.append(f'<text x="{x + 2:.1f}" y="{bottom + 16 + 12 * (i % 3)}" fill="{colour}">{label} {t:.2f} s</text>')
    for tick in range(int(t0), int(t1) + 1):
        x = _x(tick, t0, t1)
        parts.append(f'<text x="{x:.1f}" y="36" fill="#666" text-anchor="middle">{tick}s</text>')
    legend = [
        ("from the target", COLOURS["target"]),
        ("from the survivor, every job", COLOURS["consistent"]),
        ("from the survivor, stale", COLOURS["stale"]),
        ("failed", COLOURS["failed"]),
    ]
    x = LEFT
    for label, colour in legend:
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{height - 5}">{label}</text>')
        x += 14 + 7 * len(label) + 20
    parts.append("</svg>")
    return "\n".join(parts)


def html_report(result: VerifyResult) -> str:
    summary = aggregate(result)
    verdict = "PASS" if result.passed else "FAIL"
    rows = "".join(
        f"<tr><td>{t.number}</td><td>{html.escape(t.action)} {html.escape(t.target)}</td>"
        f"<td>{format_seconds(t.detection_s)}</td><td>{format_seconds(t.first_success_s)}</td><td>{format_seconds(t.consistent_s)}</td>"
        f"<td>{t.failed_requests}/{t.requests}</td><td>{len(t.lost)}/{t.acknowledged}</td>"
        f"<td>{format_seconds(t.agent_s)}</td><td>{t.verdict}</td>"
        f"<td>{html.escape('; '.join(t.reasons)) or '-'}</td></tr>"
        for t in result.trials
    )
    timelines = "".join(f"<h3>Trial {t.number}</h3>{timeline_svg(t)}" for t in result.trials)
    flavour_note = (
        "<p><b>Jenkins flavour: lite</b>, labgen's stand-in for Jenkins 2.190.2 (the war could not be had on "
        "this machine). It behaves like Jenkins where HAProxy and the failover can tell (jobs in memory, "
        "reload from disk, 503 while reloading), but it is not Jenkins.</p>"
        if result.flavour == "lite"
        else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>labgen failover report: {result.lab}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1000px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.pass{{color:#2e9e44}}.fail{{color:#d33f2f}}</style>
</head><body>
<h1>Failover report: lab {html.escape(result.lab)} <span class="{verdict.lower()}">{verdict}</span></h1>
<p>Profile <b>{html.escape(result.profile)}</b>, HAProxy {html.escape(result.haproxy_version)}, fault
<b>{html.escape(result.action)}</b>, probes at {result.rate:.0f} requests/s through HAProxy.</p>
{flavour_note}
<p>Detection: HAProxy marks the target DOWN. First success: the first 200 from another master.
Data-consistent: the first such 200 that lists every acknowledged job.
A master answers data-consistently when it lists every job whose creation was acknowledged before
the request was sent. Lost writes: acknowledged creates missing at the end (set check). Agent port:
when a connection to the inbound-agent port through HAProxy first got Jenkins' listener answer.</p>
<table><tr><th>trials</th><th>passed</th><th>detection median / worst</th><th>first success median / worst</th>
<th>consistent median / worst</th><th>failed requests</th><th>lost writes</th></tr>
<tr><td>{summary["trials"]}</td><td>{summary["passed"]}</td><td>{_pair(summary["detection_s"])}</td>
<td>{_pair(summary["first_success_s"])}</td><td>{_pair(summary["consistent_s"])}</td>
<td>{summary["failed_requests"]}/{summary["requests"]}</td>
<td>{summary["lost_writes"]}/{summary["acknowledged_writes"]}</td></tr></table>
<h2>Trials</h2>
<table><tr><th>#</th><th>fault</th><th>detection</th><th>first success</th><th>consistent</th>
<th>failed requests</th><th>lost/acked</th><th>agent port</th><th>verdict</th><th>why</th></tr>{rows}</table>
<h2>Timelines</h2>{timelines}
</body></html>
"""


def _pair(stat: object) -> str:
    assert isinstance(stat, dict)
    return f"{format_seconds(stat['median'])} / {format_seconds(stat['worst'])}"
