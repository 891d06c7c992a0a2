"""The failover scenario for any deployer: the flow of the reference's `basic_failover`,
`compose_failover` and `k8s_failover`, which differ only in where the nodes run.

    def build(args):  # in a scenario module, with add_failover_arguments(parser)
        return failover_scenario("compose_failover", ComposeDeployer, args)
"""

from __future__ import annotations

import argparse

from .cli import node_settings
from .expectations import ConvergenceExpectation
from .scenario import DeployerFactory, Scenario
from .workloads import FailoverWorkload

DEFAULT_RUN_TIMEOUT_S = 120.0


def add_failover_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--restart-mode",
        choices=["kill", "graceful"],
        default="kill",
        help="kill: SIGKILL the leader and respawn it on its data, which the survivors "
        "notice by an election (the seed's restart); graceful: SIGTERM, the leader hands "
        "leadership over first (default: %(default)s)",
    )
    parser.add_argument("--first-batch", type=int, default=8, help="%(default)s")
    parser.add_argument("--second-batch", type=int, default=8, help="%(default)s")
    parser.add_argument("--write-timeout", type=float, metavar="S", help="deadline of one write")


def failover_settings(args: argparse.Namespace) -> dict[str, object]:
    return {"restart_mode": args.restart_mode}


def failover_scenario(
    name: str,
    deployer: DeployerFactory,
    args: argparse.Namespace,
    *,
    run_timeout: float = DEFAULT_RUN_TIMEOUT_S,
) -> Scenario:
    """Three nodes: bootstrap, write, restart the leader, write again, converge."""
    return (
        Scenario.builder(name)
        .describe("restart the leader of a 3-node cluster; a different leader takes over")
        .nodes(3)
        .node_settings(node_settings(args))
        .deployer(deployer)
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
        .run_timeout(args.run_timeout or run_timeout)
        .build()
    )
