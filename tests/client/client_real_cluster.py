"""Real `raftkv-node` processes on loopback for the client's end-to-end tests: configs on
free ports, start, SIGKILL, and cluster formation through `NodeClient` (init on node 0,
add 1..n-1 as learners, then make every node a voter). `stop_all` kills whatever it started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from raftkv.client import ApiError, NodeClient

FAST_TIMINGS = {
    "heartbeat_interval_ms": 100,
    "election_timeout_min_ms": 500,
    "election_timeout_max_ms": 1000,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RealNode:
    node_id: int
    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None
    extra: dict[str, object] = field(default_factory=dict)
    """More config fields (e.g. `state_kv_max_keys`)."""

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"node-{self.node_id}.log"

    def write_config(self, peers: dict[int, str]) -> Path:
        path = self.workdir / f"node-{self.node_id}.yaml"
        config = {
            "node_id": self.node_id,
            "http_port": self.port,
            "public_addr": self.addr,
            "bind_host": "127.0.0.1",
            "data_dir": str(self.workdir / f"data-{self.node_id}"),
            "peer_addrs": {i: a for i, a in peers.items() if i != self.node_id},
            **FAST_TIMINGS,
            **self.extra,
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self, config: Path) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "raftkv.node.main", "--config", str(config)],
                stdout=log,
                stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.running:
            assert self.proc is not None
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def tail_log(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class RealCluster:
    nodes: list[RealNode] = field(default_factory=list)

    @property
    def addrs(self) -> list[str]:
        return [node.addr for node in self.nodes]

    @classmethod
    def start(cls, workdir: Path, size: int = 3, **extra: object) -> RealCluster:
        cluster = cls([RealNode(i, free_port(), workdir, extra=extra) for i in range(size)])
        peers = {node.node_id: node.addr for node in cluster.nodes}
        for node in cluster.nodes:
            node.start(node.write_config(peers))
        return cluster

    async def wait_healthy(self, timeout: float = 20.0) -> None:
        for node in self.nodes:
            await wait_healthy(node, timeout)

    async def form(self, timeout: float = 20.0) -> None:
        """init node 0, add the others as learners, make every node a voter."""
        first = self.nodes[0]
        async with NodeClient(first.addr, timeout=timeout) as admin:
            await admin.init()
            for node in self.nodes[1:]:
                await admin.add_learner(node.node_id, node.addr)
            await admin.change_membership([node.node_id for node in self.nodes])

    def stop_all(self) -> None:
        for node in self.nodes:
            node.kill()


async def wait_healthy(node: RealNode, timeout: float) -> None:
    async with NodeClient(node.addr, timeout=1.0) as client:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not await client.healthz():
            if not node.running:
                raise AssertionError(f"node {node.node_id} exited:\n{node.tail_log()}")
            if loop.time() > end:
                raise AssertionError(f"node {node.node_id} not healthy:\n{node.tail_log()}")
            await asyncio.sleep(0.05)


async def states_agree(addrs: list[str], timeout: float) -> list[dict[str, str]]:
    """Wait until every node reports the same KV and voters; returns each node's KV."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    clients = [NodeClient(addr, timeout=2.0) for addr in addrs]
    try:
        while True:
            try:
                states = [await client.state() for client in clients]
            except ApiError:
                states = []
            views = {(tuple(sorted((s.kv or {}).items())), tuple(s.voters)) for s in states}
            if states and len(views) == 1:
                return [s.kv or {} for s in states]
            if loop.time() > end:
                raise AssertionError(f"nodes did not converge: {states}")
            await asyncio.sleep(0.1)
    finally:
        for client in clients:
            await client.close()
