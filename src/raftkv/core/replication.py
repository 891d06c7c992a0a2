"""The leader's side of log replication (thesis §3.5, §10.2.1): batching, pipelining, fast
backtracking, commitment by a (joint) quorum of durable matches, heartbeats, check-quorum.

NB: the leader may send entries before its own fsync, but counts itself toward a commit only
once they are durable (`RaftLog.durable_index`, moved by `advance`); it commits only entries of
its own term by counting (§5.4.2).
"""

from __future__ import annotations

from . import read_index, reconfig, roles, snapshot, transfer
from .errors import InvariantViolation
from .membership import decode_membership
from .messages import AppendRequest, AppendResponse
from .progress import ReplState, Tracker
from .quorum import has_quorum, joint_value
from .state import NodeState
from .types import Entry, EntryKind, NodeId


def replicated_nodes(st: NodeState) -> set[NodeId]:
    """Every member of the effective or the committed configuration but self: a voter being
    removed keeps hearing from the leader until the change commits."""
    nodes = set(st.membership.nodes)
    nodes.update(st.mem.at(st.log.commit_index)[1].nodes)
    nodes.discard(st.id)
    return nodes


def sync_trackers(st: NodeState) -> None:
    wanted = replicated_nodes(st)
    for node in list(st.trackers):
        if node not in wanted:
            del st.trackers[node]
    next_index = st.log.last_index + 1
    for node in wanted:
        if node not in st.trackers:
            st.trackers[node] = Tracker(node, next_index, st.now)


def append_entry(st: NodeState, entry: Entry) -> None:
    """Leader: append one entry of its term; followers get it with the next Ready."""
    st.log.append(entry)
    if entry.kind is EntryKind.MEMBERSHIP:
        st.mem.append(entry.index, decode_membership(entry.data))
        sync_trackers(st)
    st.broadcast_pending = True


# -- sending -----------------------------------------------------------------------------


def send_append(st: NodeState, tr: Tracker, allow_empty: bool) -> bool:
    """Send what the follower's state allows; False if nothing was sent."""
    if tr.state is ReplState.SNAPSHOT:
        return False
    if tr.state is ReplState.PROBE:
        if tr.paused:
            return False
        allow_empty = True  # a probe needs an answer even with nothing new
    elif len(tr.inflight) >= st.cfg.max_inflight:
        return False
    prev_index = tr.next_index - 1
    prev_term = st.log.term_at(prev_index)
    if prev_term is None:
        return snapshot.send_snapshot(st, tr)
    entries: list[Entry] = []
    if tr.next_index <= st.log.last_index:
        entries = st.log.slice(tr.next_index, st.cfg.max_append_entries, st.cfg.max_append_bytes)
    if not entries and not allow_empty:
        return False
    commit = st.log.commit_index
    seq = st.next_seq()
    st.send(
        AppendRequest(
            st.term, st.id, tr.node_id, prev_index, prev_term, tuple(entries), commit, seq
        )
    )
    tr.last_sent_seq = seq
    tr.sent_commit = commit
    if tr.state is ReplState.PROBE:
        tr.paused = True
    elif entries:
        if not tr.inflight:
            tr.last_progress = st.now
        tr.next_index = entries[-1].index + 1
        tr.inflight.append(entries[-1].index)
    return True


def send_heartbeat(st: NodeState, tr: Tracker) -> None:
    """An empty append at the follower's known match: carries the commit index, keeps the
    lease, and answers ReadIndex rounds."""
    prev_index = tr.match_index
    prev_term = st.log.term_at(prev_index)
    if prev_term is None:
        prev_index, prev_term = 0, 0
    commit = st.log.commit_index
    seq = st.next_seq()
    st.send(AppendRequest(st.term, st.id, tr.node_id, prev_index, prev_term, (), commit, seq))
    tr.last_sent_seq = seq
    tr.sent_commit = commit


def flush(st: NodeState) -> None:
    """Send everything owed since the last Ready in as few messages as possible."""
    if st.broadcast_pending:
        st.broadcast_pending = False
        commit = st.log.commit_index
        last = st.log.last_index
        for tr in st.trackers.values():
            sent = send_append(st, tr, allow_empty=tr.sent_commit < commit)
            while sent and tr.state is ReplState.REPLICATE and tr.next_index <= last:
                sent = send_append(st, tr, allow_empty=False)
    if st.read_round_seq >= 0:
        voters = st.membership.voters
        for tr in st.trackers.values():
            if tr.node_id in voters and tr.last_sent_seq <= st.read_round_seq:
                send_heartbeat(st, tr)
        st.read_round_seq = -1


