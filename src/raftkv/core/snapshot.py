"""Snapshots and log compaction (thesis §5): taking one, compacting, sending one to a lagging
follower, and receiving one.

The core never holds snapshot bytes: a SnapshotRequest leaves with empty `data` and the runtime
attaches the latest snapshot it stored (the one `compact` was last told about).
"""

from __future__ import annotations

import msgspec

from . import read_index, replication, roles
from .errors import Compacted, InvariantViolation
from .membership import decode_membership
from .messages import SnapshotRequest, SnapshotResponse
from .progress import ReplState, Tracker
from .ready import InstallSnapshot
from .state import NodeState
from .types import EntryKind, Role, SnapshotMeta


def snapshot_meta(st: NodeState, index: int) -> SnapshotMeta:
    """The metadata of a snapshot of the state machine after applying `index`."""
    log = st.log
    if index < log.snapshot_index:
        raise Compacted(f"index {index} is below the snapshot at {log.snapshot_index}")
    if index > log.applied_index:
        raise ValueError(f"index {index} is not applied yet (applied {log.applied_index})")
    term = log.term_at(index)
    if term is None:
        raise InvariantViolation(f"no term for applied index {index}")
    membership_index, membership = st.mem.at(index)
    return SnapshotMeta(index, term, membership, membership_index)


def compact(st: NodeState, meta: SnapshotMeta) -> None:
    """The snapshot `meta` is durable: drop the log through it and offer it to followers."""
    if st.snapshot_meta is not None and meta.last_index <= st.snapshot_meta.last_index:
        return
    st.log.compact(meta.last_index, meta.last_term)
    st.mem.compact(meta.last_index)
    st.snapshot_meta = meta
    retarget_queued_snapshots(st, meta)


def retarget_queued_snapshots(st: NodeState, meta: SnapshotMeta) -> None:
    """NB: the runtime attaches the bytes of the latest snapshot only, so a SnapshotRequest
    still queued must name the snapshot that replaced the one it was built for."""
    for queue in (st.messages, st.persisted_messages):
        for pos, msg in enumerate(queue):
            if isinstance(msg, SnapshotRequest) and msg.meta != meta:
                queue[pos] = msgspec.structs.replace(msg, meta=meta)
                tracker = st.trackers.get(msg.to)
                if tracker is not None and tracker.state is ReplState.SNAPSHOT:
                    tracker.snapshot_index = meta.last_index


def send_snapshot(st: NodeState, tr: Tracker) -> bool:
    """The follower needs entries we compacted: send the latest snapshot instead."""
    meta = st.snapshot_meta
    if meta is None:
        raise InvariantViolation(f"{tr.node_id} needs compacted entries but no snapshot exists")
    seq = st.next_seq()
    st.send(SnapshotRequest(st.term, st.id, tr.node_id, meta, seq))
    tr.last_sent_seq = seq
    tr.sent_commit = st.log.commit_index
    tr.become_snapshot(meta.last_index, st.now + 2 * st.cfg.election_timeout_max)
    return True


def handle_snapshot_response(st: NodeState, resp: SnapshotResponse) -> None:
    tr = st.trackers.get(resp.frm)
    if tr is None:
        return
    if resp.seq > tr.acked_seq:
        tr.acked_seq = resp.seq
    tr.last_ack = st.now
    if resp.last_index > st.log.last_index:
        raise InvariantViolation(f"{resp.frm} installed {resp.last_index} beyond our log")
    advanced = tr.update_match(resp.last_index, st.now)
    if tr.state is ReplState.SNAPSHOT and tr.match_index >= tr.snapshot_index:
        tr.become_replicate(st.seq + 1)
    if advanced:
        replication.maybe_commit(st)
    st.broadcast_pending = True
    if st.reads_pending and tr.acked_seq > st.reads_pending[0].registered_seq:
        read_index.on_ack(st)


def handle_snapshot(st: NodeState, req: SnapshotRequest) -> None:
    """Follower: install a snapshot newer than our commit, else acknowledge and ignore it."""
    if st.role is Role.LEADER:
        raise InvariantViolation(f"two leaders in term {st.term}: {st.id} and {req.frm}")
    if st.role is Role.CANDIDATE:
        roles.become_follower(st, st.term, req.frm)
    st.heard_from_leader(req.frm)
    meta = req.meta
    if meta.last_index > st.log.commit_index:
        install(st, meta, req.data)
    st.send_persisted(SnapshotResponse(st.term, st.id, req.frm, meta.last_index, req.seq))


def install(st: NodeState, meta: SnapshotMeta, data: bytes) -> None:
    st.log.install_snapshot(meta)
    st.mem.reset(meta.membership_index, meta.membership)
    for entry in st.log.entries:
        if entry.kind is EntryKind.MEMBERSHIP:
            st.mem.append(entry.index, decode_membership(entry.data))
    st.snapshot_meta = meta
    st.install = InstallSnapshot(meta, data)
