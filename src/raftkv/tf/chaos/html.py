"""The chaos report as one self-contained HTML page: inline CSS and SVG, no script, nothing
fetched. Drawn from the JSON document of `report.report_document`:

- the verdict of every check, and for a violation the smallest failing sub-history;
- a timeline of nemesis events (injected .. healed);
- each node's role over time (who led when);
- throughput (ok / fail / info per second) and latency (p50, p99 of ok operations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from .stats import SecondBucket, per_second, role_segments

PLOT_WIDTH = 960
LABEL_WIDTH = 110
LANE_HEIGHT = 22
CHART_HEIGHT = 160

ROLE_COLORS = {
    "Leader": "#1f77b4",
    "Follower": "#c6dbef",
    "Candidate": "#ff7f0e",
    "Learner": "#98df8a",
    "unreachable": "#d62728",
}
OUTCOME_COLORS = {"ok": "#2ca02c", "fail": "#d62728", "info": "#ffbf00"}
NEMESIS_COLOR = "#9467bd"

CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 .PASS { color: #2ca02c; } h1 .FAIL { color: #d62728; }
table { border-collapse: collapse; margin: 0.5em 0; }
td, th { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
td.ok { color: #2ca02c; font-weight: bold; } td.failed { color: #d62728; font-weight: bold; }
pre { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; }
svg { display: block; margin: 0.5em 0; } svg text { font-size: 11px; }
.legend span { display: inline-block; margin-right: 1em; }
.swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 0.3em; }
"""


def render_report(doc: Mapping[str, Any]) -> str:
    """The whole page."""
    end = _end_time(doc)
    sections = [
        _header(doc),
        _checks(doc.get("checks", [])),
        _nemesis(doc.get("nemesis", {}), end),
        _roles(doc.get("transitions", []), end),
        _load(per_second(doc.get("operations", [])), end),
    ]
    title = f"{doc.get('scenario', 'chaos')} seed {doc.get('seed')}: {doc.get('verdict')}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def _end_time(doc: Mapping[str, Any]) -> float:
    times = [1.0]
    times += [float(op["ended"]) for op in doc.get("operations", [])]
    times += [float(change["t"]) for change in doc.get("transitions", [])]
    for event in doc.get("nemesis", {}).get("events", []):
        times.append(float(event.get("healed_s") or event["started_s"]))
    return max(times)


def _header(doc: Mapping[str, Any]) -> str:
    verdict = str(doc.get("verdict"))
    settings = doc.get("settings", {})
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td>{escape(_setting(v))}</td></tr>" for k, v in settings.items()
    )
    counts = doc.get("counts", {})
    count_text = ", ".join(f"{counts[o]} {o}" for o in ("ok", "fail", "info") if o in counts)
    aborted = doc.get("aborted")
    lines = [
        f"<h1>{escape(str(doc.get('scenario')))} seed {escape(str(doc.get('seed')))}: "
        f"<span class='{escape(verdict)}'>{escape(verdict)}</span></h1>",
        f"<p>Started {escape(str(doc.get('started_at')))}; operations: {escape(count_text)}; "
        f"keys used: {escape(str(doc.get('keys_used')))}. "
        f"Replay with <code>--seed {escape(str(doc.get('seed')))}</code>.</p>",
    ]
    if aborted:
        lines.append(f"<p><b>The run stopped early:</b> {escape(str(aborted))}</p>")
    lines.append(f"<table>{rows}</table>")
    return "\n".join(lines)


