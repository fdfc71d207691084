"""Write a verify result for people and for CI: JSON, JUnit XML, and HTML pages with timelines (the pages
are Jinja templates, package data in `labgen/verify/templates/`; the timelines are SVG drawn here)."""

from __future__ import annotations

import functools
import html
import json
import statistics
from dataclasses import asdict
from pathlib import Path
from xml.etree import ElementTree as ET

import jinja2
from markupsafe import Markup

from labgen.verify.builds import summary as builds_summary
from labgen.verify.model import FaultResult, Trial, VerifyResult
from labgen.wire.files import format_seconds

FAULT_SHADE = "#fbe9e7"  # solid (not translucent): some SVG renderers ignore fill-opacity
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
        "unknown_requests": sum(t.unknown_requests for t in trials),
        "requests": sum(t.requests for t in trials),
        "latency_p50_s": stats([t.latency_p50_s for t in trials]),
        "latency_p99_s": stats([t.latency_p99_s for t in trials]),
        "latency_max_s": stats([t.latency_max_s for t in trials]),
        "held_p99_s": stats([t.held_p99_s for t in trials]),
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
        "artifacts": result.artifacts,
        "action": result.action,
        "rate": result.rate,
        "started": result.started,
        "verdict": "pass" if result.passed else "fail",
        "summary": aggregate(result),
        "builds": builds_summary(result.trials),
        "trials": [asdict(t) for t in result.trials],
    }


def junit_xml(result: VerifyResult) -> str:
    suite = ET.Element(
        "testsuite",
        name=f"labgen verify {_kind(result)} ({result.lab}, {result.profile}, {result.action})",
        tests=str(len(result.trials)),
        failures=str(sum(t.verdict == "fail" for t in result.trials)),
    )
    for trial in result.trials:
        seconds = trial.consistent_s or 0.0
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"labgen.{_kind(result)}.{result.profile}",
            name=f"trial {trial.number}: {trial.action} {trial.target}",
            time=f"{seconds:.3f}",
        )
        if trial.verdict == "fail":
            failure = ET.SubElement(case, "failure", message="; ".join(trial.reasons))
            failure.text = json.dumps(trial.summary(), indent=2, default=str)
        out = ET.SubElement(case, "system-out")
        out.text = json.dumps(trial.summary(), default=str)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _kind(result: VerifyResult) -> str:
    return result.trials[0].experiment if result.trials else "failover"


def _state_colour(status: str) -> str:
    if status.startswith("UP"):
        return "#2e9e44"
    if status.startswith("DOWN"):
        return "#d33f2f"
    return "#8e44ad" if "reloading" in status else "#999"


def _x(t: float, t0: float, t1: float) -> float:
    return LEFT + (t - t0) / max(t1 - t0, 0.001) * (WIDTH - LEFT - 20)


