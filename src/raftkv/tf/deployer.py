"""The deployer interface: how the scenario framework starts, stops and reaches nodes.

Every deployer (local processes, Docker Compose, Kubernetes) implements it, so workloads,
observers, nemeses and expectations never know where the nodes run. Nodes are named
`node-<i>`; `i` is the Raft node id.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Literal

from raftkv.client import NodeClient

RestartMode = Literal["graceful", "kill"]


@dataclass(frozen=True, slots=True)
class NodeSettings:
    """Node timing and tuning, rendered into every node's YAML config."""

    heartbeat_interval_ms: int = 100
    election_timeout_min_ms: int = 500
    election_timeout_max_ms: int = 1000
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Topology:
    nodes: int = 3
    settings: NodeSettings = NodeSettings()

    def names(self) -> list[str]:
        return [node_name(i) for i in range(self.nodes)]


def node_name(node_id: int) -> str:
    return f"node-{node_id}"


def node_id_of(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


@dataclass(frozen=True, slots=True)
class NodeEndpoint:
    """Where the framework reaches a node (`api_addr`, host:port) and where peers reach it
    (`public_addr`, what goes into `/admin/add-learner`)."""

    name: str
    node_id: int
    api_addr: str
    public_addr: str


class Deployer(abc.ABC):
    """Starts a topology and controls its nodes. Use as `async with deployer:`; `cleanup`
    runs on success, failure and cancellation, and leaves nothing behind."""

    #: Fault kinds this deployer can inject: a subset of {"kill", "pause", "partition"}.
    capabilities: frozenset[str] = frozenset()

    @abc.abstractmethod
    async def deploy(self, topology: Topology) -> list[NodeEndpoint]:
        """Start every node of `topology` and wait until each serves `/healthz`."""

    @abc.abstractmethod
    def endpoint(self, name: str) -> NodeEndpoint:
        """The current endpoint of a node (it may change after a restart)."""

    @abc.abstractmethod
    async def start_node(self, name: str) -> None:
        """Start a stopped node with its data, and wait until it is ready."""

    @abc.abstractmethod
    async def stop_node(self, name: str, mode: RestartMode = "graceful") -> None:
        """graceful: SIGTERM and wait for exit; kill: SIGKILL at once."""

    async def restart_node(self, name: str, mode: RestartMode = "graceful") -> None:
        await self.stop_node(name, mode)
        await self.start_node(name)

    @abc.abstractmethod
    async def wait_ready(self, name: str, timeout: float) -> None:
        """Wait until the node answers `/healthz`; raise TimeoutError naming the node."""

    @abc.abstractmethod
    async def cleanup(self) -> None:
        """Stop every node and remove what the deployer created (idempotent)."""

    def incarnation(self, name: str) -> int:
        """How many times this deployer stopped `name` (either mode). A node's volatile
        state (commit and applied index) is compared only within one incarnation."""
        return self._stops().get(name, 0)

    def note_stopped(self, name: str) -> None:
        """Called by a deployer once a node's process is gone, before a new one can answer:
        a poll sent before this call reached the old process, one sent after, the new."""
        stops = self._stops()
        stops[name] = stops.get(name, 0) + 1

    def _stops(self) -> dict[str, int]:
        # Kept in the instance without an __init__, so subclasses need not call super().
        stops: dict[str, int] = self.__dict__.setdefault("_incarnation_stops", {})
        return stops

    def describe(self) -> str:
        """One line for the report: where the nodes run and where their logs are."""
        return type(self).__name__

    def node_client(self, name: str, *, timeout: float = 5.0) -> NodeClient:
        """A new client of the node's current endpoint; the caller closes it."""
        return NodeClient(self.endpoint(name).api_addr, timeout=timeout)

    def keep_artifacts(self) -> None:
        """Asks `cleanup` to keep what helps a post-mortem (logs, configs, data) even where
        it would remove it after a passing run. The default keeps nothing extra."""
        return None

    async def __aenter__(self) -> Deployer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cleanup()
