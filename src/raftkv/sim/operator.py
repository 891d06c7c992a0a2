"""The operator: bootstraps the cluster, then changes membership and moves leadership.

Bootstrap is the production flow: initialize node 0, add the others as learners, promote
them. Afterwards, at the rate the seed chose, it adds a learner (a fresh pristine node under
a new id), promotes learners, removes a voter (retain=False, sometimes True; down to a single
voter), replaces a voter by a learner in one change (the joint configuration where a majority
of C_new is no majority of C_old) or transfers leadership, and it keeps the voter count near
the target by re-adding new nodes. Nodes that left the
configuration are destroyed. Expected refusals (`NotLeader`, `MembershipChangeInProgress`,
...) are part of the game.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from raftkv.core import NodeId, RaftKVError

from .cluster import Cluster, node_info
from .node import SimNode

MAX_LEARNERS = 2
MIN_NODES = 3
"""Bootstrap starts at least this many nodes (learners beyond the target of voters)."""
RETAIN_SHARE = 0.3
"""Share of voter removals that keep the node as a learner (retain=True)."""
LEAVE_GRACE_MS = 3000
"""A node left out of the configuration this long is destroyed (removed, or its add failed)."""


class Operator:
    def __init__(self, rng: random.Random, target_voters: int, rate: float) -> None:
        self.rng = rng
        self.target = target_voters
        self.rate = rate
        self.outside_since: dict[NodeId, int] = {}
        self.acted = False
        """Whether the last `act` changed the membership or started a transfer."""
        self.last_included: dict[NodeId, int] = {}
        """The highest log index of a configuration this operator appended that names the node:
        only a committed configuration at a higher index can have removed it."""

    def bootstrap(self, cluster: Cluster) -> None:
        first = cluster.new_node()
        cluster.reinitialize(first)
        self.last_included[first.id] = 1
        # At least three nodes: with a target of one or two voters, the rest are learners.
        for _ in range(max(self.target, MIN_NODES) - 1):
            cluster.new_node()

    def act(self, cluster: Cluster, random_ops: bool) -> bool:
        """Look at the cluster and maybe act; True if a change or transfer was accepted."""
        self.acted = False
        self._act(cluster, random_ops)
        return self.acted

    def _act(self, cluster: Cluster, random_ops: bool) -> None:
        leader = cluster.leader()
        if leader is None:
            self._maybe_reinitialize(cluster)
            return
        if leader.id in cluster.paused:
            return  # its admin requests would wait with its other inputs
        status = leader.core.status()
        membership = status.membership
        self._collect_leavers(cluster, status)
        voters = sorted(membership.voters)
        learners = sorted(membership.learners)
        missing = [n for n in sorted(cluster.storages) if n not in membership.nodes]
        if membership.joint or status.membership_index > status.commit_index:
            return
        if missing and len(voters) + len(learners) < self.target + MAX_LEARNERS:
            self._add_learner(cluster, leader, missing[0])
        elif learners and len(voters) < self.target:
            self._change(cluster, leader, "promote", [*voters, *learners], retain=False)
        elif len(voters) + len(learners) < self.target:
            self._add_learner(cluster, leader, cluster.new_node().id)
        elif random_ops and self.rng.random() < self.rate:
            self._random_op(cluster, leader, voters, learners)

    def _random_op(
        self, cluster: Cluster, leader: SimNode, voters: list[int], learners: list[int]
    ) -> None:
        rng = self.rng
        choice = min(rng.randrange(6), 4)  # replacements twice as often as each other op
        if choice == 4 and not learners and len(voters) > 1:
            choice = 0  # a replacement needs a learner: add one first
        if choice == 4 and learners and len(voters) > 1:
            gone = voters[rng.randrange(len(voters))]
            chosen = learners[rng.randrange(len(learners))]
            kept = [v for v in voters if v != gone]
            self._change(cluster, leader, "replace", [*kept, chosen], rng.random() < RETAIN_SHARE)
        elif choice == 0 and len(learners) < MAX_LEARNERS:
            self._add_learner(cluster, leader, cluster.new_node().id)
        elif choice == 1 and learners and len(voters) < 5:
            chosen = learners[rng.randrange(len(learners))]
            self._change(cluster, leader, "promote", [*voters, chosen], retain=False)
        elif choice == 2 and len(voters) > 1:
            gone = voters[rng.randrange(len(voters))]
            retain = rng.random() < RETAIN_SHARE
            self._change(cluster, leader, "remove", [v for v in voters if v != gone], retain)
        else:
            others = [v for v in voters if v != leader.id]
            target = others[rng.randrange(len(others))] if others and rng.random() < 0.7 else None
            self._try(
                cluster,
                leader,
                f"transfer {target}",
                lambda: leader.core.transfer_leadership(target),
            )

    def _add_learner(self, cluster: Cluster, leader: SimNode, node_id: NodeId) -> None:
        info = node_info(node_id)
        self._try(
            cluster,
            leader,
            f"add-learner {node_id}",
            lambda: leader.core.add_learner(node_id, info),
        )

    def _change(
        self, cluster: Cluster, leader: SimNode, label: str, voters: list[NodeId], retain: bool
    ) -> None:
        target = set(voters)
        self._try(
            cluster,
            leader,
            f"{label} {sorted(target)} retain={retain}",
            lambda: leader.core.change_membership(target, retain),
        )

    def _try(
        self, cluster: Cluster, leader: SimNode, label: str, action: Callable[[], object]
    ) -> None:
        """Run one operator call; remember which nodes the configuration it appended names."""
        try:
            action()
        except RaftKVError as exc:
            cluster.record(leader.id, "operator", f"{label}: refused ({type(exc).__name__})")
            return
        cluster.record(leader.id, "operator", label)
        self.acted = True
        status = leader.core.status()
        for node_id in status.membership.nodes:
            if self.last_included.get(node_id, 0) < status.membership_index:
                self.last_included[node_id] = status.membership_index

    def _maybe_reinitialize(self, cluster: Cluster) -> None:
        """If the first node crashed before `initialize` was durable, the cluster is gone
        without a trace: initialize the same node again, as an operator retrying /admin/init
        would (a new cluster id: see `Cluster.reinitialize`). NB: initializing another node
        instead would found a second cluster whose first entries clash with what the first
        node may have sent."""
        first = cluster.nodes.get(min(cluster.storages, default=-1))
        if first is None or any(not s.boot_state().pristine for s in cluster.storages.values()):
            return
        if any(node.core.status().membership.nodes for node in cluster.nodes.values()):
            return
        cluster.reinitialize(first)
        self.last_included[first.id] = 1

    def _collect_leavers(self, cluster: Cluster, status: Any) -> None:
        """Destroy nodes that a committed configuration left out for good.

        NB: the leader seen may be stale (the real one crashed); destroying a member's disk
        would be a fault outside Raft's model, so a node goes only when a committed
        configuration newer than every configuration naming it leaves it out.
        """
        latest = status.membership.nodes
        committed = status.committed_membership.nodes
        committed_index = status.committed_membership_index
        now = cluster.now
        for node_id in sorted(cluster.storages):
            removed = committed_index > self.last_included.get(node_id, 0)
            if node_id in latest or node_id in committed or not removed:
                self.outside_since.pop(node_id, None)
                continue
            since = self.outside_since.setdefault(node_id, now)
            if now - since >= LEAVE_GRACE_MS:
                self.outside_since.pop(node_id, None)
                cluster.destroy(node_id)
