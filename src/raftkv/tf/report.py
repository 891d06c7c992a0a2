"""What a run tells a person (one line per step, then a verdict) and a machine (JSON).

The console lines come from `Reporter`; the same facts accumulate in `RunReport`, which
`--json PATH` writes: steps with timings, named measurements, the observed states, the
verdict and its reason.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from rich.console import Console
from rich.markup import escape

PASS, FAIL, INTERRUPTED = "PASS", "FAIL", "INTERRUPTED"


@dataclass(slots=True)
class StepRecord:
    """One step of a run; `started_s` counts from the start of the run."""

    name: str
    started_s: float
    duration_s: float = 0.0
    ok: bool = True
    detail: str = ""


@dataclass(slots=True)
class RunReport:
    scenario: str
    seed: int
    settings: dict[str, Any]
    started_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    )
    deployer: str = ""
    steps: list[StepRecord] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    verdict: str = FAIL
    reason: str = ""
    failures: list[str] = field(default_factory=list)
    total_s: float = 0.0
    last_observations: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def to_json(self) -> bytes:
        return msgspec.json.format(msgspec.json.encode(asdict(self)), indent=2)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_json() + b"\n")


class Reporter:
    """Prints a run as it goes. Quiet mode prints only the verdict."""

    def __init__(self, console: Console | None = None, *, quiet: bool = False) -> None:
        self.console = console or Console(highlight=False)
        self.quiet = quiet

    def started(self, report: RunReport) -> None:
        settings = " ".join(f"{key}={value}" for key, value in report.settings.items())
        self._line(
            f"[bold]{escape(report.scenario)}[/] seed [bold]{report.seed}[/] "
            f"(replay with --seed {report.seed}); {escape(settings)}"
        )

    def step(self, record: StepRecord) -> None:
        mark = "[green]✓[/]" if record.ok else "[red]✗[/]"
        detail = f" [dim]{escape(record.detail)}[/]" if record.detail else ""
        self._line(f"  {mark} {escape(record.name)}{detail} [cyan]{record.duration_s:.2f} s[/]")

    def note(self, text: str) -> None:
        self._line(f"    {escape(text)}")

    def observations(self, rows: list[dict[str, Any]]) -> None:
        """The last observation of every node (printed when a run fails)."""
        self.console.print("  last observation of every node:")
        for row in rows:
            fields = " ".join(
                f"{key}={value}"
                for key, value in row.items()
                if key != "node" and value is not None
            )
            self.console.print(f"    {escape(str(row.get('node')))}: {escape(fields)}")

    def finished(self, report: RunReport) -> None:
        color = "green" if report.passed else "red"
        timings = ", ".join(f"{key} {value:.2f} s" for key, value in report.timings.items())
        self.console.print(
            f"[bold {color}]{report.verdict}[/] {escape(report.scenario)} in "
            f"{report.total_s:.2f} s" + (f" ({escape(timings)})" if timings else "")
        )
        if report.reason:
            self.console.print(f"  reason: {escape(report.reason)}")
        for failure in report.failures:
            self.console.print(f"  - {escape(failure)}")
        if report.deployer:
            self.console.print(f"  {escape(report.deployer)}")

    def _line(self, markup: str) -> None:
        if not self.quiet:
            self.console.print(markup)
