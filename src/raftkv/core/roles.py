"""Role changes: follower, (pre-)candidate, leader (thesis §3.4, §9.6)."""

from __future__ import annotations

from . import read_index, replication
from .progress import Tracker
from .state import NodeState
from .types import Entry, EntryKind, NodeId, Role


def become_follower(st: NodeState, term: int, leader: NodeId | None) -> None:
    """Step down (or stay down) at `term`; any term bump is persisted before any reply."""
    was_leader = st.role is Role.LEADER
    st.set_term(term)
    if st.role is not Role.SHUTDOWN:
        st.role = Role.FOLLOWER
    st.pre_vote_phase = False
    if leader != st.leader_id:
        read_index.fail_remote_reads(st)
    st.leader_id = leader
    if was_leader:
        leave_leadership(st)
    st.reset_election_deadline()


def leave_leadership(st: NodeState) -> None:
    """Drop the leader's volatile state; pending reads fail (leadership is no longer sure)."""
    read_index.fail_leader_reads(st)
    st.trackers = {}
    st.transfer_target = None
    st.timeout_now_sent = False
    st.committed_in_term = False
    st.broadcast_pending = False


def become_pre_candidate(st: NodeState) -> None:
    """Pre-vote (thesis §9.6): ask whether we could win, without bumping or persisting the term."""
    st.role = Role.CANDIDATE
    st.pre_vote_phase = True
    if st.leader_id is not None:
        read_index.fail_remote_reads(st)
    st.leader_id = None
    st.votes_granted = {st.id}
    st.votes_rejected = set()
    st.reset_election_deadline()


def become_candidate(st: NodeState) -> None:
    """Start a real election: new term, vote for self (both persisted before the requests).

    The own vote is not counted yet: `election.on_hard_state_persisted` counts it once the
    Ready holding (term, vote) was advanced."""
    st.set_term(st.term + 1)
    st.set_vote(st.id)
    st.role = Role.CANDIDATE
    st.pre_vote_phase = False
    if st.leader_id is not None:
        read_index.fail_remote_reads(st)
    st.leader_id = None
    st.votes_granted = set()
    st.votes_rejected = set()
    st.reset_election_deadline()


def become_leader(st: NodeState) -> None:
    """Take over: track every member, append a blank entry of this term (§5.4.2, §8) and
    send it at once."""
    st.role = Role.LEADER
    st.pre_vote_phase = False
    st.leader_id = st.id
    st.seq = 0
    st.committed_in_term = False
    st.handled_config = -1
    st.read_round_seq = -1
    st.transfer_target = None
    read_index.fail_remote_reads(st)
    next_index = st.log.last_index + 1
    st.trackers = {
        node: Tracker(node, next_index, st.now) for node in replication.replicated_nodes(st)
    }
    st.heartbeat_deadline = st.now + st.cfg.heartbeat_interval
    replication.append_entry(st, Entry(st.term, next_index, EntryKind.BLANK))
