"""The compose project renderer: pure, no Docker engine needed."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from raftkv.tf.compose_project import (
    NODE_CONFIG_PATH,
    NODE_DATA_DIR,
    ComposeProject,
    free_loopback_ports,
    new_project_name,
    render_project,
)
from raftkv.tf.deployer import NodeSettings, Topology


def render(tmp_path: Path, nodes: int = 3, settings: NodeSettings | None = None) -> ComposeProject:
    topology = Topology(nodes=nodes, settings=settings or NodeSettings())
    return render_project(topology, "raftkv-test", "raftkv-node:local", tmp_path)


def test_one_service_per_node_on_the_user_network(tmp_path: Path) -> None:
    project = render(tmp_path)
    document = yaml.safe_load(project.compose_file.read_text())
    assert document["name"] == "raftkv-test"
    assert sorted(document["services"]) == ["node-0", "node-1", "node-2"]
    assert document["networks"] == {"raftkv": {"driver": "bridge"}}
    for name, service in document["services"].items():
        assert service["image"] == "raftkv-node:local"
        assert service["networks"] == {"raftkv": {"aliases": [name]}}
        assert service["container_name"] == f"raftkv-test-{name}"
        assert service["init"] is True


def test_ports_are_published_on_loopback_only_and_distinct(tmp_path: Path) -> None:
    project = render(tmp_path, nodes=5)
    services = yaml.safe_load(project.compose_file.read_text())["services"]
    published = [service["ports"] for service in services.values()]
    assert published == [[f"127.0.0.1:{port}:8080"] for port in project.host_ports.values()]
    assert len(set(project.host_ports.values())) == 5


def test_config_mounted_read_only_and_data_on_a_named_volume(tmp_path: Path) -> None:
    project = render(tmp_path)
    document = yaml.safe_load(project.compose_file.read_text())
    config_mount, data_mount = document["services"]["node-1"]["volumes"]
    assert config_mount == f"{tmp_path / 'node-1.yaml'}:{NODE_CONFIG_PATH}:ro"
    assert data_mount == {"type": "volume", "source": "data-node-1", "target": NODE_DATA_DIR}
    assert sorted(document["volumes"]) == ["data-node-0", "data-node-1", "data-node-2"]


def test_node_config_names_the_service_as_public_addr(tmp_path: Path) -> None:
    settings = NodeSettings(
        heartbeat_interval_ms=50,
        election_timeout_min_ms=300,
        election_timeout_max_ms=600,
        extra={"snapshot_threshold": 100},
    )
    project = render(tmp_path, settings=settings)
    config = yaml.safe_load(project.config_file("node-2").read_text())
    assert config == {
        "node_id": 2,
        "http_port": 8080,
        "public_addr": "node-2:8080",
        "peer_addrs": {0: "node-0:8080", 1: "node-1:8080"},
        "heartbeat_interval_ms": 50,
        "election_timeout_min_ms": 300,
        "election_timeout_max_ms": 600,
        "data_dir": NODE_DATA_DIR,
        "bind_host": "0.0.0.0",
        "snapshot_threshold": 100,
    }
    # The node runs as a non-root user and reads the file through a bind mount.
    assert project.config_file("node-2").stat().st_mode & 0o044 == 0o044


def test_endpoint_helpers(tmp_path: Path) -> None:
    project = render(tmp_path)
    assert project.network == "raftkv-test_raftkv"
    assert project.container("node-0") == "raftkv-test-node-0"


def test_project_names_are_unique_per_run_unless_seeded() -> None:
    assert new_project_name(seed=42) == "raftkv-42"
    names = {new_project_name() for _ in range(20)}
    assert len(names) == 20
    assert all(name.startswith("raftkv-") for name in names)


def test_free_loopback_ports_are_distinct() -> None:
    ports = free_loopback_ports(10)
    assert len(set(ports)) == 10
    assert all(1024 <= port <= 65535 for port in ports)


def test_empty_topology_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one node"):
        render(tmp_path, nodes=0)


@pytest.mark.parametrize("nodes", [3, 5], ids=["3-nodes", "5-nodes"])
def test_compose_accepts_the_rendered_project(tmp_path: Path, nodes: int) -> None:
    """`docker compose config` checks the file against the Compose specification (no
    engine needed, only the plugin)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0:
        reason = "the Docker Compose v2 plugin is missing (scripts/docker-setup.sh installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    project = render(tmp_path, nodes=nodes)
    checked = subprocess.run(
        ["docker", "compose", "-f", str(project.compose_file), "config", "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    services = json.loads(checked.stdout)["services"]
    assert sorted(services) == [f"node-{i}" for i in range(nodes)]
    assert services["node-0"]["ports"][0]["host_ip"] == "127.0.0.1"
