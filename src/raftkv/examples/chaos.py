"""chaos: concurrent clients against a local 3-voter cluster while nemeses inject faults;
the history is checked for linearizability, lost writes, convergence and invented reads.

    raftkv-tf chaos --nemesis kill,pause,partition,membership --duration 60 --clients 8
                    [--keys 4] [--report-dir DIR] [--seed N]
    python -m raftkv.examples.chaos [same options]

Kinds this machine cannot inject (partitions need root, iptables and a loopback address
per node) are skipped, each with a one-line reason. The seed reproduces the fault schedule.
The report (history.json, report.html) goes to --report-dir, by default
`chaos-<seed>-<time>/` in the working directory (beside the --json file when given).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from raftkv.tf.chaos import (
    ChaosRun,
    ChaosSettings,
    ChaosWorkload,
    ClientSettings,
    chaos_expectations,
    default_report_dir,
)
from raftkv.tf.cli import main as tf_main
from raftkv.tf.cli import node_settings
from raftkv.tf.local import LocalDeployer
from raftkv.tf.nemesis import KINDS
from raftkv.tf.registry import ScenarioEntry, register
from raftkv.tf.scenario import DeployerFactory, Scenario

NAME = "chaos"
#: Bootstrap, settling twice, the checks and the report, on top of the duration.
RUN_TIMEOUT_MARGIN_S = 300.0


def nemesis_kinds(text: str) -> tuple[str, ...]:
    """`--nemesis kill,pause`: known kinds, each once, in the order given."""
    kinds = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown or not kinds:
        raise argparse.ArgumentTypeError(
            f"unknown nemesis {', '.join(unknown) or repr(text)}: choose from {','.join(KINDS)}"
        )
    return kinds


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def at_least_one(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--nemesis",
        type=nemesis_kinds,
        default=KINDS,
        metavar="KINDS",
        help=f"comma-separated fault kinds among {','.join(KINDS)} (default: all)",
    )
    parser.add_argument("--duration", type=positive_seconds, default=60.0, help="%(default)s")
    parser.add_argument("--clients", type=at_least_one, default=8, help="%(default)s")
    parser.add_argument("--keys", type=at_least_one, default=4, help="active keys %(default)s")
    parser.add_argument(
        "--ops-per-key", type=at_least_one, default=300, help="then a fresh key %(default)s"
    )
    parser.add_argument(
        "--no-retry",
        action="store_true",
        help="one request per operation (more fail and info outcomes for the checker)",
    )
    parser.add_argument(
        "--check-time-limit",
        type=positive_seconds,
        default=60.0,
        metavar="S",
        help="linearizability search budget over all keys (default: %(default)s)",
    )
    parser.add_argument(
        "--report-dir", type=Path, metavar="DIR", help="where history.json and report.html go"
    )


def describe_settings(args: argparse.Namespace) -> dict[str, object]:
    return {
        "nemesis": ",".join(args.nemesis),
        "duration_s": args.duration,
        "clients": args.clients,
        "keys": args.keys,
        "retry": not args.no_retry,
    }


def build(args: argparse.Namespace) -> Scenario:
    return chaos_scenario(chaos_settings(args), report_dir_of(args), args)


def chaos_settings(args: argparse.Namespace) -> ChaosSettings:
    return ChaosSettings(
        kinds=tuple(args.nemesis),
        duration=args.duration,
        clients=ClientSettings(
            clients=args.clients,
            keys=args.keys,
            ops_per_key=args.ops_per_key,
            retry=not args.no_retry,
        ),
        check_time_limit=args.check_time_limit,
    )


def report_dir_of(args: argparse.Namespace) -> Path:
    if args.report_dir is not None:
        return Path(args.report_dir)
    return default_report_dir(args.seed, args.json)


def chaos_scenario(
    settings: ChaosSettings,
    report_dir: Path,
    args: argparse.Namespace,
    *,
    name: str = NAME,
    deployer: DeployerFactory = LocalDeployer,
) -> Scenario:
    """Three nodes (local processes by default), the chaos workload, its checks, its report."""
    chaos = ChaosRun(settings)
    builder = (
        Scenario.builder(name)
        .describe("clients under faults; the history is checked afterwards")
        .nodes(3)
        .node_settings(node_settings(args))
        .deployer(deployer)
        .workload(ChaosWorkload(chaos, report_dir))
        .observer(interval=args.observer_interval)
        .run_timeout(args.run_timeout or settings.duration + RUN_TIMEOUT_MARGIN_S)
    )
    for expectation in chaos_expectations(chaos, report_dir):
        builder.expectation(expectation)
    return builder.build()


ENTRY = register(
    ScenarioEntry(
        name=NAME,
        summary="local processes: clients under kill/pause/partition/membership faults, "
        "history checked for linearizability",
        build=build,
        add_arguments=add_arguments,
        describe_settings=describe_settings,
    )
)


def main(argv: list[str] | None = None) -> int:
    return tf_main([NAME, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