def _setting(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _checks(checks: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for check in checks:
        status = "ok" if check["ok"] else "failed"
        problems = "".join(f"<br>{escape(line)}" for line in check.get("problems", []))
        rows.append(
            f"<tr><td>{escape(check['name'])}</td><td class='{status}'>{status}</td>"
            f"<td>{escape(check['summary'])}{problems}</td></tr>"
        )
    witnesses = [_witness(witness) for check in checks for witness in check.get("witnesses", [])]
    table = "<table><tr><th>check</th><th>verdict</th><th>detail</th></tr>" + "".join(rows)
    return "<h2>Verdict per check</h2>\n" + table + "</table>\n" + "\n".join(witnesses)


def _witness(witness: Mapping[str, Any]) -> str:
    """The smallest failing sub-history of one key: a table and its intervals."""
    ops = witness["ops"]
    rows = "".join(
        f"<tr><td>p{op['process']}</td><td>{escape(op['kind'])}</td>"
        f"<td>{escape(repr(op['value']))}</td><td>{op['invoke']:.3f}</td>"
        f"<td>{'…' if op['complete'] is None else format(op['complete'], '.3f')}</td>"
        f"<td>{escape(op['outcome'])}</td></tr>"
        for op in ops
    )
    lanes: dict[str, list[tuple[float, float, str, str]]] = {f"p{op['process']}": [] for op in ops}
    start = min(op["invoke"] for op in ops)
    stop = max(op["complete"] if op["complete"] is not None else op["invoke"] for op in ops)
    span = max(stop - start, 1e-3)
    for op in ops:
        end = op["complete"] if op["complete"] is not None else stop + span * 0.05
        label = f"{op['kind'][0].upper()} {op['value']}"
        lanes[f"p{op['process']}"].append((op["invoke"], end, label, OUTCOME_COLORS[op["outcome"]]))
    svg = _lanes_svg(lanes, start, stop + span * 0.1, with_labels=True)
    return (
        f"<h3>Smallest failing sub-history for key {escape(repr(witness['key']))}</h3>"
        f"<p>{escape(witness['message'])}</p>{svg}"
        "<table><tr><th>process</th><th>op</th><th>value</th><th>invoke s</th>"
        f"<th>complete s</th><th>outcome</th></tr>{rows}</table>"
    )


def _nemesis(nemesis: Mapping[str, Any], end: float) -> str:
    events = nemesis.get("events", [])
    lanes: dict[str, list[tuple[float, float, str, str]]] = {}
    for event in events:
        healed = event.get("healed_s")
        stop = float(healed) if healed is not None else end
        lanes.setdefault(event["nemesis"], []).append(
            (float(event["started_s"]), stop, str(event["action"]), NEMESIS_COLOR)
        )
    skipped = "".join(
        f"<li>{escape(kind)} skipped: {escape(reason)}</li>"
        for kind, reason in nemesis.get("skipped", {}).items()
    )
    rows = "".join(
        f"<tr><td>{event['started_s']:.2f}</td><td>"
        f"{'' if event.get('healed_s') is None else format(event['healed_s'], '.2f')}</td>"
        f"<td>{escape(event['nemesis'])}</td><td>{escape(str(event['action']))}</td></tr>"
        for event in events
    )
    return (
        f"<h2>Nemesis timeline ({len(events)} faults)</h2>"
        + (f"<ul>{skipped}</ul>" if skipped else "")
        + _lanes_svg(lanes, 0.0, end)
        + "<table><tr><th>injected s</th><th>healed s</th><th>nemesis</th><th>action</th></tr>"
        + rows
        + "</table>"
    )


def _roles(transitions: Sequence[Mapping[str, Any]], end: float) -> str:
    lanes = {
        node: [(s.start, s.end, s.detail, ROLE_COLORS.get(s.state, "#999")) for s in segments]
        for node, segments in sorted(role_segments(transitions, end).items())
    }
    legend = "".join(
        f"<span><i class='swatch' style='background:{color}'></i>{escape(role)}</span>"
        for role, color in ROLE_COLORS.items()
    )
    return (
        "<h2>Role of each node over time (leader per node)</h2>"
        f"<div class='legend'>{legend}</div>" + _lanes_svg(lanes, 0.0, end)
    )


def _load(buckets: Sequence[SecondBucket], end: float) -> str:
    legend = "".join(
        f"<span><i class='swatch' style='background:{color}'></i>{outcome}</span>"
        for outcome, color in OUTCOME_COLORS.items()
    )
    return (
        "<h2>Throughput (operations per second, by outcome)</h2>"
        f"<div class='legend'>{legend}</div>"
        + _throughput_svg(buckets, end)
        + "<h2>Latency of ok operations (ms): p50 (solid), p99 (dashed)</h2>"
        + _latency_svg(buckets, end)
    )


def _x(t: float, start: float, stop: float) -> float:
    return LABEL_WIDTH + (t - start) / max(stop - start, 1e-9) * PLOT_WIDTH


def _lanes_svg(
    lanes: Mapping[str, Sequence[tuple[float, float, str, str]]],
    start: float,
    stop: float,
    *,
    with_labels: bool = False,
) -> str:
    """One horizontal lane per name, a bar per (start, end, title, color), a time axis."""
    height = LANE_HEIGHT * len(lanes) + 20
    parts = [f"<svg width='{LABEL_WIDTH + PLOT_WIDTH + 10}' height='{height}'>"]
    for row, (name, bars) in enumerate(lanes.items()):
        y = row * LANE_HEIGHT
        parts.append(f"<text x='0' y='{y + 15}'>{escape(name)}</text>")
        for begin, end, title, color in bars:
            x0, x1 = _x(begin, start, stop), _x(end, start, stop)
            parts.append(
                f"<rect x='{x0:.1f}' y='{y + 3}' width='{max(x1 - x0, 1.5):.1f}' "
                f"height='{LANE_HEIGHT - 6}' fill='{color}' stroke='#555' stroke-width='0.3'>"
                f"<title>{escape(title)} [{begin:.2f} s, {end:.2f} s]</title></rect>"
            )
            if with_labels:
                parts.append(f"<text x='{x0 + 2:.1f}' y='{y + 15}'>{escape(title)}</text>")
    parts.append(_axis(start, stop, LANE_HEIGHT * len(lanes)))
    parts.append("</svg>")
    return "".join(parts)


def _axis(start: float, stop: float, y: float) -> str:
    span = stop - start
    step = next((s for s in (0.01, 0.1, 0.5, 1, 5, 10, 30, 60) if span / s <= 15), 120)
    ticks = []
    tick = start
    while tick <= stop + 1e-9:
        x = _x(tick, start, stop)
        ticks.append(
            f"<line x1='{x:.1f}' y1='{y}' x2='{x:.1f}' y2='{y + 4}' stroke='#555'/>"
            f"<text x='{x:.1f}' y='{y + 15}' text-anchor='middle'>{tick:g}s</text>"
        )
        tick = round(tick + step, 6)
    return "".join(ticks)


def _throughput_svg(buckets: Sequence[SecondBucket], end: float) -> str:
    top = max((bucket.total for bucket in buckets), default=1) or 1
    parts = [f"<svg width='{LABEL_WIDTH + PLOT_WIDTH + 10}' height='{CHART_HEIGHT + 20}'>"]
    parts.append(f"<text x='0' y='12'>{top} ops/s</text><text x='0' y='{CHART_HEIGHT}'>0</text>")
    width = max(PLOT_WIDTH / max(end, 1.0) - 1, 1)
    for bucket in buckets:
        x = _x(bucket.second, 0.0, end)
        y = float(CHART_HEIGHT)
        for outcome in ("ok", "info", "fail"):
            count = getattr(bucket, outcome)
            if not count:
                continue
            h = count / top * (CHART_HEIGHT - 10)
            y -= h
            parts.append(
                f"<rect x='{x:.1f}' y='{y:.1f}' width='{width:.1f}' height='{h:.1f}' "
                f"fill='{OUTCOME_COLORS[outcome]}'><title>{bucket.second}s: {count} {outcome}"
                "</title></rect>"
            )
    parts.append(_axis(0.0, end, CHART_HEIGHT))
    parts.append("</svg>")
    return "".join(parts)


def _latency_svg(buckets: Sequence[SecondBucket], end: float) -> str:
    values = [b.p99_ms for b in buckets if b.p99_ms is not None]
    top = max(values, default=1.0) or 1.0
    parts = [f"<svg width='{LABEL_WIDTH + PLOT_WIDTH + 10}' height='{CHART_HEIGHT + 20}'>"]
    parts.append(f"<text x='0' y='12'>{top:.0f} ms</text><text x='0' y='{CHART_HEIGHT}'>0</text>")
    for field, dash in (("p50_ms", ""), ("p99_ms", " stroke-dasharray='4 3'")):
        points = " ".join(
            f"{_x(b.second + 0.5, 0.0, end):.1f},"
            f"{CHART_HEIGHT - getattr(b, field) / top * (CHART_HEIGHT - 10):.1f}"
            for b in buckets
            if getattr(b, field) is not None
        )
        if points:
            parts.append(
                f"<polyline points='{points}' fill='none' stroke='#1f77b4' stroke-width='1.5'{dash}/>"
            )
    parts.append(_axis(0.0, end, CHART_HEIGHT))
    parts.append("</svg>")
    return "".join(parts)
