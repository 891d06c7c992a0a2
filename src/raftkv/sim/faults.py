"""The fault injector: crashes and restarts of nodes, pauses, symmetric and asymmetric
partitions.

It acts once per step of the safety phase with the rates the seed chose; `stop()` ends the
faults for the liveness phase (heal the network, resume paused nodes, restart every crashed
node). Some faults aim at the dangerous windows instead of landing anywhere: a leader crashes
while its write is in flight (it has sent entries it has not made durable, and loses them; now
and then a follower does), partitions cut the leader off, pauses mostly stop the leader, and
`burst()` strikes right after a membership change or a leadership transfer.
"""

from __future__ import annotations

import random

from raftkv.core import NodeId

from .cluster import Cluster
from .options import Faults

CRASH_WRITING_FOLLOWER = 0.3
"""Share of the crashes aimed at a write in flight that hit another node when the leader's
disk is idle (a follower that loses what it had not made durable)."""
LEADER_SPLIT = 0.4
"""Share of partitions that cut the leader off from everyone else."""
PAUSE_LEADER = 0.7
"""Share of pauses that hit the leader (a paused follower is a lost message or two)."""


class FaultInjector:
    def __init__(self, rng: random.Random, faults: Faults) -> None:
        self.rng = rng
        self.faults = faults
        self.down: dict[NodeId, int] = {}
        """Crashed nodes and when they come back (virtual ms)."""
        self.partition_until: int | None = None
        self.paused: dict[NodeId, int] = {}
        """Paused nodes and when they resume (virtual ms)."""

    def act(self, cluster: Cluster) -> None:
        now = cluster.now
        for node_id, restart_at in list(self.down.items()):
            if restart_at <= now:
                del self.down[node_id]
                if node_id in cluster.storages:
                    cluster.start(node_id)
        rng = self.rng
        faults = self.faults
        for node_id, resume_at in list(self.paused.items()):
            if resume_at <= now:
                del self.paused[node_id]
                cluster.resume(node_id, self.rng)
        if faults.crash and rng.random() < faults.crash:
            self._crash_one(cluster)
        if faults.crash_writing and rng.random() < faults.crash_writing:
            self._crash_writing(cluster)
        if faults.pause and rng.random() < faults.pause:
            self._pause_one(cluster)
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

    def burst(self, cluster: Cluster) -> None:
        """Right after a membership change or a transfer: maybe a crash or a partition."""
        rng = self.rng
        if not rng.random() < self.faults.fault_burst:
            return
        if rng.random() < 0.3 or self.partition_until is not None:
            self._crash_one(cluster)
        else:
            self._partition(cluster, shaped=True)

    def _crash_one(self, cluster: Cluster) -> None:
        ids = sorted(cluster.nodes)
        if not ids:
            return
        self._crash(cluster, ids[self.rng.randrange(len(ids))])

    def _crash_writing(self, cluster: Cluster) -> None:
        """The leader crashes after sending entries, before its own fsync of them is done; if
        its disk is idle, now and then another node crashes with its write in flight."""
        leader = cluster.leader()
        if leader is not None and leader.writing and leader.id not in self.paused:
            self._crash(cluster, leader.id)
            return
        writing = [n for n in sorted(cluster.nodes) if cluster.nodes[n].writing]
        if writing and self.rng.random() < CRASH_WRITING_FOLLOWER:
            self._crash(cluster, writing[self.rng.randrange(len(writing))])

    def _crash(self, cluster: Cluster, victim: NodeId) -> None:
        self.paused.pop(victim, None)
        cluster.crash(victim)
        faults = self.faults
        self.down[victim] = cluster.now + self.rng.randint(faults.restart_min, faults.restart_max)

    def _pause_one(self, cluster: Cluster) -> None:
        """Pause a running node (most often the leader) for a while."""
        rng = self.rng
        ids = [n for n in sorted(cluster.nodes) if n not in self.paused]
        if not ids:
            return
        leader = cluster.leader()
        if leader is not None and leader.id in ids and rng.random() < PAUSE_LEADER:
            victim = leader.id
        else:
            victim = ids[rng.randrange(len(ids))]
        faults = self.faults
        self.paused[victim] = cluster.now + rng.randint(faults.pause_min, faults.pause_max)
        cluster.pause(victim)

    def _partition(self, cluster: Cluster, shaped: bool = False) -> None:
        """A partition: asymmetric links, a random split, or (`shaped`, and a share of the
        others) a split around the leader: the leader alone (it keeps serving until it learns
        better), or the leader with the voters its latest configuration adds against the rest
        (a change that only the new configuration could agree to)."""
        rng = self.rng
        ids = sorted(cluster.storages)
        if len(ids) < 2:
            return
        faults = self.faults
        self.partition_until = cluster.now + rng.randint(faults.partition_min, faults.partition_max)
        leader = cluster.leader()
        if leader is not None and (shaped or rng.random() < LEADER_SPLIT):
            side = {leader.id}
            if shaped:
                status = leader.core.status()
                side |= status.membership.voters - status.committed_membership.voters
            groups = [sorted(side), [n for n in ids if n not in side]]
            if groups[1]:
                cluster.network.partition(groups)
                cluster.record(-1, "partition", f"groups {groups[0]} | {groups[1]} (leader)")
                return
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
        for node_id in sorted(self.paused):
            cluster.resume(node_id, self.rng)
        self.paused.clear()
        self.down.clear()
        for node_id in sorted(cluster.storages):
            if node_id not in cluster.nodes:
                cluster.start(node_id)
        cluster.record(
            -1, "liveness", "network healed, paused nodes resumed, crashed nodes restarted"
        )
