"""The chaos report: `history.json` (every operation, nemesis event, observer transition and
check verdict) and `report.html` (the same, drawn; see `html`), in one directory."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import msgspec

from raftkv.checker import Operation
from raftkv.tf.context import RunContext

from .checks import CHECK_NAMES, CheckResult
from .html import render_report
from .run import ChaosRun

HISTORY_FILE = "history.json"
HTML_FILE = "report.html"


def default_report_dir(seed: int, json_path: Path | None = None) -> Path:
    """`chaos-<seed>-<UTC time>` in the working directory, or beside the `--json` file."""
    name = f"chaos-{seed}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    return (json_path.parent if json_path is not None else Path.cwd()) / name


async def write_report(ctx: RunContext, chaos: ChaosRun, directory: Path) -> Path:
    """Writes both files into `directory` (created); returns the HTML file's path.

    NB: the document is gathered on the event loop, where the observer keeps appending to
    the history it reads; only encoding and writing go to a thread.
    """
    document = report_document(ctx, chaos)
    return await asyncio.to_thread(write_document, document, directory)


def write_document(document: dict[str, Any], directory: Path) -> Path:
    """Writes `history.json` and `report.html` of a `report_document` into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    encoded = msgspec.json.format(msgspec.json.encode(document), indent=1)
    (directory / HISTORY_FILE).write_bytes(encoded + b"\n")
    html = directory / HTML_FILE
    html.write_text(render_report(document), encoding="utf-8")
    return html


def report_document(ctx: RunContext, chaos: ChaosRun) -> dict[str, Any]:
    """The JSON-ready record of the run (also what the HTML page is drawn from)."""
    settings = chaos.settings
    history = chaos.clients.history
    final = chaos.final
    return {
        "scenario": ctx.report.scenario,
        "seed": ctx.report.seed,
        "started_at": ctx.report.started_at,
        "verdict": "PASS" if chaos.passed else "FAIL",
        "aborted": chaos.aborted,
        "settings": {
            "nemesis": list(settings.kinds),
            "duration_s": settings.duration,
            **asdict(settings.clients),
            "check_time_limit_s": settings.check_time_limit,
        },
        "checks": [
            check_json(chaos.results[name]) for name in CHECK_NAMES if name in chaos.results
        ],
        "nemesis": {
            "events": [asdict(event) for event in chaos.nemesis.events],
            "skipped": dict(chaos.nemesis.skipped),
        },
        "transitions": ctx.observer.transitions(ctx.started),
        "counts": history.counts(),
        "keys_used": chaos.clients.keys.keys_used,
        "final_state": None if final is None else asdict(final),
        "unsettled": chaos.unsettled,
        "operations": [record.to_json() for record in history.records],
    }


def check_json(result: CheckResult) -> dict[str, Any]:
    return {
        "name": result.name,
        "ok": result.ok,
        "summary": result.summary,
        "problems": list(result.problems),
        "witnesses": [
            {"key": w.key, "message": w.message, "ops": [operation_json(op) for op in w.ops]}
            for w in result.witnesses
        ],
        "facts": result.facts,
    }


def operation_json(op: Operation) -> dict[str, Any]:
    return {
        "process": op.process,
        "kind": op.kind,
        "key": op.key,
        "value": op.value,
        "invoke": op.invoke,
        "complete": op.complete,
        "outcome": op.outcome,
    }