def timeline_svg(trial: Trial) -> str:
    times = [s.t for s in trial.samples] + [w.t_done for w in trial.writes if w.t_invoke >= -3]
    t0, t1 = min([-2.0, *times]), max([1.0, *times]) + 0.3
    survivor = trial.survivor or next((m.server for m in trial.haproxy if m.server not in ("", trial.target)), None)
    rows = ["requests", "writes", f"HAProxy: {trial.target}"] + ([f"HAProxy: {survivor}"] if survivor else [])
    height = 60 + ROW * len(rows) + 50
    fault_label = "switchover" if trial.experiment == "switchover" else f"{trial.action} (until healed)"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" font-family="sans-serif" '
        f'font-size="12"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="18" font-size="14" font-weight="bold">trial {trial.number}: {html.escape(trial.action)} '
        f"{html.escape(trial.target)} (t = 0)</text>",
        # the fault, shaded: from t = 0 to the end of the window (healed after it)
        f'<rect x="{_x(0.0, t0, t1):.1f}" y="42" width="{_x(t1, t0, t1) - _x(0.0, t0, t1):.1f}" '
        f'height="{ROW * len(rows) + 4}" fill="{FAULT_SHADE}"/>',
        f'<text x="{_x(0.0, t0, t1) + 4:.1f}" y="{50 + ROW * len(rows) + 2}" fill="#d33f2f" font-size="10">'
        f"{html.escape(fault_label)}</text>",
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
        x_sent, x_answer = _x(sample.t, t0, t1), _x(sample.answered, t0, t1)
        if x_answer - x_sent > 4:  # a slow (held) request: a thin line from sent to answered
            parts.append(f'<rect x="{x_sent:.1f}" y="58" width="{x_answer - x_sent:.1f}" height="2" fill="{colour}"/>')
        parts.append(f'<rect x="{x_sent:.1f}" y="50" width="3" height="18" fill="{colour}"/>')
    for write in trial.writes:
        if write.t_invoke < t0:
            continue
        parts.append(
            f'<circle cx="{_x(write.t_done, t0, t1):.1f}" cy="{50 + ROW + 9}" r="4" fill="{COLOURS[write.outcome]}"/>'
        )
    for row, server in ((2, trial.target), (3, survivor)):
        if server is None:
            continue
        marks = [m for m in trial.haproxy if m.server == server or (not m.server and server == trial.target)]
        for i, mark in enumerate(marks):
            end = marks[i + 1].t if i + 1 < len(marks) else t1
            x0, x1 = _x(max(mark.t, t0), t0, t1), _x(end, t0, t1)
            y = 50 + row * ROW
            colour = _state_colour(mark.status)
            parts.append(f'<rect x="{x0:.1f}" y="{y}" width="{max(x1 - x0, 1):.1f}" height="18" fill="{colour}"/>')
            parts.append(f'<text x="{x0 + 3:.1f}" y="{y + 13}" fill="white">{html.escape(mark.status)}</text>')
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
        ("failed or no answer", COLOURS["failed"]),
    ]
    x = LEFT
    for label, colour in legend:
        parts.append(f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{height - 5}">{label}</text>')
        x += 14 + 7 * len(label) + 20
    parts.append("</svg>")
    return "\n".join(parts)


@functools.cache
def _templates() -> jinja2.Environment:
    """The report's pages (package data, ``labgen/verify/templates``), autoescaped. Values are escaped
    as ``html.escape`` does (quotes as ``&quot;`` and ``&#x27;``), so a page's bytes are those the
    report has always had."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("labgen.verify", "templates"),
        autoescape=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
        finalize=_escaped,
    )
    env.filters.update(
        seconds=format_seconds,
        pair=_pair,
        timeline=lambda trial: Markup(timeline_svg(trial)),
        unseen=lambda unseen: "; ".join(f"{master}: {len(jobs)}" for master, jobs in unseen.items()),
    )
    return env


def _escaped(value: object) -> object:
    if hasattr(value, "__html__"):  # already markup: a timeline, or "<br>"|safe
        return value
    return Markup(html.escape(str(value)))


def html_report(result: VerifyResult) -> str:
    return (
        _templates()
        .get_template("report.html.j2")
        .render(
            result=result,
            kind=_kind(result),
            verdict="PASS" if result.passed else "FAIL",
            summary=aggregate(result),
            builds=_builds_view(result),
            trials=result.trials,
        )
    )


def _builds_view(result: VerifyResult) -> dict[str, object] | None:
    """Issue 11's section: the trials that have a build phase, and the counts over them."""
    trials = [t for t in result.trials if t.builds is not None]
    if not trials:
        return None
    total = builds_summary(trials)

    def counts(kind: str) -> str:
        found = total[kind]
        assert isinstance(found, dict)
        return ", ".join(f"{fate} {n}" for fate, n in sorted(found.items())) or "-"

    return {
        "trials": trials,
        "running": counts("running"),
        "queued": counts("queued"),
        "collisions": total["collisions"],
        "split_brain_trials": total["split_brain_trials"],
    }


def _pair(stat: object) -> str:
    assert isinstance(stat, dict)
    return f"{format_seconds(stat['median'])} / {format_seconds(stat['worst'])}"


# ---- `labgen verify fault` / `verify matrix`: one row per (service, fault) trial ------------------------

FAULT_COLUMNS = (
    ("service (role)", "what was broken"),
    ("fault", "held for"),
    (
        "during: ok / failed / unknown",
        "probes sent during the fault; unknown: no answer within the probe timeout",
    ),
    ("slow, max latency", "answers that took 2 s or more (held or hung); the slowest"),
    ("outage", "from the first request that failed, hung or took 2 s or more to the last such answer"),
    ("no master UP", "when HAProxy first showed no master UP"),
    ("served / consistent after heal", "first 200, first 200 listing every acknowledged job, since the heal"),
    ("writes during: failed / unknown", "creates during the fault"),
    ("lost / acked", "acknowledged creates missing at the end"),
    ("active", "active master before -> after (changes)"),
)


def fault_rows(result: FaultResult) -> list[list[str]]:
    """The matrix as text cells, for the HTML page and the command line."""
    rows = []
    for t in result.trials:
        trial = t.trial
        rows.append(
            [
                f"{t.service} ({t.role})",
                f"{t.action}, {format_seconds(t.held_s)}",
                f"{t.ok_during} / {t.failed_during} / {t.unknown_during}",
                f"{t.slow_during}, {format_seconds(t.latency_max_during_s)}",
                format_seconds(t.outage_s),
                format_seconds(t.masters_marked_s),
                f"{format_seconds(t.served_s)} / {format_seconds(t.consistent_s)}",
                f"{t.writes_failed} / {t.writes_unknown}",
                f"{len(trial.lost) if trial else '?'} / {trial.acknowledged if trial else '?'}",
                f"{t.active_before or '-'} -> {t.active_after or '-'} ({t.active_changes})",
            ]
        )
    return rows


def write_fault_reports(result: FaultResult, folder: Path) -> dict[str, Path]:
    """JSON, JUnit XML (one test case per trial) and an HTML table (with each trial's timeline)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "result.json", "junit": folder / "junit.xml", "html": folder / "report.html"}
    data = {
        "lab": result.lab,
        "profile": result.profile,
        "jenkins_flavour": result.flavour,
        "haproxy_version": result.haproxy_version,
        "artifacts": result.artifacts,
        "rate": result.rate,
        "started": result.started,
        "verdict": "pass" if result.passed else "fail",
        "trials": [{**t.summary(), "trial": asdict(t.trial) if t.trial else None} for t in result.trials],
    }
    paths["json"].write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    failed = [t for t in result.trials if t.verdict == "fail"]
    counts = {"tests": str(len(result.trials)), "failures": str(len(failed))}
    suite = ET.Element("testsuite", {"name": f"labgen verify fault ({result.lab}, {result.profile})", **counts})
    for t in result.trials:
        case = ET.SubElement(suite, "testcase", {"classname": f"labgen.fault.{result.profile}.{t.service}"})
        case.set("name", f"trial {t.number}: {t.action} {t.service} ({t.role})")
        case.set("time", f"{t.held_s + (t.consistent_s or 0.0):.3f}")  # the fault and the recovery after it
        summary = json.dumps(t.summary(), default=str)
        if t in failed:
            ET.SubElement(case, "failure", message="; ".join(t.reasons)).text = summary
        ET.SubElement(case, "system-out").text = summary
    paths["junit"].write_text(ET.tostring(suite, encoding="unicode", xml_declaration=True), encoding="utf-8")
    page = _templates().get_template("fault-matrix.html.j2")
    verdict = "PASS" if result.passed else "FAIL"
    rows = list(zip(result.trials, fault_rows(result), strict=True))
    trials = [t.trial for t in result.trials]
    html_page = page.render(result=result, verdict=verdict, columns=FAULT_COLUMNS, rows=rows, trials=trials)
    paths["html"].write_text(html_page, encoding="utf-8")
    return paths
