"""Clients of the deployed nodes, shared by the observer, workloads and expectations.

A node's client follows its endpoint: when a deployer moves a node (a new port-forward
after a Kubernetes restart), the next `node(name)` returns a client of the new address.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from raftkv.client import ClusterClient, NodeClient

from .deployer import Deployer
from .writes import RecordingClusterClient, WriteLog


class ClientPool:
    """Owns every client it hands out; `close` closes them all."""

    def __init__(
        self,
        deployer: Deployer,
        rng: random.Random,
        *,
        timeout: float = 5.0,
        writes: WriteLog | None = None,
    ) -> None:
        self.deployer = deployer
        self.rng = rng
        self.timeout = timeout
        self.writes = writes if writes is not None else WriteLog()
        self._nodes: dict[str, NodeClient] = {}
        self._retired: list[NodeClient] = []
        self._clusters: list[ClusterClient] = []

    def node(self, name: str) -> NodeClient:
        addr = self.deployer.endpoint(name).api_addr
        client = self._nodes.get(name)
        if client is None or client.addr != addr:
            if client is not None:
                self._retired.append(client)
            client = NodeClient(addr, timeout=self.timeout)
            self._nodes[name] = client
        return client

    def cluster(self, names: Sequence[str], *, client_id: str | None = None) -> ClusterClient:
        """A cluster client over `names` that records its writes in `writes`; its client
        id and retries draw on the run's seed."""
        addrs = [self.deployer.endpoint(name).api_addr for name in names]
        sub_rng = random.Random(self.rng.getrandbits(64))
        client = RecordingClusterClient(
            addrs, self.writes, client_id=client_id, timeout=self.timeout, rng=sub_rng
        )
        self._clusters.append(client)
        return client

    async def close(self) -> None:
        clients: list[NodeClient | ClusterClient] = [
            *self._nodes.values(),
            *self._retired,
            *self._clusters,
        ]
        self._nodes, self._retired, self._clusters = {}, [], []
        for client in clients:
            await client.close()
