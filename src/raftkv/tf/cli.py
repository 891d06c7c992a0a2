"""`raftkv-tf`: run a registered scenario, or `raftkv-tf list` to see them all.

Exit status: 0 PASS (or a skip), 1 FAIL, 2 bad usage, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from pathlib import Path

from rich.console import Console

from .deployer import NodeSettings
from .registry import ScenarioEntry, ScenarioSkipped, scenarios
from .report import Reporter, RunReport
from .runner import new_report, run_scenario

EXIT_PASS, EXIT_FAIL, EXIT_INTERRUPTED = 0, 1, 130


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """Options every scenario takes: seed, report, run timeout and node timings."""
    defaults = NodeSettings()
    parser.add_argument("--seed", type=int, help="seed of every random choice (default: random)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write a JSON report to PATH")
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
    for entry in entries:
        sub = commands.add_parser(entry.name, help=entry.summary, description=entry.summary)
        add_common_arguments(sub)
        if entry.add_arguments is not None:
            entry.add_arguments(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    entries = scenarios()
    args = build_parser(entries).parse_args(argv)
    if args.scenario == "list":
        for entry in entries:
            print(f"{entry.name:<20} {entry.summary}")
        return EXIT_PASS
    entry = next(entry for entry in entries if entry.name == args.scenario)
    if args.seed is None:
        args.seed = secrets.randbits(32)
    report_holder: list[RunReport] = []
    try:
        return asyncio.run(_run(entry, args, report_holder))
    except KeyboardInterrupt:
        if args.json is not None and report_holder:
            report_holder[0].write_json(args.json)
        return EXIT_INTERRUPTED


async def _run(entry: ScenarioEntry, args: argparse.Namespace, holder: list[RunReport]) -> int:
    console = Console(highlight=False, soft_wrap=True)
    try:
        if entry.preflight is not None:
            await entry.preflight(args)
        scenario = entry.build(args)
    except ScenarioSkipped as skipped:
        # A skip the user asked to treat as a failure (K8S_RUNNER_REQUIRE_CLUSTER=1) reads FAIL.
        verdict = "SKIP" if skipped.exit_code == EXIT_PASS else "FAIL"
        console.print(f"{verdict} {entry.name}: {skipped}")
        return skipped.exit_code
    settings = dict(entry.describe_settings(args)) if entry.describe_settings else {}
    report = new_report(scenario, args.seed, settings)
    holder.append(report)
    await run_scenario(scenario, report, reporter=Reporter(console, quiet=args.quiet))
    if args.json is not None:
        report.write_json(args.json)
        console.print(f"  JSON report: {args.json}")
    return EXIT_PASS if report.passed else EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
