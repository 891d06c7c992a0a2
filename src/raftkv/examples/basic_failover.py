"""basic_failover: the leader-restart flow on local processes.

Three nodes; node 0 bootstraps a one-node cluster, nodes 1 and 2 join as learners and
become voters; 8 keys are written through the leader; the leader restarts (kill: SIGKILL
and immediate respawn on the same data and port, or graceful: SIGTERM); a different
leader must be agreed; 8 more keys are written; every node must show the same voters, keys
and applied index. The restart is a kill by default, like the seed's; the invariants are
checked during the whole run.

    raftkv-tf basic_failover [--restart-mode kill|graceful] [--seed N] [--json PATH]
    python -m raftkv.examples.basic_failover [same options]
"""

from __future__ import annotations

import argparse
import sys

from raftkv.tf.cli import main as tf_main
from raftkv.tf.failover_preset import add_failover_arguments, failover_scenario, failover_settings
from raftkv.tf.local import LocalDeployer
from raftkv.tf.registry import ScenarioEntry, register
from raftkv.tf.scenario import Scenario

NAME = "basic_failover"


def build(args: argparse.Namespace) -> Scenario:
    return failover_scenario(NAME, LocalDeployer, args)


ENTRY = register(
    ScenarioEntry(
        name=NAME,
        summary="local processes: restart the leader, a different leader takes over",
        build=build,
        add_arguments=add_failover_arguments,
        describe_settings=failover_settings,
    )
)


def main(argv: list[str] | None = None) -> int:
    return tf_main([NAME, *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
