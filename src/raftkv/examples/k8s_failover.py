"""k8s_failover: basic_failover's leader-restart flow on a Kubernetes cluster.

The same workload, observer and expectation as basic_failover; the deployer runs a 3-pod
StatefulSet in a namespace of its own and reaches the pods through port-forwards. Graceful
restart: the leader's pod is deleted with its grace period; kill: the node is SIGKILLed in
its container. The image is OPENRAFT_KV_K8S_IMAGE, else OPENRAFT_KV_IMAGE, else
`raftkv-node:local` (load it into the cluster first: deploy/README.md has kind and k3s).

With no reachable cluster it prints one SKIP line naming why and exits 0;
K8S_RUNNER_REQUIRE_CLUSTER=1 (or true, yes) turns that into a failure (exit 1). K8S_RUNNER_PRESERVE=1 keeps
the namespace.

    raftkv-tf k8s_failover [--restart-mode graceful|kill] [--seed N] [--json PATH]
"""

from __future__ import annotations

import argparse
import secrets
import sys
from functools import partial

from raftkv.tf import env
from raftkv.tf.cli import main as tf_main
from raftkv.tf.failover_preset import add_failover_arguments, failover_scenario, failover_settings
from raftkv.tf.k8s_deployer import (
    REQUIRE_CLUSTER_ENV,
    K8sDeployer,
    cluster_problem,
    configured_image,
)
from raftkv.tf.registry import ScenarioEntry, ScenarioSkipped, register
from raftkv.tf.scenario import Scenario

NAME = "k8s_failover"
#: Pod scheduling, volume binding and port-forwards take longer than local processes.
DEFAULT_RUN_TIMEOUT_S = 600.0


async def preflight(args: argparse.Namespace) -> None:
    """Skips (exit 0) when no cluster answers; exit 1 when K8S_RUNNER_REQUIRE_CLUSTER=1."""
    problem = await cluster_problem()
    if problem is None:
        return
    if env.flag(REQUIRE_CLUSTER_ENV):
        raise ScenarioSkipped(
            f"FAILED: {REQUIRE_CLUSTER_ENV}=1 but no Kubernetes cluster is reachable: {problem}",
            exit_code=1,
        )
    raise ScenarioSkipped(f"no Kubernetes cluster reachable: {problem}")


def build(args: argparse.Namespace) -> Scenario:
    # The seed names the run; the random part keeps a rerun clear of a namespace that is
    # still terminating.
    namespace = f"raftkv-{args.seed}-{secrets.token_hex(2)}"
    deployer = partial(K8sDeployer, namespace=namespace)
    return failover_scenario(NAME, deployer, args, run_timeout=DEFAULT_RUN_TIMEOUT_S)


ENTRY = register(
    ScenarioEntry(
        name=NAME,
        summary="Kubernetes: restart the leader's pod, a different leader takes over",
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
