"""Runs a topology as a Docker Compose project and controls its containers.

Node control maps onto Docker: a graceful stop is `docker compose stop` (SIGTERM, then
SIGKILL after the grace period), a kill is `docker compose kill -s SIGKILL`, a start is
`docker compose start` (same container, same named volume, so the node keeps its data).
For chaos work the deployer also disconnects and reconnects a node's network and pauses
and unpauses its container. `cleanup` saves the logs beside the compose file and removes
containers, network and volumes, unless COMPOSE_RUNNER_PRESERVE (or its alias
TESTNET_RUNNER_PRESERVE) is 1/true/yes.

A remote engine (DOCKER_HOST) works when COMPOSE_RUNNER_HOST names the host that reaches it:
the ports are then published on every address of that host and reached there.
COMPOSE_RUNNER_HTTP_TIMEOUT_SECS overrides the readiness timeout (doubled by SLOW_TEST_ENV).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

import aiohttp

from raftkv.core.errors import RaftKVError

from . import compose_cli, env
from .compose_cli import DockerCommandError
from .compose_project import (
    DEFAULT_IMAGE,
    NETWORK,
    NODE_PORT,
    STOP_GRACE_SECONDS,
    ComposeProject,
    new_project_name,
    render_project,
)
from .deployer import Deployer, NodeEndpoint, RestartMode, Topology, node_id_of

#: Docker steps that create or remove containers can take a while on a loaded machine.
COMPOSE_TIMEOUT = 180.0
CONTROL_TIMEOUT = 60.0
#: Seconds a reachability probe waits for its connection.
REACH_TIMEOUT_S = 1.0
#: Seconds between two checks that a starting node's container still runs.
STATE_CHECK_INTERVAL = 1.0
PRESERVE_ENV = "COMPOSE_RUNNER_PRESERVE"
PRESERVE_ALIAS_ENV = "TESTNET_RUNNER_PRESERVE"
HOST_ENV = "COMPOSE_RUNNER_HOST"
HTTP_TIMEOUT_ENV = "COMPOSE_RUNNER_HTTP_TIMEOUT_SECS"
LOOPBACK_NAMES = ("localhost", "127.", "::1")
KEEP_LOGS_ENV = "TF_KEEP_LOGS"
IMAGE_ENV = "OPENRAFT_KV_IMAGE"


class MissingImage(RaftKVError):
    """The node image is not in the local engine; the message says how to build it."""


def configured_image() -> str:
    return os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE


def runner_host() -> str:
    """Where the framework reaches published ports (COMPOSE_RUNNER_HOST, 127.0.0.1)."""
    return env.text(HOST_ENV, "127.0.0.1")


def publish_host(host: str) -> str:
    """The address to publish ports on: loopback for a local engine, every address else."""
    return "127.0.0.1" if host.startswith(LOOPBACK_NAMES) else ""


async def wait_all_ready(deployer: Deployer, names: list[str], timeout: float) -> None:
    """Waits for every node at once; the first failure (say, a node that exited) is raised
    as itself, not wrapped in an ExceptionGroup, and the other waits are cancelled."""
    try:
        async with asyncio.TaskGroup() as waits:
            for name in names:
                waits.create_task(deployer.wait_ready(name, timeout))
    except BaseExceptionGroup as failures:
        raise failures.exceptions[0] from None


class ComposeDeployer(Deployer):
    """One Compose project per instance; nodes are reached on host ports of `runner_host()`."""

    capabilities = frozenset({"kill", "pause", "partition"})
    #: How the pause nemesis names what it does here (the cgroup freezer, not a signal).
    pause_verb = "docker pause"

    def __init__(
        self,
        image: str | None = None,
        project_name: str | None = None,
        run_dir: Path | None = None,
        ready_timeout: float = 90.0,
        preserve: bool | None = None,
    ) -> None:
        self.image = image or configured_image()
        self.project_name = project_name or new_project_name()
        self.run_dir = run_dir or Path(tempfile.gettempdir()) / "raftkv-tf" / self.project_name
        #: A run directory the deployer chose itself goes away after a passing run.
        self.keep_run_dir = run_dir is not None or env.flag(KEEP_LOGS_ENV)
        self.ready_timeout = env.adjust_timeout(env.seconds(HTTP_TIMEOUT_ENV, ready_timeout))
        if preserve is None:
            preserve = env.any_flag(PRESERVE_ENV, PRESERVE_ALIAS_ENV)
        self.preserve = preserve
        self.host = runner_host()
        self._project: ComposeProject | None = None
        self._session: aiohttp.ClientSession | None = None
        self._cleaned = False

    async def deploy(self, topology: Topology) -> list[NodeEndpoint]:
        if not await compose_cli.image_exists(self.image):
            raise MissingImage(
                f"image {self.image} is not in the local Docker engine; build it with "
                f"`OPENRAFT_KV_IMAGE={self.image} scripts/build-image.sh` (with a registry: "
                f"`docker build -t {self.image} -f deploy/Dockerfile .`), or set {IMAGE_ENV} "
                "to an image that exists"
            )
        self._project = render_project(
            topology, self.project_name, self.image, self.run_dir, publish_host(self.host)
        )
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2.0))
        await self._compose("up", "-d", "--pull", "never", "--no-build", timeout=COMPOSE_TIMEOUT)
        names = topology.names()
        await wait_all_ready(self, names, self.ready_timeout)
        return [self.endpoint(name) for name in names]

    def endpoint(self, name: str) -> NodeEndpoint:
        port = self.project.host_ports.get(name)
        if port is None:
            raise KeyError(f"no node named {name!r} in compose project {self.project.name}")
        return NodeEndpoint(
            name=name,
            node_id=node_id_of(name),
            api_addr=f"{self.host}:{port}",
            public_addr=f"{name}:8080",
        )

    async def start_node(self, name: str) -> None:
        await self._compose("start", name)
        await self.wait_ready(name, self.ready_timeout)

    async def stop_node(self, name: str, mode: RestartMode = "graceful") -> None:
        if mode == "kill":
            await self._compose("kill", "-s", "SIGKILL", name)
            await self._wait_stopped(name)
        else:
            await self._compose("stop", "-t", str(STOP_GRACE_SECONDS), name)
        self.note_stopped(name)

    async def wait_ready(self, name: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{self.endpoint(name).api_addr}/healthz"
        next_state_check = time.monotonic() + STATE_CHECK_INTERVAL
        while time.monotonic() < deadline:
            if await self._healthz_ok(url):
                return
            # `docker inspect` costs far more CPU than a health probe: ask it now and then,
            # to fail fast (with the logs) when the node exits instead of starting.
            if time.monotonic() >= next_state_check:
                next_state_check = time.monotonic() + STATE_CHECK_INTERVAL
                if await self.container_state(name) in {"exited", "dead"}:
                    raise RaftKVError(f"{name} exited while starting; {await self.logs_tail(name)}")
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{name} did not answer {url} within {timeout:.0f} s")

    # Network and process faults, for chaos scenarios.

    async def disconnect_node(self, name: str) -> None:
        """Cuts the node off the project network (peers then fail to resolve or reach it)."""
        await compose_cli.run(
            ["docker", "network", "disconnect", self.project.network, self.project.container(name)],
            CONTROL_TIMEOUT,
        )

    async def reconnect_node(self, name: str) -> None:
        await compose_cli.run(
            [
                "docker",
                "network",
                "connect",
                "--alias",
                name,
                self.project.network,
                self.project.container(name),
            ],
            CONTROL_TIMEOUT,
        )

    async def can_reach(self, source: str, dest: str) -> bool:
        """Whether a TCP connection from inside `source`'s container reaches `dest`'s node
        port by its service name: the probe that confirms a partition (and its heal)."""
        probe = (
            "import socket, sys\n"
            "try:\n"
            f"    socket.create_connection(({dest!r}, {NODE_PORT}), {REACH_TIMEOUT_S}).close()\n"
            "except OSError:\n"
            "    sys.exit(1)\n"
        )
        result = await compose_cli.run(
            ["docker", "exec", self.project.container(source), "python3", "-c", probe],
            CONTROL_TIMEOUT,
            check=False,
        )
        return result.returncode == 0

    async def pause_node(self, name: str) -> None:
        await self._compose("pause", name)

    async def resume_node(self, name: str) -> None:
        """Unpauses the container (the same name as the local deployer's SIGCONT)."""
        await self._compose("unpause", name)

    async def container_state(self, name: str) -> str:
        """Docker's state of the node's container: running, paused, exited, ..."""
        result = await compose_cli.run(
            ["docker", "inspect", "-f", "{{.State.Status}}", self.project.container(name)],
            CONTROL_TIMEOUT,
        )
        return result.stdout.strip()

    async def logs_tail(self, name: str, lines: int = 20) -> str:
        result = await compose_cli.run(
            ["docker", "logs", "--tail", str(lines), self.project.container(name)],
            CONTROL_TIMEOUT,
            check=False,
        )
        output = (result.stdout + result.stderr).strip()
        return f"last log lines of {name}:\n{output}" if output else f"{name} logged nothing"

    def keep_artifacts(self) -> None:
        self.keep_run_dir = True

    async def cleanup(self) -> None:
        """Saves the logs, then removes the project (and the run directory after a passing
        run, when the deployer chose it)."""
        if self._cleaned:
            return
        self._cleaned = True
        try:
            if self._project is not None:
                await self._save_logs()
                await self._teardown()
        finally:
            if self._session is not None:
                await self._session.close()
        if not (self.keep_run_dir or self.preserve):
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def describe(self) -> str:
        if self._project is None:
            where = "nothing was deployed"
        elif self.run_dir.exists() or not self._cleaned:
            where = f"files and logs in {self.run_dir}"
        else:
            where = "its files were removed after the run (keep them with TF_KEEP_LOGS=1)"
        return f"Docker Compose project {self.project_name} (image {self.image}, network {NETWORK}); {where}"

    @property
    def project(self) -> ComposeProject:
        if self._project is None:
            raise RaftKVError("the compose project is not deployed yet")
        return self._project

    async def _compose(
        self, *args: str, timeout: float = CONTROL_TIMEOUT
    ) -> compose_cli.CommandResult:
        argv = [
            "docker",
            "compose",
            "-p",
            self.project.name,
            "-f",
            str(self.project.compose_file),
            *args,
        ]
        return await compose_cli.run(argv, timeout)

    async def _healthz_ok(self, url: str) -> bool:
        assert self._session is not None, "deploy() opens the HTTP session"
        try:
            async with self._session.get(url) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False

    async def _wait_stopped(self, name: str) -> None:
        deadline = time.monotonic() + CONTROL_TIMEOUT
        while await self.container_state(name) not in {"exited", "dead"}:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} still runs {CONTROL_TIMEOUT:.0f} s after SIGKILL")
            await asyncio.sleep(0.05)

    async def _save_logs(self) -> None:
        try:
            result = await self._compose(
                "logs", "--no-color", "--timestamps", timeout=COMPOSE_TIMEOUT
            )
        except DockerCommandError as error:
            print(f"compose: could not save the logs: {error}")
            return
        (self.project.directory / "compose.log").write_text(result.stdout + result.stderr)

    async def _teardown(self) -> None:
        if self.preserve:
            print(
                f"compose: {PRESERVE_ENV}=1, keeping project {self.project.name}; remove it with: "
                f"docker compose -p {self.project.name} -f {self.project.compose_file} down -v"
            )
            return
        await self._compose("down", "-v", "--remove-orphans", "-t", "5", timeout=COMPOSE_TIMEOUT)