# -- responses ---------------------------------------------------------------------------


def handle_append_response(st: NodeState, resp: AppendResponse) -> None:
    tr = st.trackers.get(resp.frm)
    if tr is None:
        return  # not a member (any more)
    if resp.seq > tr.acked_seq:
        tr.acked_seq = resp.seq
    tr.last_ack = st.now
    if resp.success:
        handle_append_success(st, tr, resp.match_index)
    else:
        handle_append_reject(st, tr, resp)
    if st.reads_pending and tr.acked_seq > st.reads_pending[0].registered_seq:
        read_index.on_ack(st)


def handle_append_success(st: NodeState, tr: Tracker, match_index: int) -> None:
    if match_index > st.log.last_index:
        raise InvariantViolation(
            f"{tr.node_id} acknowledged {match_index} beyond the leader's last {st.log.last_index}"
        )
    advanced = tr.update_match(match_index, st.now)
    if tr.state is ReplState.PROBE:
        if tr.match_index + 1 >= tr.next_index or advanced:
            tr.become_replicate(st.seq + 1)
        else:
            tr.paused = False
    elif tr.state is ReplState.SNAPSHOT and tr.match_index >= tr.snapshot_index:
        tr.become_replicate(st.seq + 1)
    if advanced:
        maybe_commit(st)
        transfer.on_progress(st, tr)
    if tr.match_index < st.log.last_index or tr.sent_commit < st.log.commit_index:
        st.broadcast_pending = True


def handle_append_reject(st: NodeState, tr: Tracker, resp: AppendResponse) -> None:
    """Fast backtracking (thesis §5.3): skip the whole conflicting term at once."""
    if resp.seq < tr.reject_floor_seq or tr.state is ReplState.SNAPSHOT:
        return  # answers a request sent before the last reset: stale
    next_index = resp.hint_index
    if resp.hint_term > 0:
        last_of_term = st.log.last_index_of_term(resp.hint_term)
        if last_of_term is not None:
            next_index = last_of_term + 1
    if tr.state is ReplState.PROBE:
        next_index = min(next_index, tr.next_index - 1)
    tr.become_probe(max(1, next_index), st.seq + 1)
    st.broadcast_pending = True


def self_match(st: NodeState, node: NodeId) -> int:
    if node == st.id:
        return st.log.durable_index
    tr = st.trackers.get(node)
    return 0 if tr is None else tr.match_index


def maybe_commit(st: NodeState) -> None:
    """Commit the highest index a (joint) quorum holds durably, if it is of this term."""
    index = joint_value(st.membership.configs, lambda node: self_match(st, node))
    if index <= st.log.commit_index or st.log.term_at(index) != st.term:
        return
    st.log.commit_to(index)
    on_commit_advanced(st)


def on_commit_advanced(st: NodeState) -> None:
    st.broadcast_pending = True
    if not st.committed_in_term:
        st.committed_in_term = True
        read_index.on_committed_in_term(st)
    reconfig.on_commit(st)


# -- time --------------------------------------------------------------------------------


def tick_leader(st: NodeState) -> None:
    transfer.tick(st)
    if st.now < st.heartbeat_deadline:
        return
    st.heartbeat_deadline = st.now + st.cfg.heartbeat_interval
    if st.cfg.check_quorum and not quorum_active(st):
        roles.become_follower(st, st.term, None)
        return
    for tr in st.trackers.values():
        heartbeat_follower(st, tr)


def heartbeat_follower(st: NodeState, tr: Tracker) -> None:
    if tr.state is ReplState.SNAPSHOT and st.now >= tr.snapshot_deadline:
        tr.become_probe(tr.match_index + 1, st.seq + 1)  # the snapshot was lost: retry
    elif (
        tr.state is ReplState.REPLICATE
        and tr.inflight
        and st.now - tr.last_progress >= 2 * st.cfg.heartbeat_interval
    ):
        tr.become_probe(tr.match_index + 1, st.seq + 1)  # appends were lost: resend
    if tr.state is ReplState.PROBE:
        tr.paused = False
        send_append(st, tr, allow_empty=True)
    else:
        send_heartbeat(st, tr)


def quorum_active(st: NodeState) -> bool:
    """Check-quorum (thesis §6.2): has a (joint) quorum answered within election_timeout_min?"""
    since = st.now - st.cfg.election_timeout_min
    active = {st.id}
    for node, tr in st.trackers.items():
        if tr.last_ack > since:
            active.add(node)
    return has_quorum(st.membership.configs, active)
