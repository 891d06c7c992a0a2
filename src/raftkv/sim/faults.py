"""The fault injector: crashes and restarts of nodes, symmetric and asymmetric partitions.

It acts once per step of the safety phase with the rates the seed chose; `stop()` ends the
faults for the liveness phase (heal the network, restart every crashed node).
"""

from __future__ import annotations

import random

from raftkv.core import NodeId

from .cluster import Cluster
from .options import Faults


class FaultInjector:
    def __init__(self, rng: random.Random, faults: Faults) -> None:
        self.rng = rng
        self.faults = faults
        self.down: dict[NodeId, int] = {}
        """Crashed nodes and when they come back (virtual ms)."""
        self.partition_until: int | None = None

    def act(self, cluster: Cluster) -> None:
        now = cluster.now
        for node_id, restart_at in list(self.down.items()):
            if restart_at <= now:
                del self.down[node_id]
                if node_id in cluster.storages:
                    cluster.start(node_id)
        rng = self.rng
        faults = self.faults
        if faults.crash and rng.random() < faults.crash:
            self._crash_one(cluster)
        if self.partition_until is not None:
            if now >= self.partition_until:
                self.partition_until = None
                cluster.network.heal()
                cluster.record(-1, "heal")
        elif faults.partition and rng.random() < faults.partition:
            self._partition(cluster)
        if faults.false_disconnect and rng.random() < faults.false_disconnect:
            self._false_disconnect(cluster)

    def _false_disconnect(self, cluster: Cluster) -> None:
        """A live node hears that a live peer's connection was lost (a reset, not a crash)."""
        ids = sorted(cluster.nodes)
        if len(ids) < 2:
            return
        to, peer = self.rng.sample(ids, 2)
        cluster.hints.push(to, peer, cluster.now)

    def _crash_one(self, cluster: Cluster) -> None:
        ids = sorted(cluster.nodes)
        if not ids:
            return
        victim = ids[self.rng.randrange(len(ids))]
        cluster.crash(victim)
        faults = self.faults
        self.down[victim] = cluster.now + self.rng.randint(faults.restart_min, faults.restart_max)

    def _partition(self, cluster: Cluster) -> None:
        rng = self.rng
        ids = sorted(cluster.storages)
        if len(ids) < 2:
            return
        faults = self.faults
        self.partition_until = cluster.now + rng.randint(faults.partition_min, faults.partition_max)
        if rng.random() < faults.asymmetric:
            for _ in range(rng.randint(1, len(ids))):
                frm, to = rng.sample(ids, 2)
                cluster.network.block(frm, to)
            links = sorted(cluster.network.blocked)
            cluster.record(-1, "partition", "blocked " + " ".join(f"{a}->{b}" for a, b in links))
            return
        rng.shuffle(ids)
        cut = rng.randint(1, len(ids) - 1)
        groups = [sorted(ids[:cut]), sorted(ids[cut:])]
        cluster.network.partition(groups)
        cluster.record(-1, "partition", f"groups {groups[0]} | {groups[1]}")

    def stop(self, cluster: Cluster) -> None:
        """Liveness phase: no more faults; heal the network; restart every crashed node."""
        self.partition_until = None
        cluster.network.heal()
        self.down.clear()
        for node_id in sorted(cluster.storages):
            if node_id not in cluster.nodes:
                cluster.start(node_id)
        cluster.record(-1, "liveness", "network healed, crashed nodes restarted")
