"""`RawNode.status()`: a read-only snapshot of a node's Raft state for /state and metrics."""

from __future__ import annotations

import msgspec

from .types import Membership, NodeId, Role


class Progress(msgspec.Struct, frozen=True):
    """The leader's view of one follower (`state` is "probe", "replicate" or "snapshot";
    `last_ack` is when it last answered, on the injected clock)."""

    match_index: int
    next_index: int
    state: str
    last_ack: int


class Status(msgspec.Struct, frozen=True):
    node_id: NodeId
    role: Role
    term: int
    vote: NodeId | None
    leader_id: NodeId | None
    commit_index: int
    applied_index: int
    last_index: int
    last_term: int
    snapshot_index: int
    membership: Membership
    """The effective configuration (the latest appended)."""
    membership_index: int
    committed_membership: Membership
    committed_membership_index: int
    progress: dict[NodeId, Progress]
    """Only on the leader (empty elsewhere)."""

    def awaits_snapshot(self, peer: NodeId, term: int) -> bool:
        """Whether this node, still leading in `term`, waits for `peer` to install a snapshot
        (a runtime checks before it sends one that took time to prepare)."""
        if self.role is not Role.LEADER or self.term != term:
            return False
        progress = self.progress.get(peer)
        return progress is not None and progress.state == "snapshot"
