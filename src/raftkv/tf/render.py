"""`raftkv-tf render`: the deployment files of a cluster, for a user to apply as they are.

    raftkv-tf render --deployer compose --nodes 3 --out DIR    # then: docker compose up -d
    raftkv-tf render --deployer k8s --nodes 3 --out DIR        # then: kubectl apply -k DIR

Compose: `DIR/compose.yaml` and one `node-<i>.yaml` per node (named relative to the compose
file), node i published on 127.0.0.1:`--base-port`+i, its data in a named volume. Kubernetes:
a kustomize directory (StatefulSet, headless Service, ConfigMap) whose peer addresses are the
same in every namespace; with `--namespace` it also creates and names that namespace. Then
`raftkv cluster form --nodes ...` forms the cluster; the command prints what to run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .compose_deployer import configured_image as compose_image
from .compose_project import render_project
from .deployer import NodeSettings, Topology
from .k8s_deployer import configured_image as k8s_image
from .k8s_manifests import K8sRun, write_kustomization


def add_render_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = NodeSettings()
    parser.add_argument("--deployer", choices=["compose", "k8s"], required=True)
    parser.add_argument("--nodes", type=int, default=3, help="%(default)s")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--image", help="the node image (default: $OPENRAFT_KV_IMAGE or ...)")
    parser.add_argument("--name", default="raftkv", help="compose project name (%(default)s)")
    parser.add_argument("--base-port", type=int, default=18080, help="compose: %(default)s")
    parser.add_argument("--namespace", help="k8s: create and use this namespace")
    parser.add_argument("--heartbeat-ms", type=int, default=defaults.heartbeat_interval_ms)
    parser.add_argument("--election-min-ms", type=int, default=defaults.election_timeout_min_ms)
    parser.add_argument("--election-max-ms", type=int, default=defaults.election_timeout_max_ms)


def render(args: argparse.Namespace) -> int:
    if args.nodes < 1 or not 0 < args.base_port <= 65535 - args.nodes:
        print("raftkv-tf render: --nodes must be >= 1 and the ports valid", file=sys.stderr)
        return 2
    settings = NodeSettings(args.heartbeat_ms, args.election_min_ms, args.election_max_ms)
    topology = Topology(nodes=args.nodes, settings=settings)
    if args.deployer == "compose":
        image = args.image or compose_image()
        project = render_project(topology, args.name, image, args.out, base_port=args.base_port)
        addrs = ",".join(f"127.0.0.1:{port}" for port in project.host_ports.values())
        print(f"wrote {project.compose_file} and {args.nodes} node configs (image {image})")
        print(f"  docker compose -f {project.compose_file} up -d")
        print(f"  raftkv --nodes {addrs} cluster form")
        print(f"  docker compose -f {project.compose_file} down -v")
        return 0
    run = K8sRun(namespace=args.namespace, image=args.image or k8s_image())
    write_kustomization(topology, run, args.out)
    where = f" -n {args.namespace}" if args.namespace else ""
    print(f"wrote a kustomization of {args.nodes} nodes to {args.out} (image {run.image})")
    print(f"  kubectl apply -k {args.out}")
    print(f"  kubectl{where} port-forward pod/node-0 18080:8080 &   # one per node, then:")
    print("  raftkv --nodes 127.0.0.1:18080,... cluster form")
    return 0
