"""Membership changes by joint consensus, OpenRaft semantics (thesis §4.3; DESIGN "Membership").

One change at a time: a new one is refused until the latest configuration is committed (and
until the leader's blank entry is, so that it knows the latest committed configuration). The
leader appends C_new by itself once C_old,new commits, also for a joint change it inherited. A
leader that is not in C_new steps down once C_new commits, handing over to the most up-to-date
voter.
"""

from __future__ import annotations

from . import replication, roles
from .errors import (
    InvalidMembership,
    LearnerLagging,
    LearnerNotFound,
    MembershipChangeInProgress,
    NotLeader,
    ProposalDropped,
)
from .membership import encode_membership, final, joint, with_node
from .messages import TimeoutNow
from .state import NodeState
from .types import Entry, EntryKind, Membership, NodeId, NodeInfo, Role


def check_can_change(st: NodeState) -> None:
    if st.role is not Role.LEADER:
        raise NotLeader(st.leader_id)
    if st.transfer_target is not None:
        raise ProposalDropped("leadership transfer in progress")
    if not st.committed_in_term or st.mem.effective_index > st.log.commit_index:
        raise MembershipChangeInProgress("the latest membership change is not committed yet")
    if st.membership.joint:
        raise MembershipChangeInProgress("a joint membership change is being finished")


def append_membership(st: NodeState, membership: Membership) -> int:
    index = st.log.last_index + 1
    data = encode_membership(membership)
    replication.append_entry(st, Entry(st.term, index, EntryKind.MEMBERSHIP, data))
    return index


def add_learner(st: NodeState, node_id: NodeId, info: NodeInfo) -> int:
    """Add a non-voter (or update a member's address); returns the entry's index."""
    check_can_change(st)
    current = st.membership
    if current.nodes.get(node_id) == info:
        return st.mem.effective_index
    return append_membership(st, with_node(current, node_id, info))


def change_membership(st: NodeState, voters: set[NodeId], retain: bool) -> int:
    """Start C_old,new toward `voters`; returns the joint entry's index (or, for a target
    equal to the committed configuration, that configuration's index)."""
    target = frozenset(voters)
    if not target:
        raise InvalidMembership("the voter set must not be empty")
    check_can_change(st)
    current = st.membership
    unknown = [node for node in target if node not in current.nodes]
    if unknown:
        raise LearnerNotFound(unknown)
    if target == current.configs[0]:
        return st.mem.effective_index
    for node in sorted(target - current.configs[0]):
        tr = st.trackers.get(node)
        match = 0 if tr is None else tr.match_index
        lag = st.log.last_index - match
        # NB: a learner that does not hold the current configuration yet may be pristine, and
        # pristine nodes never vote: promoting it could leave no electable quorum.
        if lag > st.cfg.max_promote_lag or match < st.mem.effective_index:
            raise LearnerLagging(node, lag)
    return append_membership(st, joint(current, target, retain))


def on_commit(st: NodeState) -> None:
    """Leader, after the commit index moved: finish a joint change, or step down if C_new
    committed without us."""
    index = st.mem.effective_index
    if st.role is not Role.LEADER or index > st.log.commit_index or index == st.handled_config:
        return
    st.handled_config = index
    replication.sync_trackers(st)  # members dropped by a committed change stop being replicated
    current = st.membership
    if current.joint:
        append_membership(st, final(current))
    elif st.id not in current.voters:
        hand_over(st)


def hand_over(st: NodeState) -> None:
    """Not a voter any more: let the most up-to-date voter campaign at once, then step down."""
    best = max(
        (tr for tr in st.trackers.values() if tr.node_id in st.membership.voters),
        key=lambda tr: (tr.match_index, -tr.node_id),
        default=None,
    )
    if best is not None and best.match_index >= st.log.last_index:
        st.send(TimeoutNow(st.term, st.id, best.node_id))
    roles.become_follower(st, st.term, None)
