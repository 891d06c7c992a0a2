"""basic_failover: the leader-restart flow on local processes.

Three nodes; node 0 bootstraps a one-node cluster, nodes 1 and 2 join as learners and
become voters; 8 keys are written through the leader; the leader restarts (graceful:
SIGTERM, or kill: SIGKILL and immediate respawn on the same data and port); a different
leader must be agreed; 8 more keys are written; every node must show the same voters, keys
and applied index.

    raftkv-tf basic_failover [--restart-mode graceful|kill] [--seed N] [--json PATH]
    python -m raftkv.examples.basic_failover [same options]
"""

from __future__ import annotations

import argparse
import sys

from raftkv.tf.cli import main as tf_main
from raftkv.tf.cli import node_settings
from raftkv.tf.expectations import ConvergenceExpectation
from raftkv.tf.local import LocalDeployer
from raftkv.tf.registry import ScenarioEntry, register
from raftkv.tf.scenario import Scenario
from raftkv.tf.workloads import FailoverWorkload

NAME = "basic_failover"
DEFAULT_RUN_TIMEOUT_S = 120.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--restart-mode",
        choices=["graceful", "kill"],
        default="graceful",
        help="how the leader restarts (default: %(default)s)",
    )
    parser.add_argument("--first-batch", type=int, default=8, help="%(default)s")
    parser.add_argument("--second-batch", type=int, default=8, help="%(default)s")
    parser.add_argument("--write-timeout", type=float, metavar="S", help="deadline of one write")


def build(args: argparse.Namespace) -> Scenario:
    return (
        Scenario.builder(NAME)
        .describe("restart the leader of a local 3-node cluster; a new leader takes over")
        .nodes(3)
        .node_settings(node_settings(args))
        .deployer(LocalDeployer)
        .workload(
            FailoverWorkload(
                first_batch=args.first_batch,
                second_batch=args.second_batch,
                restart_mode=args.restart_mode,
                write_timeout=args.write_timeout,
            )
        )
        .expectation(ConvergenceExpectation())
        .observer(interval=args.observer_interval)
        .run_timeout(args.run_timeout or DEFAULT_RUN_TIMEOUT_S)
        .build()
    )


ENTRY = register(
    ScenarioEntry(
        name=NAME,
        summary="local processes: restart the leader, a different leader takes over",
        build=build,
        add_arguments=add_arguments,
        describe_settings=lambda args: {"restart_mode": args.restart_mode},
    )
)


def main(argv: list[str] | None = None) -> int:
    return tf_main([NAME, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
