"""The node image built by scripts/build-image.sh (deploy/Dockerfile), on a real engine:
its contract (user, entry point, volume, health check) and the two process behaviours the
deployers rely on (a graceful stop; a crash-kill under raftkv-init for Kubernetes).
Without an engine or the image these tests fail under CI=true and skip elsewhere."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from raftkv.tf import compose_cli
from raftkv.tf.compose_deployer import configured_image

pytestmark = [pytest.mark.docker, pytest.mark.timeout(120)]

CONFIG = """\
node_id: 0
http_port: 8080
public_addr: "node-0:8080"
data_dir: /var/lib/raftkv
"""


def docker(*args: str, check: bool = True) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


@pytest.fixture(scope="module")
def image() -> str:
    tag = configured_image()
    problem = asyncio.run(compose_cli.engine_problem())
    if problem is None and not asyncio.run(compose_cli.image_exists(tag)):
        problem = f"the node image {tag} is missing; run scripts/build-image.sh"
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the node image cannot be checked: {problem}")
        pytest.skip(problem)
    return tag


@pytest.fixture
def container_name() -> Iterator[str]:
    name = f"raftkv-image-test-{uuid.uuid4().hex[:8]}"
    yield name
    docker("rm", "-f", "-v", name, check=False)


def test_image_contract(image: str) -> None:
    config = json.loads(docker("image", "inspect", "-f", "{{json .Config}}", image))
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["raftkv-node"]
    assert config["Cmd"] == ["--config", "/etc/raftkv/config.yaml"]
    assert "/var/lib/raftkv" in config["Volumes"]
    assert config["Healthcheck"]["Test"] == ["CMD", "python3", "/opt/raftkv/bin/raftkv-healthcheck"]


def test_node_becomes_healthy_and_stops_on_sigterm(
    image: str, container_name: str, tmp_path: Path
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    config.chmod(0o644)
    docker(
        "run", "-d", "--name", container_name, "-v", f"{config}:/etc/raftkv/config.yaml:ro", image
    )
    wait_healthy(container_name)
    started = time.monotonic()
    docker("stop", "-t", "10", container_name)
    # The node handles SIGTERM itself, even as PID 1: no wait for the SIGKILL after 10 s.
    assert time.monotonic() - started < 8
    assert docker("inspect", "-f", "{{.State.ExitCode}}", container_name) == "0"


def wait_for_processes(container_name: str, count: int) -> None:
    """Until `count` processes run in the container (besides the probe itself)."""
    probe = "import os; print(sum(p.isdigit() for p in os.listdir('/proc')) - 1)"
    deadline = time.monotonic() + 30
    while int(docker("exec", container_name, "python3", "-c", probe)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} processes in {container_name}"
        time.sleep(0.1)


def test_in_container_kill_needs_raftkv_init(image: str, container_name: str) -> None:
    """Why the Kubernetes pods run the node under raftkv-init: `kill -9 1` from inside the
    container is ignored by the kernel, SIGKILL to every other process is not."""
    sleeper = ["python3", "-c", "import time; time.sleep(300)"]
    docker("run", "-d", "--name", container_name, "--entrypoint", sleeper[0], image, *sleeper[1:])
    wait_for_processes(container_name, 1)
    docker("exec", container_name, "python3", "-c", "import os, signal; os.kill(1, signal.SIGKILL)")
    time.sleep(0.5)
    assert docker("inspect", "-f", "{{.State.Status}}", container_name) == "running"
    docker("rm", "-f", "-v", container_name)

    docker("run", "-d", "--name", container_name, "--entrypoint", "raftkv-init", image, *sleeper)
    wait_for_processes(container_name, 2)  # raftkv-init and its child, not just the init
    kill = "import os, signal; os.kill(-1, signal.SIGKILL)"
    # The exec session may die with the container: its own status says nothing.
    docker("exec", container_name, "python3", "-c", kill, check=False)
    assert docker("wait", container_name) == "137"


REFERENCE_CONFIG = """\
node_id: 0
http_port: 8080
public_addr: "127.0.0.1:8080"
heartbeat_interval_ms: 500
election_timeout_min_ms: 1500
election_timeout_max_ms: 3000
"""


def wait_healthy(container_name: str) -> None:
    deadline = time.monotonic() + 60
    health = ""
    while time.monotonic() < deadline:
        health = docker("inspect", "-f", "{{.State.Health.Status}}", container_name)
        if health == "healthy":
            return
        assert docker("inspect", "-f", "{{.State.Status}}", container_name) == "running", docker(
            "logs", container_name
        )
        time.sleep(0.5)
    raise AssertionError(f"not healthy ({health}): {docker('logs', container_name)}")


def in_container(container_name: str, code: str) -> str:
    return docker("exec", container_name, "python3", "-c", code)


def test_the_reference_command_and_read_only_config_path(
    image: str, container_name: str, tmp_path: Path
) -> None:
    """`openraft-kv-node --config /etc/openraft-kv/config.yaml` with the directory mounted
    read-only, as the reference's compose files do: the data goes to /var/lib/raftkv and
    survives a restart of the container."""
    mounted = tmp_path / "openraft-kv"
    mounted.mkdir()
    (mounted / "config.yaml").write_text(REFERENCE_CONFIG)
    (mounted / "config.yaml").chmod(0o644)
    mounted.chmod(0o755)
    docker(
        "run", "-d", "--name", container_name,
        "--entrypoint", "/usr/local/bin/openraft-kv-node",
        "-v", f"{mounted}:/etc/openraft-kv:ro",
        image, "--config", "/etc/openraft-kv/config.yaml",
    )  # fmt: skip
    wait_healthy(container_name)
    logs = subprocess.run(["docker", "logs", container_name], capture_output=True, text=True)
    assert "/etc/openraft-kv cannot be written: data in /var/lib/raftkv/raftkv-data-0" in (
        logs.stdout + logs.stderr
    )
    read_identity = "print(open('/var/lib/raftkv/raftkv-data-0/identity.json').read())"
    identity = in_container(container_name, read_identity)
    assert json.loads(identity)["node_id"] == 0
    state = in_container(
        container_name,
        "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/state').read().decode())",
    )
    assert json.loads(state)["node_id"] == 0
    docker("restart", "-t", "10", container_name)
    wait_healthy(container_name)
    assert in_container(container_name, read_identity) == identity, "same identity, same data"
