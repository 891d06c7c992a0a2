"""The compose deployer against a real Docker engine, with a STAND-IN node image.

The stand-in (deploy/testing/standin-node) is a tiny HTTP server, not raftkv: these tests
check the compose plumbing (ports, config mounts, volumes, service DNS, restarts, faults,
teardown) independently of the node. The real node runs in test_compose_failover.py.
Without a Docker engine these tests fail under CI=true and skip elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from raftkv.core.errors import RaftKVError
from raftkv.tf import compose_cli
from raftkv.tf.compose_deployer import ComposeDeployer, MissingImage, configured_image
from raftkv.tf.deployer import NodeSettings, Topology

pytestmark = [pytest.mark.docker, pytest.mark.timeout(240)]

STANDIN_IMAGE = "raftkv-standin-node:test"
STANDIN_DIR = Path(__file__).parents[2] / "deploy" / "testing" / "standin-node"


def docker_missing(reason: str) -> None:
    """CI must exercise Docker, so a missing engine fails there and skips elsewhere."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but Docker is not usable: {reason}")
    pytest.skip(f"Docker is not usable: {reason}")


@pytest.fixture(scope="module")
def standin_image() -> str:
    problem = asyncio.run(compose_cli.engine_problem()) or asyncio.run(
        compose_cli.compose_problem()
    )
    if problem:
        docker_missing(problem)
    node_image = configured_image()
    if not asyncio.run(compose_cli.image_exists(node_image)):
        docker_missing(f"the node image {node_image} is missing; run scripts/build-image.sh")
    subprocess.run(
        [
            "docker",
            "build",
            "-q",
            "-t",
            STANDIN_IMAGE,
            "--build-arg",
            f"NODE_IMAGE={node_image}",
            str(STANDIN_DIR),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )
    return STANDIN_IMAGE


@pytest.fixture
async def deployer(standin_image: str, tmp_path: Path) -> AsyncIterator[ComposeDeployer]:
    async with ComposeDeployer(image=standin_image, run_dir=tmp_path, ready_timeout=60) as started:
        yield started  # type: ignore[misc]


def get(deployer: ComposeDeployer, name: str, path: str, timeout: float = 2.0) -> str:
    url = f"http://{deployer.endpoint(name).api_addr}{path}"
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode()


def boots(deployer: ComposeDeployer, name: str) -> int:
    return int(json.loads(get(deployer, name, "/state"))["boots"])


def leftovers(project: str) -> dict[str, str]:
    label = f"label=com.docker.compose.project={project}"
    found = {}
    for kind in ("container", "volume", "network"):
        listing = ["docker", kind, "ls", "-q", "--filter", label] + (
            ["-a"] if kind == "container" else []
        )
        found[kind] = subprocess.run(
            listing, check=True, capture_output=True, text=True
        ).stdout.strip()
    return found


async def test_deploy_reaches_every_node_and_cleanup_removes_everything(
    standin_image: str, tmp_path: Path
) -> None:
    deployer = ComposeDeployer(image=standin_image, run_dir=tmp_path)
    async with deployer:
        endpoints = await deployer.deploy(Topology(nodes=3))
        assert [endpoint.public_addr for endpoint in endpoints] == [
            "node-0:8080",
            "node-1:8080",
            "node-2:8080",
        ]
        for endpoint in endpoints:
            assert endpoint.api_addr.startswith("127.0.0.1:")
            config = json.loads(get(deployer, endpoint.name, "/state"))["config"]
            assert f"node_id: {endpoint.node_id}\n" in config
            assert f"public_addr: {endpoint.public_addr}\n" in config
        assert get(deployer, "node-0", "/peer/node-2") == "ok"
        assert all(leftovers(deployer.project_name).values())
    assert leftovers(deployer.project_name) == {"container": "", "volume": "", "network": ""}
    assert "stand-in listening" in (tmp_path / "compose.log").read_text()


async def test_restarts_keep_the_data_volume_and_the_endpoint(deployer: ComposeDeployer) -> None:
    await deployer.deploy(Topology(nodes=2))
    before = deployer.endpoint("node-1")
    assert boots(deployer, "node-1") == 1
    await deployer.restart_node("node-1", "graceful")
    assert boots(deployer, "node-1") == 2
    await deployer.restart_node("node-1", "kill")
    assert boots(deployer, "node-1") == 3
    await deployer.stop_node("node-1", "kill")
    assert await deployer.container_state("node-1") == "exited"
    await deployer.start_node("node-1")
    assert boots(deployer, "node-1") == 4
    assert deployer.endpoint("node-1") == before
    assert boots(deployer, "node-0") == 1


async def test_pause_and_network_disconnect_are_reversible(deployer: ComposeDeployer) -> None:
    await deployer.deploy(Topology(nodes=2))
    await deployer.pause_node("node-1")
    assert await deployer.container_state("node-1") == "paused"
    with pytest.raises(OSError):
        get(deployer, "node-1", "/healthz", timeout=0.5)
    await deployer.resume_node("node-1")
    assert get(deployer, "node-1", "/healthz") == "ok"

    await deployer.disconnect_node("node-1")
    assert get(deployer, "node-0", "/peer/node-1").startswith("unreachable")
    await deployer.reconnect_node("node-1")
    assert get(deployer, "node-0", "/peer/node-1") == "ok"


async def test_cleanup_removes_a_paused_and_a_disconnected_node(
    standin_image: str, tmp_path: Path
) -> None:
    deployer = ComposeDeployer(image=standin_image, run_dir=tmp_path)
    async with deployer:
        await deployer.deploy(Topology(nodes=2))
        await deployer.pause_node("node-0")
        await deployer.disconnect_node("node-1")
    assert leftovers(deployer.project_name) == {"container": "", "volume": "", "network": ""}


async def test_missing_image_names_the_build_command(standin_image: str, tmp_path: Path) -> None:
    async with ComposeDeployer(image="raftkv-no-such-image:never", run_dir=tmp_path) as deployer:
        with pytest.raises(MissingImage, match=r"scripts/build-image\.sh"):
            await deployer.deploy(Topology(nodes=1))


async def test_a_node_that_exits_at_start_is_reported_with_its_logs(
    deployer: ComposeDeployer,
) -> None:
    settings = NodeSettings(extra={"standin_exit_at_start": True})
    with pytest.raises(
        RaftKVError, match=r"node-0 exited while starting(.|\n)*told to exit at start"
    ):
        await deployer.deploy(Topology(nodes=1, settings=settings))


@pytest.mark.parametrize("failed", [False, True], ids=["passed", "failed"])
async def test_own_run_dir_is_kept_only_after_a_failure(
    standin_image: str, failed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TF_KEEP_LOGS", raising=False)
    deployer = ComposeDeployer(image=standin_image)
    async with deployer:
        await deployer.deploy(Topology(nodes=1))
        if failed:
            deployer.keep_artifacts()
    assert (deployer.run_dir / "compose.log").exists() == failed
    assert ("files and logs in" in deployer.describe()) == failed
    shutil.rmtree(deployer.run_dir, ignore_errors=True)


async def test_preserve_keeps_the_project(standin_image: str, tmp_path: Path) -> None:
    deployer = ComposeDeployer(image=standin_image, run_dir=tmp_path, preserve=True)
    try:
        async with deployer:
            await deployer.deploy(Topology(nodes=1))
        assert leftovers(deployer.project_name)["container"]
    finally:
        subprocess.run(
            [
                "docker",
                "compose",
                "-p",
                deployer.project_name,
                "-f",
                str(tmp_path / "compose.yaml"),
                "down",
                "-v",
            ],
            check=True,
            capture_output=True,
        )
    assert leftovers(deployer.project_name) == {"container": "", "volume": "", "network": ""}


INTERRUPTED_RUN = """
import asyncio, sys
from pathlib import Path
from raftkv.tf.compose_deployer import ComposeDeployer
from raftkv.core.errors import RaftKVError
from raftkv.tf.deployer import NodeSettings, Topology

async def main():
    async with ComposeDeployer(image=sys.argv[1], project_name=sys.argv[2], run_dir=Path(sys.argv[3])) as deployer:
        await deployer.deploy(Topology(nodes=2))
        print("deployed", flush=True)
        await asyncio.sleep(120)

asyncio.run(main())
"""


def test_ctrl_c_tears_the_project_down(standin_image: str, tmp_path: Path) -> None:
    project = f"raftkv-ctrlc-{os.getpid()}"
    run = subprocess.Popen(
        [sys.executable, "-c", INTERRUPTED_RUN, standin_image, project, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert run.stdout is not None
        assert run.stdout.readline() == "deployed\n", run.stderr.read() if run.stderr else ""
        assert leftovers(project)["container"]
        run.send_signal(signal.SIGINT)
        run.wait(timeout=60)
    finally:
        if run.poll() is None:
            run.kill()
    assert leftovers(project) == {"container": "", "volume": "", "network": ""}
