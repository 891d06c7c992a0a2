"""Linearizable reads by ReadIndex (thesis §6.4), no lease reads.

The leader answers `read_index = commit_index` once an entry of its own term is committed,
after a (joint) quorum acknowledged a request sent AFTER the read was registered: each request
carries a `seq`, and a read registered at seq S is confirmed by acknowledgements of seq > S
(recent acknowledgements are not enough: they give stale reads after a pause). One heartbeat
round serves every read registered before it. A follower asks the leader and hands out the
answer; the runtime waits until applied >= index before reading.
"""

from __future__ import annotations

from .messages import ReadIndexRequest, ReadIndexResponse
from .quorum import UNBOUNDED, joint_value
from .ready import ReadState
from .state import NodeState, PendingRead
from .types import NodeId, Role


def read_index(st: NodeState, ctx: int) -> None:
    """A local client's read: served here if leader, else asked of the known leader."""
    if st.role is Role.LEADER:
        leader_read(st, ctx, st.id)
    elif st.leader_id is None or st.role is not Role.FOLLOWER:
        st.read_states.append(ReadState(ctx, 0, False, st.leader_id))
    else:
        st.remote_reads[ctx] = st.leader_id
        st.send(ReadIndexRequest(st.term, st.id, st.leader_id, ctx))


def handle_read_index_request(st: NodeState, req: ReadIndexRequest) -> None:
    if st.role is Role.LEADER:
        leader_read(st, req.ctx, req.frm)
    else:
        st.send(ReadIndexResponse(st.term, st.id, req.frm, req.ctx, 0, False))


def handle_read_index_response(st: NodeState, resp: ReadIndexResponse) -> None:
    leader = st.remote_reads.pop(resp.ctx, None)
    if leader == resp.frm:
        st.read_states.append(ReadState(resp.ctx, resp.index, resp.ok, resp.frm))
    elif leader is not None:
        st.remote_reads[resp.ctx] = leader  # an answer from someone else: keep waiting


def leader_read(st: NodeState, ctx: int, origin: NodeId) -> None:
    if not st.committed_in_term:
        st.reads_waiting_commit.append((ctx, origin))  # commit index may still be stale
        return
    read = PendingRead(ctx, origin, st.log.commit_index, st.seq)
    st.reads_pending.append(read)
    st.read_round_seq = st.seq
    on_ack(st)


def on_committed_in_term(st: NodeState) -> None:
    waiting, st.reads_waiting_commit = st.reads_waiting_commit, []
    for ctx, origin in waiting:
        leader_read(st, ctx, origin)


def on_ack(st: NodeState) -> None:
    """Answer every read whose round a (joint) quorum has acknowledged."""
    pending = st.reads_pending
    if not pending:
        return
    confirmed = joint_value(st.membership.configs, lambda node: acked_seq(st, node))
    while pending and pending[0].registered_seq < confirmed:
        answer(st, pending.popleft(), True)
    if not pending:
        st.read_round_seq = -1


def acked_seq(st: NodeState, node: NodeId) -> int:
    if node == st.id:
        return UNBOUNDED
    tr = st.trackers.get(node)
    return 0 if tr is None else tr.acked_seq


def answer(st: NodeState, read: PendingRead, ok: bool) -> None:
    if read.origin == st.id:
        st.read_states.append(ReadState(read.ctx, read.index, ok, st.leader_id))
    else:
        st.send(ReadIndexResponse(st.term, st.id, read.origin, read.ctx, read.index, ok))


def fail_leader_reads(st: NodeState) -> None:
    """Leadership is no longer certain: every pending read fails (definitely)."""
    while st.reads_pending:
        answer(st, st.reads_pending.popleft(), False)
    waiting, st.reads_waiting_commit = st.reads_waiting_commit, []
    for ctx, origin in waiting:
        answer(st, PendingRead(ctx, origin, 0, 0), False)
    st.read_round_seq = -1


def fail_remote_reads(st: NodeState) -> None:
    """The leader we asked is gone (new term or leader): its answers can no longer come."""
    for ctx, leader in st.remote_reads.items():
        st.read_states.append(ReadState(ctx, 0, False, leader))
    st.remote_reads.clear()
