"""Runs a topology as local processes: one working directory, config and log per node.

Layout of a run directory (kept with TF_KEEP_LOGS=1 or after a failed run, else removed):

    raftkv-tf-XXXX/node-0/config.yaml   the rendered node config
    raftkv-tf-XXXX/node-0/node.log      stdout and stderr of every incarnation
    raftkv-tf-XXXX/node-0/data/         the node's data directory (kept across restarts)

The node command is `raftkv-node`, or any executable that takes `--config PATH` named by
OPENRAFT_KV_NODE_BIN (the reference Rust node, for instance).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import yaml

from raftkv.core.errors import RaftKVError

from . import env as tf_env
from .concurrency import first_failure
from .deployer import Deployer, NodeEndpoint, RestartMode, Topology, node_name
from .local_process import NodeProcess
from .loopback import SHARED_HOST, node_host, node_hosts
from .ports import PortReservation, reserve_port, reserve_ports

NODE_BIN_ENV = "OPENRAFT_KV_NODE_BIN"
KEEP_LOGS_ENV = "TF_KEEP_LOGS"


class NodeExited(RaftKVError):
    """A node process exited while the framework waited for it."""


def node_command() -> list[str]:
    """OPENRAFT_KV_NODE_BIN, else the `raftkv-node` installed beside this Python."""
    override = os.environ.get(NODE_BIN_ENV)
    if override:
        return [override]
    installed = shutil.which("raftkv-node") or shutil.which(
        "raftkv-node", path=str(Path(sys.executable).parent)
    )
    if installed:
        return [installed]
    return [sys.executable, "-m", "raftkv.node.main"]


def render_config(
    node_id: int, reservations: list[PortReservation], topology: Topology
) -> dict[str, object]:
    """The YAML document of one node: the reference fields, then raftkv's extras."""
    peers = {i: r.addr for i, r in enumerate(reservations) if i != node_id}
    return node_config(node_id, reservations[node_id], peers, topology)


def node_config(
    node_id: int, own: PortReservation, peers: dict[int, str], topology: Topology
) -> dict[str, object]:
    settings = topology.settings
    return {
        "node_id": node_id,
        "http_port": own.port,
        "public_addr": own.addr,
        "peer_addrs": peers,
        "heartbeat_interval_ms": settings.heartbeat_interval_ms,
        "election_timeout_min_ms": settings.election_timeout_min_ms,
        "election_timeout_max_ms": settings.election_timeout_max_ms,
        "data_dir": "data",
        "bind_host": own.host,
        **settings.extra,
    }


