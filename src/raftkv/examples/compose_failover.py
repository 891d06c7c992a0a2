"""compose_failover: basic_failover's leader-restart flow on Docker Compose.

The same workload, observer and expectation as basic_failover; only the deployer differs:
three containers of the node image (`raftkv-node:local`, or OPENRAFT_KV_IMAGE) on a user
network, reached on 127.0.0.1 ports chosen at run time. Graceful restart: `docker compose
restart`; kill: `docker compose kill -s SIGKILL` + start. The project is removed at the end
unless COMPOSE_RUNNER_PRESERVE=1. With no Docker engine it prints one SKIP line and exits 0.

    scripts/build-image.sh      # once: the node image (see deploy/README.md)
    raftkv-tf compose_failover [--restart-mode graceful|kill] [--seed N] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

from raftkv.tf import compose_cli
from raftkv.tf.cli import main as tf_main
from raftkv.tf.compose_deployer import ComposeDeployer, configured_image
from raftkv.tf.compose_project import new_project_name
from raftkv.tf.failover_preset import add_failover_arguments, failover_scenario, failover_settings
from raftkv.tf.registry import ScenarioEntry, ScenarioSkipped, register
from raftkv.tf.scenario import Scenario

NAME = "compose_failover"
#: Container starts and restarts are slower than local processes on a loaded 2-core machine.
DEFAULT_RUN_TIMEOUT_S = 240.0


async def preflight(args: argparse.Namespace) -> None:
    """Skips (exit 0) when no Docker engine or no Compose v2 plugin answers."""
    problem = await compose_cli.engine_problem() or await compose_cli.compose_problem()
    if problem:
        raise ScenarioSkipped(f"no Docker engine reachable: {problem}")


def build(args: argparse.Namespace) -> Scenario:
    deployer = partial(ComposeDeployer, project_name=new_project_name(args.seed))
    return failover_scenario(NAME, deployer, args, run_timeout=DEFAULT_RUN_TIMEOUT_S)


ENTRY = register(
    ScenarioEntry(
        name=NAME,
        summary="Docker Compose: restart the leader, a different leader takes over",
        build=build,
        add_arguments=add_failover_arguments,
        preflight=preflight,
        describe_settings=lambda args: {**failover_settings(args), "image": configured_image()},
    )
)


def main(argv: list[str] | None = None) -> int:
    return tf_main([NAME, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
