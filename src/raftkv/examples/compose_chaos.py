"""compose_chaos: the chaos scenario on Docker Compose, with the same clients, history,
checks and report as the local run.

The nemeses Docker offers: kill (`docker compose kill -s SIGKILL`, then start, on the same
volume), pause (`docker pause`: the cgroup freezer) and partition (`docker network
disconnect` of the leader or a random node, confirmed by a connection probe from another
container before it counts, and after the heal). Membership changes are left out (the
project's services are fixed). With no Docker engine it prints one SKIP line and exits 0.

    scripts/build-image.sh      # once: the node image
    raftkv-tf compose_chaos --duration 60 --clients 8 [--seed N] [--report-dir DIR]
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from raftkv.examples.chaos import (
    RUN_TIMEOUT_MARGIN_S,
    add_arguments,
    chaos_scenario,
    chaos_settings,
    describe_settings,
    report_dir_of,
)
from raftkv.examples.compose_failover import preflight
from raftkv.tf.cli import main as tf_main
from raftkv.tf.compose_deployer import ComposeDeployer, configured_image
from raftkv.tf.compose_project import new_project_name
from raftkv.tf.registry import ScenarioEntry, register
from raftkv.tf.scenario import Scenario

NAME = "compose_chaos"
COMPOSE_KINDS = ("kill", "pause", "partition")
#: Container kills and restarts are slower than local processes on a loaded machine.
EXTRA_RUN_TIMEOUT_S = 120.0


def build(args: argparse.Namespace) -> Scenario:
    if args.nemesis is None:
        args.nemesis = COMPOSE_KINDS
    deployer = partial(ComposeDeployer, project_name=new_project_name(args.seed))
    if args.run_timeout is None:
        args.run_timeout = args.duration + RUN_TIMEOUT_MARGIN_S + EXTRA_RUN_TIMEOUT_S
    return chaos_scenario(
        chaos_settings(args), report_dir_of(args), args, name=NAME, deployer=deployer
    )


def add_compose_arguments(parser: argparse.ArgumentParser) -> None:
    """The chaos options; without --nemesis, the kinds Compose offers."""
    add_arguments(parser)
    parser.set_defaults(nemesis=None)


ENTRY = register(
    ScenarioEntry(
        name=NAME,
        summary="Docker Compose: clients under kill/pause/partition faults, history checked "
        "for linearizability",
        build=build,
        add_arguments=add_compose_arguments,
        preflight=preflight,
        describe_settings=lambda args: {**describe_settings(args), "image": configured_image()},
    )
)


def main(argv: list[str] | None = None) -> int:
    return tf_main([NAME, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
