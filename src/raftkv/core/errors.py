"""Errors of the Raft core.

Expected outcomes are values the caller handles (a proposal to a follower, a membership change
while another is in flight); a broken invariant is `InvariantViolation`, which nobody catches.
"""

from __future__ import annotations

from .types import NodeId


class RaftKVError(Exception):
    """Root of every raftkv error."""


class NotLeader(RaftKVError):
    """This node cannot serve the request; `leader_id` is the leader it knows of, if any."""

    def __init__(self, leader_id: NodeId | None, message: str = "") -> None:
        super().__init__(message or f"not the leader (leader: {leader_id})")
        self.leader_id = leader_id


class ProposalDropped(RaftKVError):
    """The leader refuses new proposals for now (leadership transfer in progress)."""


class AlreadyInitialized(RaftKVError):
    """`initialize` on a node that already has state."""


class NotInitialized(RaftKVError):
    """The node has no membership yet (pristine) and cannot serve the request."""


class MembershipChangeInProgress(RaftKVError):
    """A membership change is not yet committed (only one may be in flight)."""


class LearnerNotFound(RaftKVError):
    """A target voter is neither a learner nor a voter."""

    def __init__(self, node_ids: list[NodeId]) -> None:
        super().__init__(f"not a learner or voter: {sorted(node_ids)}")
        self.node_ids = sorted(node_ids)


class LearnerLagging(RaftKVError):
    """A learner to promote is too far behind the leader (`max_promote_lag`)."""

    def __init__(self, node_id: NodeId, lag: int) -> None:
        super().__init__(f"learner {node_id} is {lag} entries behind")
        self.node_id = node_id
        self.lag = lag


class InvalidMembership(RaftKVError):
    """A requested configuration is unusable (an empty voter set, for example)."""


class Compacted(RaftKVError):
    """The requested log index was compacted into a snapshot."""


class MessageRejected(RaftKVError):
    """A peer's message refused before it changed anything: by the core, as no correct peer
    sends it (see `peer_input`), or by the runtime at its door. `reason` is a short label
    (metrics count by it)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason


class InvariantViolation(AssertionError):
    """A bug in the core: state that must never exist. Never caught."""