class LocalDeployer(Deployer):
    """Nodes as child processes of the framework, on loopback addresses of their own."""

    capabilities = frozenset({"kill", "pause"})
    #: With a loopback address per node, rules between addresses can cut single links.
    distinct_host_capabilities = frozenset({"kill", "pause", "partition", "membership"})

    def __init__(
        self,
        command: list[str] | None = None,
        work_root: Path | None = None,
        keep_logs: bool | None = None,
        distinct_hosts: bool = True,
        ready_timeout: float = 30.0,
        stop_grace: float = 10.0,
    ) -> None:
        self.command = command or node_command()
        self.work_root = work_root
        self.keep_logs = tf_env.flag(KEEP_LOGS_ENV) if keep_logs is None else keep_logs
        self.distinct_hosts = distinct_hosts
        if distinct_hosts:
            self.capabilities = self.distinct_host_capabilities
        self.ready_timeout = tf_env.adjust_timeout(ready_timeout)
        self.stop_grace = stop_grace
        self.run_dir: Path | None = None
        self._processes: dict[str, NodeProcess] = {}
        self._endpoints: dict[str, NodeEndpoint] = {}
        self._session: aiohttp.ClientSession | None = None
        self._cleaned = False
        self._topology = Topology()

    async def deploy(self, topology: Topology) -> list[NodeEndpoint]:
        self._topology = topology
        self.run_dir = Path(tempfile.mkdtemp(prefix="raftkv-tf-", dir=self.work_root))
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=1.0))
        reservations = self._reserve(topology.nodes)
        try:
            for node_id, reservation in enumerate(reservations):
                name = self._prepare_node(node_id, reservations, topology)
                reservation.release()  # the node binds it right away
                await self._processes[name].spawn()
        finally:
            for reservation in reservations:
                reservation.release()
        await self._wait_all_ready(topology.names(), self.ready_timeout)
        return [self._endpoints[name] for name in topology.names()]

    def endpoint(self, name: str) -> NodeEndpoint:
        try:
            return self._endpoints[name]
        except KeyError:
            raise KeyError(f"no node named {name!r} in this local deployment") from None

    async def start_node(self, name: str) -> None:
        await self._process(name).spawn()
        await self.wait_ready(name, self.ready_timeout)

    async def stop_node(self, name: str, mode: RestartMode = "graceful") -> None:
        await self._process(name).stop(mode, self.stop_grace)
        self.note_stopped(name)

    async def wait_ready(self, name: str, timeout: float) -> None:
        process = self._process(name)
        url = f"http://{self.endpoint(name).api_addr}/healthz"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.running:
                raise NodeExited(
                    f"{name} exited with status {process.returncode} while starting; "
                    f"{process.log_tail()}"
                )
            if await self._healthz_ok(url):
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{name} did not answer {url} within {timeout:.1f} s")

    async def add_node(self, node_id: int) -> NodeEndpoint:
        """Starts a new node `node_id` with pristine data (a learner-to-be: the cluster adds
        it through the admin API); its peers are the nodes this deployer runs now."""
        name = node_name(node_id)
        if name in self._processes:
            raise ValueError(f"{name} already exists in this deployment: node ids are never reused")
        assert self.run_dir is not None, "deploy() creates the run directory first"
        peers = {
            endpoint.node_id: endpoint.public_addr
            for other, endpoint in self._endpoints.items()
            if self._processes[other].running
        }
        reservation = self._reserve_new(
            SHARED_HOST if not self.distinct_hosts else node_host(node_id)
        )
        try:
            directory = self.run_dir / name
            (directory / "data").mkdir(parents=True)
            config = directory / "config.yaml"
            document = node_config(node_id, reservation, peers, self._topology)
            config.write_text(yaml.safe_dump(document, sort_keys=False))
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            self._processes[name] = NodeProcess(
                name, self.command, config, directory / "node.log", env
            )
            endpoint = NodeEndpoint(name, node_id, reservation.addr, reservation.addr)
            self._endpoints[name] = endpoint
        finally:
            reservation.release()
        await self.start_node(name)
        return endpoint

    async def remove_node(self, name: str) -> None:
        """Kills the node and forgets it; its directory goes too unless logs are kept."""
        process = self._process(name)
        if process.running:
            process.signal(signal.SIGCONT)
            await process.stop("kill", self.stop_grace)
        self.note_stopped(name)
        del self._processes[name]
        del self._endpoints[name]
        if self.run_dir is not None and not self.keep_logs:
            shutil.rmtree(self.run_dir / name, ignore_errors=True)

    def _reserve_new(self, host: str) -> PortReservation:
        """A port on `host` that no other node uses (see `_reserve`)."""
        used = {int(e.api_addr.rsplit(":", 1)[1]) for e in self._endpoints.values()}
        held: list[PortReservation] = []
        try:
            while True:
                reservation = reserve_port(host)
                if reservation.port not in used:
                    return reservation
                held.append(reservation)
        finally:
            for other in held:
                other.release()

    async def pause_node(self, name: str) -> None:
        self._process(name).signal(signal.SIGSTOP)

    async def resume_node(self, name: str) -> None:
        self._process(name).signal(signal.SIGCONT)

    def pids(self) -> dict[str, int]:
        """The pid of every running node."""
        return {
            name: process.pid
            for name, process in self._processes.items()
            if process.running and process.pid is not None
        }

    def spawned_pids(self) -> list[int]:
        """Every pid this deployer ever started, including restarted incarnations."""
        return [pid for process in self._processes.values() for pid in process.spawned_pids]

    def log_path(self, name: str) -> Path:
        return self._process(name).log

    def keep_artifacts(self) -> None:
        self.keep_logs = True

    async def cleanup(self) -> None:
        if self._cleaned:
            return
        self._cleaned = True
        try:
            # Reverse start order; SIGCONT first so that a paused node can die.
            for process in reversed(list(self._processes.values())):
                if process.running:
                    process.signal(signal.SIGCONT)
                    await process.stop("kill", self.stop_grace)
        finally:
            if self._session is not None:
                await self._session.close()
            if self.run_dir is not None and not self.keep_logs:
                shutil.rmtree(self.run_dir, ignore_errors=True)

    def describe(self) -> str:
        where = self.run_dir if self.run_dir is not None else "(not deployed)"
        kept = "kept" if self.keep_logs else f"removed after the run; {KEEP_LOGS_ENV}=1 keeps them"
        return f"local processes ({' '.join(self.command)}); node logs in {where}/node-*/node.log ({kept})"

    def _reserve(self, count: int) -> list[PortReservation]:
        """Distinct port numbers as well as addresses: a node that ignores `bind_host` and
        binds 0.0.0.0 (the reference node) must not collide with a peer."""
        hosts = node_hosts(count, distinct=self.distinct_hosts)
        held: list[PortReservation] = []
        while True:
            batch = reserve_ports(hosts)
            if len({r.port for r in batch}) == count:
                for reservation in held:
                    reservation.release()
                return batch
            held.extend(batch)

    def _prepare_node(
        self, node_id: int, reservations: list[PortReservation], topology: Topology
    ) -> str:
        assert self.run_dir is not None, "deploy() creates the run directory first"
        name = node_name(node_id)
        directory = self.run_dir / name
        (directory / "data").mkdir(parents=True)
        config = directory / "config.yaml"
        document = render_config(node_id, reservations, topology)
        config.write_text(yaml.safe_dump(document, sort_keys=False))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._processes[name] = NodeProcess(name, self.command, config, directory / "node.log", env)
        addr = reservations[node_id].addr
        self._endpoints[name] = NodeEndpoint(name, node_id, api_addr=addr, public_addr=addr)
        return name

    async def _wait_all_ready(self, names: list[str], timeout: float) -> None:
        with first_failure():
            async with asyncio.TaskGroup() as waits:
                for name in names:
                    waits.create_task(self.wait_ready(name, timeout))

    async def _healthz_ok(self, url: str) -> bool:
        assert self._session is not None, "deploy() opens the HTTP session"
        try:
            async with self._session.get(url) as response:
                return response.status == 200
        except (aiohttp.ClientError, TimeoutError, OSError):
            return False

    def _process(self, name: str) -> NodeProcess:
        try:
            return self._processes[name]
        except KeyError:
            raise KeyError(f"no node named {name!r} in this local deployment") from None
