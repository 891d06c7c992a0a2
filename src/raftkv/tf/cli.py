"""`raftkv-tf`: run a registered scenario, `raftkv-tf run path/to/scenario.py` to run the
scenario a file defines, or `raftkv-tf list` to see every registered one (built in and
installed through the `raftkv.scenarios` entry points).

Exit status: 0 PASS (or a skip), 1 FAIL, 2 bad usage, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import secrets
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from . import render as render_module
from .deployer import NodeSettings
from .junit import junit_document, skipped_document, write_junit
from .registry import ScenarioEntry, ScenarioNotFound, ScenarioSkipped, load_file, scenarios
from .report import Reporter, RunReport
from .runner import new_report, run_scenario
from .scenario import Scenario

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every scenario takes: seed, report, run timeout and node timings."""
    defaults = NodeSettings()
    parser.add_argument("--seed", type=int, help="seed of every random choice (default: random)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write a JSON report to PATH")
    parser.add_argument(
        "--junit", type=Path, metavar="PATH", help="write a JUnit XML report to PATH"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the verdict")
    parser.add_argument("--run-timeout", type=float, metavar="S", help="abort the run after S s")
    parser.add_argument(
        "--heartbeat-ms", type=int, default=defaults.heartbeat_interval_ms, help="%(default)s"
    )
    parser.add_argument(
        "--election-min-ms", type=int, default=defaults.election_timeout_min_ms, help="%(default)s"
    )
    parser.add_argument(
        "--election-max-ms", type=int, default=defaults.election_timeout_max_ms, help="%(default)s"
    )
    parser.add_argument(
        "--observer-interval", type=float, default=0.1, metavar="S", help="%(default)s"
    )
    parser.add_argument(
        "--check-interval",
        type=float,
        metavar="S",
        help="seconds between the expectations' continuous checks (default: the scenario's, 1)",
    )
    parser.add_argument(
        "--cooldown",
        type=float,
        metavar="S",
        help="settle window between the last fault and the evaluation (default: the scenario's)",
    )
    parser.add_argument(
        "--snapshot-threshold",
        type=int,
        metavar="N",
        help="nodes compact their log every N applied entries (default: the node's, 10000); "
        "a small N makes snapshots and their installs happen during the faults",
    )


def node_settings(args: argparse.Namespace) -> NodeSettings:
    """The node timings of the command line, for scenario builders."""
    extra: dict[str, object] = {}
    if args.snapshot_threshold is not None:
        if args.snapshot_threshold < 1:
            raise SystemExit("raftkv-tf: --snapshot-threshold: must be >= 1")
        extra["snapshot_threshold"] = args.snapshot_threshold
    return NodeSettings(
        heartbeat_interval_ms=args.heartbeat_ms,
        election_timeout_min_ms=args.election_min_ms,
        election_timeout_max_ms=args.election_max_ms,
        extra=extra,
    )


def build_parser(entries: list[ScenarioEntry]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raftkv-tf", description="Run raftkv scenarios against real nodes."
    )
    commands = parser.add_subparsers(dest="scenario", required=True, metavar="SCENARIO")
    commands.add_parser("list", help="list every scenario")
    run = commands.add_parser(
        "run",
        help="run the scenario a Python file defines",
        description="raftkv-tf run PATH [options]: PATH defines build(args) -> Scenario, a "
        "module-level `scenario`, or registers a ScenarioEntry (see docs/writing-scenarios.md)",
    )
    run.add_argument("path", type=Path)
    run.add_argument("options", nargs=argparse.REMAINDER, help="the scenario's options")
    render = commands.add_parser(
        "render",
        help="write compose or Kubernetes files of a cluster, to apply without the framework",
        description=render_module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render_module.add_render_arguments(render)
    for entry in entries:
        sub = commands.add_parser(entry.name, help=entry.summary, description=entry.summary)
        add_common_arguments(sub)
        if entry.add_arguments is not None:
            entry.add_arguments(sub)
    return parser


def file_parser(entry: ScenarioEntry, path: Path) -> argparse.ArgumentParser:
    """The options of the scenario a file defines (common ones and its own)."""
    parser = argparse.ArgumentParser(
        prog=f"raftkv-tf run {path}", description=entry.summary or None
    )
    add_common_arguments(parser)
    if entry.add_arguments is not None:
        entry.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["run"] and len(argv) > 1 and not argv[1].startswith("-"):
        try:
            entry = load_file(Path(argv[1]))
        except ScenarioNotFound as error:
            print(f"raftkv-tf run: {error}", file=sys.stderr)
            return EXIT_USAGE
        return run_entry(entry, file_parser(entry, Path(argv[1])).parse_args(argv[2:]))
    entries = scenarios()
    args = build_parser(entries).parse_args(argv)
    if args.scenario == "render":
        return render_module.render(args)
    if args.scenario == "list":
        width = max(len(entry.name) for entry in entries) + 2
        for entry in entries:
            print(f"{entry.name:<{width}}{entry.summary}  [{entry.origin}]")
        return EXIT_PASS
    entry = next(entry for entry in entries if entry.name == args.scenario)
    return run_entry(entry, args)


def run_entry(entry: ScenarioEntry, args: argparse.Namespace) -> int:
    """Runs `entry` with its parsed options; the exit status."""
    if args.seed is None:
        args.seed = secrets.randbits(32)
    report_holder: list[RunReport] = []
    try:
        return asyncio.run(_run(entry, args, report_holder))
    except KeyboardInterrupt:
        if report_holder:
            write_reports(report_holder[0], args)
        return EXIT_INTERRUPTED


def write_reports(report: RunReport, args: argparse.Namespace) -> list[str]:
    """Writes the JSON and JUnit reports asked for; one line per file written."""
    written = []
    if args.json is not None:
        report.write_json(args.json)
        written.append(f"JSON report: {args.json}")
    if args.junit is not None:
        write_junit(junit_document(report), args.junit)
        written.append(f"JUnit report: {args.junit}")
    return written


async def _run(entry: ScenarioEntry, args: argparse.Namespace, holder: list[RunReport]) -> int:
    console = Console(highlight=False, soft_wrap=True)
    try:
        if entry.preflight is not None:
            await entry.preflight(args)
        scenario = with_overrides(entry.build(args), args)
    except ScenarioSkipped as skipped:
        # A skip the user asked to treat as a failure (K8S_RUNNER_REQUIRE_CLUSTER=1) reads FAIL.
        verdict = "SKIP" if skipped.exit_code == EXIT_PASS else "FAIL"
        console.print(f"{verdict} {entry.name}: {skipped}")
        if args.junit is not None:
            failed = skipped.exit_code != EXIT_PASS
            write_junit(skipped_document(entry.name, str(skipped), failed=failed), args.junit)
        return skipped.exit_code
    settings = dict(entry.describe_settings(args)) if entry.describe_settings else {}
    report = new_report(scenario, args.seed, settings)
    holder.append(report)
    await run_scenario(scenario, report, reporter=Reporter(console, quiet=args.quiet))
    for line in write_reports(report, args):
        console.print(f"  {line}")
    return EXIT_PASS if report.passed else EXIT_FAIL


def with_overrides(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """The scenario with the run-window options of the command line applied."""
    overrides: dict[str, Any] = {}
    for option in ("check_interval", "cooldown"):
        value = getattr(args, option, None)
        if value is not None:
            if value < 0 or (option == "check_interval" and value == 0):
                raise SystemExit(f"raftkv-tf: --{option.replace('_', '-')}: must be positive")
            overrides[option] = value
    return dataclasses.replace(scenario, **overrides) if overrides else scenario


if __name__ == "__main__":
    sys.exit(main())
