"""Fakes for the scenario framework's tests: node states, state sources, a deployer that
only records what it is asked, and the command of the fake node process."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import msgspec
from aiohttp import web

from raftkv.client import NodeState
from raftkv.tf.deployer import Deployer, NodeEndpoint, RestartMode, Topology

FAKE_NODE = Path(__file__).with_name("fake_node.py")


def alive(pid: int) -> bool:
    """True for a running process; a zombie (killed, not yet reaped by init) is dead."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def fake_node_command() -> list[str]:
    return [sys.executable, str(FAKE_NODE)]


def fake_state(
    node_id: int,
    role: str = "Follower",
    *,
    leader: int | None = None,
    term: int = 0,
    voters: Iterable[int] = (0, 1, 2),
    kv: dict[str, str] | None = None,
    applied: int = 0,
    joint_configs: list[list[int]] | None = None,
    digest: str | None = None,
    keys: int | None = None,
    kv_omitted: str | None = None,
) -> NodeState:
    """A `/state` answer; a Leader names itself as leader unless told otherwise. `digest`
    and `keys` are raftkv's `kv_digest` and `kv_keys` (a reference node has neither)."""
    if role == "Leader" and leader is None:
        leader = node_id
    membership = None
    if joint_configs is not None:
        membership = {"configs": joint_configs, "joint": True, "committed": False}
    return NodeState(
        node_id=node_id,
        public_addr=f"127.0.0.1:{9000 + node_id}",
        role=role,
        current_leader=leader,
        current_term=term,
        last_log_index=applied,
        last_applied_index=applied,
        voters=sorted(voters),
        kv=kv,
        membership=membership,
        kv_digest=digest,
        kv_keys=keys,
        kv_omitted=kv_omitted,
    )


def pristine(node_id: int) -> NodeState:
    return fake_state(node_id, "Learner", term=0, voters=())


class FakeStateSource:
    """Answers `state()` with whatever the test set last; `error` makes it fail."""

    def __init__(self, state: NodeState | None = None) -> None:
        self.state_now = state
        self.error: Exception | None = None
        self.calls: list[bool] = []

    async def state(self, *, kv: bool = True) -> NodeState:
        self.calls.append(kv)
        if self.error is not None:
            raise self.error
        assert self.state_now is not None, "the test sets a state before polling"
        if not kv:
            return msgspec.structs.replace(self.state_now, kv=None, kv_omitted=None)
        return self.state_now


class FakeReplica(FakeStateSource):
    """A state source that also answers local reads from `data` (the node's whole state,
    which its `/state` may leave out); `on_read` runs before each read."""

    def __init__(self, state: NodeState, data: dict[str, str]) -> None:
        super().__init__(state)
        self.data = data
        self.reads: list[str] = []
        self.on_read: Callable[[str], None] | None = None

    async def read(self, key: str) -> str | None:
        self.reads.append(key)
        if self.on_read is not None:
            self.on_read(key)
        if self.error is not None:
            raise self.error
        return self.data.get(key)


class FakePool:
    """`node(name)` of the run's ClientPool, over fake replicas."""

    def __init__(self, replicas: dict[str, FakeReplica]) -> None:
        self.replicas = replicas

    def node(self, name: str) -> FakeReplica:
        return self.replicas[name]


class RecordingDeployer(Deployer):
    """A deployer of nothing: records each call in `events` (shared between instances)."""

    def __init__(self, events: list[str], *, fail_deploy: bool = False) -> None:
        self.events = events
        self.fail_deploy = fail_deploy
        self.kept = False
        self._endpoints: dict[str, NodeEndpoint] = {}

    async def deploy(self, topology: Topology) -> list[NodeEndpoint]:
        self.events.append("deploy")
        if self.fail_deploy:
            raise RuntimeError("fake deploy failure")
        for node_id, name in enumerate(topology.names()):
            addr = f"127.0.0.1:{9000 + node_id}"
            self._endpoints[name] = NodeEndpoint(name, node_id, addr, addr)
        return list(self._endpoints.values())

    def endpoint(self, name: str) -> NodeEndpoint:
        return self._endpoints[name]

    async def start_node(self, name: str) -> None:
        self.events.append(f"start {name}")

    async def stop_node(self, name: str, mode: RestartMode = "graceful") -> None:
        self.events.append(f"stop {name} {mode}")

    async def wait_ready(self, name: str, timeout: float) -> None:
        self.events.append(f"ready {name}")

    def keep_artifacts(self) -> None:
        self.kept = True

    async def cleanup(self) -> None:
        self.events.append("cleanup")


async def serve_routes(routes: dict[str, Callable[..., object]]) -> tuple[web.AppRunner, int]:
    """Serves GET `routes` (path to handler) on 127.0.0.1; returns the runner (clean it up)
    and the port."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)  # type: ignore[arg-type]
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]
