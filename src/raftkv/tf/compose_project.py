"""The Docker Compose project of one TF run: one service per node on a user network.

Rendering is pure (no Docker calls), so it is tested without an engine. Each node gets its
YAML config mounted read-only at /etc/raftkv/config.yaml, a named volume at
/var/lib/raftkv (so a restart keeps its data), and port 8080 published on 127.0.0.1 at a
host port chosen at run time, so two runs can go side by side. Peers reach each other by
service name (`node-<i>:8080`) on the project's network.
"""

from __future__ import annotations

import secrets
import socket
from dataclasses import dataclass
from pathlib import Path

import yaml

from .deployer import NodeSettings, Topology, node_name

NODE_PORT = 8080
NODE_DATA_DIR = "/var/lib/raftkv"
NODE_CONFIG_PATH = "/etc/raftkv/config.yaml"
NETWORK = "raftkv"
DEFAULT_IMAGE = "raftkv-node:local"
#: Seconds `docker compose stop` waits after SIGTERM before SIGKILL.
STOP_GRACE_SECONDS = 10


def node_config_document(
    node_id: int,
    public_addrs: dict[int, str],
    settings: NodeSettings,
    data_dir: str = NODE_DATA_DIR,
) -> dict[str, object]:
    """A node's config (DESIGN.md "Node config") for a node listening on NODE_PORT inside
    its container; `public_addrs` maps every node id to the address its peers dial.

    Peers are listed although the workload also adds them by address: a learner must be
    able to answer the leader before it has received any membership entry."""
    document: dict[str, object] = {
        "node_id": node_id,
        "http_port": NODE_PORT,
        "public_addr": public_addrs[node_id],
        "peer_addrs": {peer: addr for peer, addr in public_addrs.items() if peer != node_id},
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "election_timeout_min_ms": settings.election_timeout_min_ms,
        "election_timeout_max_ms": settings.election_timeout_max_ms,
        "data_dir": data_dir,
        "bind_host": "0.0.0.0",
    }
    document.update(settings.extra)
    return document


def new_project_name(seed: int | None = None) -> str:
    """`raftkv-<seed>` when a seed is given, else `raftkv-<random hex>`."""
    suffix = str(seed) if seed is not None else secrets.token_hex(4)
    return f"raftkv-{suffix}"


def free_loopback_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that are free now (the kernel picks them;
    every probe stays bound until all are picked, so no port is handed out twice)."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


@dataclass(frozen=True, slots=True)
class ComposeProject:
    """Everything rendered for one run. `host_ports[name]` is where 127.0.0.1 reaches the
    node's port 8080."""

    name: str
    image: str
    directory: Path
    host_ports: dict[str, int]
    publish_host: str = "127.0.0.1"
    """The host address the ports are published on ('' for every address: a remote engine
    reached through COMPOSE_RUNNER_HOST)."""
    relative_configs: bool = False
    """Whether compose.yaml names the node configs relative to itself (`./node-0.yaml`)."""

    @property
    def compose_file(self) -> Path:
        return self.directory / "compose.yaml"

    @property
    def network(self) -> str:
        """The Docker network's real name (Compose prefixes the project name)."""
        return f"{self.name}_{NETWORK}"

    def config_file(self, name: str) -> Path:
        return self.directory / f"{name}.yaml"

    def container(self, name: str) -> str:
        return container_name(self.name, name)


def container_name(project_name: str, name: str) -> str:
    return f"{project_name}-{name}"


def service(
    project_name: str,
    name: str,
    image: str,
    host_port: int,
    config_file: Path | str,
    publish_host: str = "127.0.0.1",
) -> dict[str, object]:
    return {
        "image": image,
        "container_name": container_name(project_name, name),
        "hostname": name,
        # A tiny init as PID 1 forwards SIGTERM to the node and reaps it, so a graceful stop
        # does not depend on how the node behaves as PID 1.
        "init": True,
        "networks": {NETWORK: {"aliases": [name]}},
        "ports": [
            f"{publish_host}:{host_port}:{NODE_PORT}"
            if publish_host
            else f"{host_port}:{NODE_PORT}"
        ],
        "volumes": [
            f"{config_file}:{NODE_CONFIG_PATH}:ro",
            {"type": "volume", "source": f"data-{name}", "target": NODE_DATA_DIR},
        ],
        "stop_grace_period": f"{STOP_GRACE_SECONDS}s",
        "labels": {"io.raftkv.tf.node": name},
    }


def compose_document(project: ComposeProject) -> dict[str, object]:
    """The compose.yaml content of `project` (the Compose specification's format)."""
    services = {
        name: service(
            project.name,
            name,
            project.image,
            port,
            f"./{name}.yaml" if project.relative_configs else project.config_file(name),
            project.publish_host,
        )
        for name, port in project.host_ports.items()
    }
    return {
        "name": project.name,
        "services": services,
        "networks": {NETWORK: {"driver": "bridge"}},
        "volumes": {f"data-{name}": {} for name in project.host_ports},
    }


def render_project(
    topology: Topology,
    name: str,
    image: str,
    directory: Path,
    publish_host: str = "127.0.0.1",
    *,
    base_port: int | None = None,
) -> ComposeProject:
    """Writes compose.yaml and one config per node into `directory`, with fresh host ports,
    or node i on `base_port + i` (files for a user: the configs named relative to the
    compose file, so the directory can move)."""
    if topology.nodes < 1:
        raise ValueError(f"a topology needs at least one node, got {topology.nodes}")
    directory.mkdir(parents=True, exist_ok=True)
    if base_port is None:
        ports = free_loopback_ports(topology.nodes)
    else:
        ports = [base_port + i for i in range(topology.nodes)]
    project = ComposeProject(
        name=name,
        image=image,
        directory=directory,
        host_ports=dict(zip(topology.names(), ports, strict=True)),
        publish_host=publish_host,
        relative_configs=base_port is not None,
    )
    public_addrs = {i: f"{node_name(i)}:{NODE_PORT}" for i in range(topology.nodes)}
    for node_id in range(topology.nodes):
        config = node_config_document(node_id, public_addrs, topology.settings)
        text = yaml.safe_dump(config, sort_keys=False)
        write_readable(project.config_file(node_name(node_id)), text)
    write_readable(project.compose_file, yaml.safe_dump(compose_document(project), sort_keys=False))
    return project


def write_readable(path: Path, text: str) -> None:
    """Writes a file the node's non-root user can read through a bind mount."""
    path.write_text(text)
    path.chmod(0o644)
