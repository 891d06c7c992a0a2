"""Seeded random runs of the harness under message loss, duplication, reordering and crashes,
checking election safety (§5.2), state machine safety (§5.4.3) and, after healing, that every
node converges. The simulator (`raftkv-sim`) does this at scale; this is the core's own net."""

from __future__ import annotations

import random

import pytest

from raftkv.core import Entry, Role

from .harness import FAST, Cluster, bootstrap


class SafetyLog:
    def __init__(self) -> None:
        self.leaders: dict[int, int] = {}
        self.applied: dict[int, tuple[int, bytes]] = {}

    def observe(self, cluster: Cluster) -> None:
        for node_id, node in cluster.nodes.items():
            if node_id in cluster.crashed:
                continue
            if node.role is Role.LEADER:
                other = self.leaders.setdefault(node.term, node_id)
                assert other == node_id, f"two leaders in term {node.term}: {other}, {node_id}"
            for entry in cluster.applied[node_id]:
                self.check_applied(entry)

    def check_applied(self, entry: Entry) -> None:
        if entry.index == 0:
            return  # restored from a snapshot by the harness
        seen = self.applied.setdefault(entry.index, (entry.term, entry.data))
        assert seen == (entry.term, entry.data), f"index {entry.index}: {seen} vs {entry}"


def chaos_step(cluster: Cluster, rng: random.Random) -> None:
    cluster.tick(5)
    batch, cluster.queue = cluster.queue, []
    rng.shuffle(batch)
    for msg in batch:
        roll = rng.random()
        if roll < 0.05:
            continue  # lost
        if roll < 0.25:
            cluster.queue.append(msg)  # delayed (and so reordered)
            continue
        if roll < 0.27:
            cluster.queue.append(msg)  # duplicated
        if msg.to not in cluster.crashed:
            cluster.nodes[msg.to].step(msg)
    cluster.process()


@pytest.mark.parametrize("seed", range(10))
def test_safety_under_random_faults(seed: int) -> None:
    rng = random.Random(seed)
    cluster = bootstrap([0, 1, 2, 3, 4], FAST, seed=seed)
    safety = SafetyLog()
    proposed = 0
    for step in range(1500):
        chaos_step(cluster, rng)
        if rng.random() < 0.3:
            leaders = cluster.leaders()
            if leaders:
                cluster.nodes[leaders[0]].propose(b"p%d" % proposed)
                proposed += 1
        if rng.random() < 0.004 and len(cluster.crashed) < 2:
            cluster.crash(rng.choice([i for i in cluster.ids if i not in cluster.crashed]))
        if cluster.crashed and rng.random() < 0.01:
            cluster.restart(rng.choice(sorted(cluster.crashed)))
        if step % 300 == 299:
            leaders = cluster.leaders()
            if leaders:
                cluster.take_snapshot(leaders[0])
        safety.observe(cluster)
    for node_id in sorted(cluster.crashed):
        cluster.restart(node_id)
    cluster.run(1000)
    safety.observe(cluster)
    leader = cluster.leader()
    cluster.nodes[leader].propose(b"final")
    cluster.run(200)
    expected = cluster.commands(leader)
    assert expected[-1] == b"final"
    for node_id in cluster.ids:
        assert cluster.commands(node_id) == expected, node_id
