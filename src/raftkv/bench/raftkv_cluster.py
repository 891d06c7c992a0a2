"""A 3-node raftkv cluster on loopback: durable storage, default settings, formed through
the admin API (init node 0, add 1 and 2 as learners, promote {0, 1, 2})."""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import yaml

from .cluster import (
    CLUSTER_SIZE,
    POLL_INTERVAL_S,
    ClusterError,
    LocalCluster,
    MemberStatus,
    http_json,
)
from .processes import free_ports

ADMIN_TIMEOUT_S = 15.0
"""A blocking add-learner returns once the learner caught up: allow for a busy machine."""
NODE_BIN_ENV = "OPENRAFT_KV_NODE_BIN"
"""The TF's override of the node command, honoured here too."""


def node_command() -> list[str]:
    """The command that runs one node, without `--config`."""
    override = os.environ.get(NODE_BIN_ENV)
    if override:
        return shlex.split(override)
    return [sys.executable, "-m", "raftkv.node.main"]


class RaftkvCluster(LocalCluster):
    system = "raftkv"
    settings: ClassVar[dict[str, Any]] = {}
    """Config fields on top of the defaults (and the timings)."""

    def _write_config(self, index: int, port: int, peers: dict[int, str]) -> Path:
        config: dict[str, Any] = {
            "node_id": index,
            "http_port": port,
            "public_addr": f"127.0.0.1:{port}",
            # As in the reference workload's configs; the admin calls add the same addresses.
            "peer_addrs": peers,
            "bind_host": "127.0.0.1",
            "data_dir": str(self._data_dir(index)),
        }
        if self.timings is not None:
            config["heartbeat_interval_ms"] = self.timings.heartbeat_ms
            config["election_timeout_min_ms"] = self.timings.election_ms
            config["election_timeout_max_ms"] = 2 * self.timings.election_ms
        config.update(self.settings)
        path = self.root / f"raftkv-{index}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def _data_dir(self, index: int) -> Path:
        return self.root / f"raftkv-{index}"

    def _spawn_node(self, index: int, port: int, peers: dict[int, str]) -> None:
        """Node `index` must be the next member: its config, then its process."""
        config = self._write_config(index, port, peers)
        argv = [*node_command(), "--config", str(config)]
        self._spawn(f"raftkv-{index}", argv, f"127.0.0.1:{port}", self._data_dir(index))

    def _spawn_all(self) -> None:
        ports = free_ports(CLUSTER_SIZE)
        addrs = {index: f"127.0.0.1:{port}" for index, port in enumerate(ports)}
        for index, port in enumerate(ports):
            peers = {peer: addr for peer, addr in addrs.items() if peer != index}
            self._spawn_node(index, port, peers)

    async def start(self, http: aiohttp.ClientSession, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        self._spawn_all()
        for index in range(CLUSTER_SIZE):
            await self._wait_healthy(http, index, deadline)
        await self._admin(http, "/admin/init", {}, deadline)
        for index in (1, 2):
            body = {"node_id": index, "addr": self.client_addrs[index]}
            await self._admin(http, "/admin/add-learner", body, deadline)
        await self._admin(http, "/admin/change-membership", {"voters": [0, 1, 2]}, deadline)
        await self.wait_for_leader(http, max(0.1, deadline - time.monotonic()))

    async def _wait_healthy(self, http: aiohttp.ClientSession, index: int, deadline: float) -> None:
        """The HTTP port opens once the node has recovered from disk."""
        while time.monotonic() < deadline:
            self.members[index].check_alive()
            try:
                async with http.get(f"{self.base_url(index)}/healthz") as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(POLL_INTERVAL_S)
        raise ClusterError(f"raftkv-{index}: /healthz did not answer 200 in time")

    async def _admin(
        self, http: aiohttp.ClientSession, path: str, body: Any, deadline: float
    ) -> None:
        """An admin call on node 0, repeated while it fails (a leader may still be coming)."""
        last: tuple[int, Any] = (0, None)
        while time.monotonic() < deadline:
            self.members[0].check_alive()
            last = await http_json(
                http, "POST", f"{self.base_url(0)}{path}", body, timeout_s=ADMIN_TIMEOUT_S
            )
            if last[0] == 200:
                return
            await asyncio.sleep(POLL_INTERVAL_S)
        raise ClusterError(f"raftkv: {path} failed: status {last[0]}, answer {last[1]}")

    async def add_learner(self, http: aiohttp.ClientSession, timeout_s: float) -> int:
        """Starts the next node with empty data, then a blocking add-learner, repeated while
        it answers 504 (a node waits for the catch-up at most its request timeout): returns
        once the leader has seen the learner catch up."""
        deadline = time.monotonic() + timeout_s
        index = len(self.members)
        (port,) = free_ports(1)
        self._spawn_node(index, port, dict(enumerate(self.client_addrs)))
        await self._wait_healthy(http, index, deadline)
        body = {"node_id": index, "addr": self.client_addrs[index], "blocking": True}
        await self._admin(http, "/admin/add-learner", body, deadline)
        return index

    async def _state(self, http: aiohttp.ClientSession, index: int) -> dict[str, Any] | None:
        status, answer = await http_json(http, "GET", f"{self.base_url(index)}/state?kv=false")
        return answer if status == 200 and isinstance(answer, dict) else None

    async def member_status(self, http: aiohttp.ClientSession, index: int) -> MemberStatus | None:
        state = await self._state(http, index)
        if state is None:
            return None
        return MemberStatus(
            leader=state.get("current_leader"),  # raftkv's node ids are the member indexes
            term=state["current_term"],
            committed_index=state["committed_index"],
            applied_index=state["last_applied_index"],
        )

    async def _agreed_leader(self, http: aiohttp.ClientSession) -> int | None:
        """The node that reports Leader, named as leader in the same term by every other
        running node, with voters {0, 1, 2} and no membership change in flight."""
        states: dict[int, dict[str, Any]] = {}
        for index, member in enumerate(self.members):
            if not member.running:
                continue
            state = await self._state(http, index)
            if state is None:
                return None
            states[index] = state
        leaders = [index for index, state in states.items() if state.get("role") == "Leader"]
        if len(leaders) != 1:
            return None
        leader_state = states[leaders[0]]
        for state in states.values():
            agrees = (state.get("current_leader"), state.get("current_term")) == (
                leader_state["node_id"],
                leader_state["current_term"],
            )
            if not agrees or state.get("voters") != [0, 1, 2]:
                return None
        return leaders[0]


class RaftkvTimeoutsOnlyCluster(RaftkvCluster):
    """raftkv without the early campaign on a leader's closed connection: its followers find
    a dead leader by the election timeout alone, as etcd's do."""

    system = "raftkv-timeouts"
    settings: ClassVar[dict[str, Any]] = {"campaign_on_leader_disconnect": False}
