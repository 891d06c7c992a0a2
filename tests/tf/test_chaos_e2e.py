"""The real chaos scenario on local processes, with every nemesis this machine supports:
the verdict must be clean (a violation here is a bug: keep the seed and the witness).

The 60-second run is what CI runs; the short one sends each operation once (`--no-retry`), so
the checker also meets the fail and info outcomes that retries would otherwise hide.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from raftkv.tf.cli import build_parser
from raftkv.tf.local import LocalDeployer
from raftkv.tf.nemesis import KINDS, unsupported_kinds
from raftkv.tf.registry import scenarios
from raftkv.tf.report import PASS, Reporter
from raftkv.tf.runner import new_report, run_scenario

pytestmark = pytest.mark.e2e


async def run_chaos(tmp_path: Path, duration: float, seed: int, *extra: str) -> dict[str, object]:
    """Runs `raftkv-tf chaos` in-process; returns its history.json, after asserting PASS."""
    entries = scenarios()
    entry = next(entry for entry in entries if entry.name == "chaos")
    report_dir = tmp_path / "report"
    argv = ["chaos", "--duration", str(duration), "--seed", str(seed)]
    argv += ["--report-dir", str(report_dir), *extra]
    args = build_parser(entries).parse_args(argv)
    scenario = entry.build(args)
    output = io.StringIO()
    report = new_report(scenario, seed)
    await run_scenario(scenario, report, reporter=Reporter(Console(file=output, width=200)))
    assert report.verdict == PASS, output.getvalue()
    assert (report_dir / "report.html").is_file()
    return json.loads((report_dir / "history.json").read_text())


def expected_skips() -> set[str]:
    return set(unsupported_kinds(LocalDeployer()))


def assert_clean(history: dict[str, object]) -> None:
    assert history["verdict"] == "PASS"
    checks = history["checks"]
    assert isinstance(checks, list)
    assert [check["name"] for check in checks] == [
        "linearizability",
        "durability",
        "convergence",
        "local-reads",
    ]
    assert all(check["ok"] for check in checks), checks
    nemesis = history["nemesis"]
    assert isinstance(nemesis, dict)
    assert set(nemesis["skipped"]) == expected_skips()
    assert nemesis["events"] and all(e["healed_s"] is not None for e in nemesis["events"])
    counts = history["counts"]
    assert isinstance(counts, dict) and counts["ok"] > 0


@pytest.mark.timeout(600)
async def test_sixty_seconds_of_every_supported_nemesis_is_clean(tmp_path: Path) -> None:
    history = await run_chaos(tmp_path, 60.0, seed=6)
    assert_clean(history)
    kinds_seen = {event["nemesis"] for event in history["nemesis"]["events"]}  # type: ignore[index]
    # The membership nemesis records leader transfers as "transfer".
    assert kinds_seen <= set(KINDS) - expected_skips() | {"transfer"}
    assert len(kinds_seen) >= 2
    assert history["keys_used"] > 4  # type: ignore[operator]


@pytest.mark.timeout(300)
async def test_ten_seconds_of_chaos_without_retries_is_clean(tmp_path: Path) -> None:
    history = await run_chaos(tmp_path, 10.0, 3, "--no-retry")
    assert_clean(history)
    counts = history["counts"]
    assert isinstance(counts, dict)
    assert counts["fail"] + counts["info"] > 0, counts
