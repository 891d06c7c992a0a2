"""Peer messages the core refuses before they change anything.

A message from the network is input, not state: a term whose successor cannot be stored, an
append whose entries are not consecutive, a second leader in this node's own term, an
acknowledgement of entries this leader never had — none of them can come from a correct peer,
and none may reach the handlers, whose checks are invariants of this node's own state (a
failure there is a bug and stops the node). `refusal` tells which rule a message breaks, if
any; `RawNode.step` raises `MessageRejected` with it, and the runtime drops the message,
counts it and logs it. The simulator delivers only what real cores sent, so there a refusal
is a bug of the sender.
"""

from __future__ import annotations

import msgspec

from .errors import InvalidMembership
from .membership import check_invariants, decode_membership
from .messages import (
    AppendRequest,
    AppendResponse,
    Message,
    ReadIndexResponse,
    SnapshotRequest,
    SnapshotResponse,
    VoteRequest,
)
from .state import NodeState
from .types import Entry, EntryKind, Role, SnapshotMeta

MAX_TERM = 1 << 62
"""Terms and indexes are stored as signed 64-bit integers; a message naming more than this is
refused, so that no term this node adopts leaves it unable to store the next one."""
MAX_INDEX = 1 << 62
MAX_NODE_ID = (1 << 63) - 1


def refusal(st: NodeState, msg: Message) -> str | None:
    """The reason label `msg` is refused with (None: it may be stepped)."""
    reason = _shape_refusal(msg)
    if reason is not None:
        return reason
    if msg.term < st.term:
        return None  # answered as stale, never handled
    if isinstance(msg, AppendRequest | SnapshotRequest):
        if msg.term == st.term and (st.role is Role.LEADER or st.leader_id not in (None, msg.frm)):
            return "second_leader"
        if isinstance(msg, AppendRequest) and _conflicts_with_commit(st, msg.entries):
            return "conflicts_with_commit"
    elif msg.term == st.term and st.role is Role.LEADER:
        last = st.log.last_index
        if isinstance(msg, AppendResponse):
            if msg.success and msg.match_index > last:
                return "match_beyond_log"
            if not msg.success and msg.hint_index > last + 1:
                return "hint_beyond_log"
        elif isinstance(msg, SnapshotResponse) and msg.last_index > last:
            return "match_beyond_log"
    return None


def _shape_refusal(msg: Message) -> str | None:
    """What no correct peer sends, whatever this node's state."""
    if not 0 <= msg.term <= MAX_TERM:
        return "term_out_of_range"
    if not (0 <= msg.frm <= MAX_NODE_ID and 0 <= msg.to <= MAX_NODE_ID):
        return "bad_node_id"
    if isinstance(msg, VoteRequest):
        return _position_refusal(msg.term, msg.last_log_index, msg.last_log_term)
    if isinstance(msg, AppendRequest):
        reason = _position_refusal(msg.term, msg.prev_index, msg.prev_term)
        if reason is None and not 0 <= msg.leader_commit <= MAX_INDEX:
            reason = "index_out_of_range"
        return reason or _entries_refusal(msg)
    if isinstance(msg, AppendResponse):
        if not (0 <= msg.match_index <= MAX_INDEX and 0 <= msg.hint_index <= MAX_INDEX):
            return "index_out_of_range"
        return None if 0 <= msg.hint_term <= MAX_TERM else "term_out_of_range"
    if isinstance(msg, SnapshotRequest):
        return _snapshot_meta_refusal(msg.term, msg.meta)
    if isinstance(msg, SnapshotResponse):
        return None if 0 <= msg.last_index <= MAX_INDEX else "index_out_of_range"
    if isinstance(msg, ReadIndexResponse):
        return None if 0 <= msg.index <= MAX_INDEX else "index_out_of_range"
    return None


def _position_refusal(term: int, index: int, index_term: int) -> str | None:
    """A log position (index, its term) that a sender in `term` may name."""
    if not 0 <= index <= MAX_INDEX:
        return "index_out_of_range"
    if not 0 <= index_term <= term or (index == 0 and index_term != 0):
        return "term_out_of_range"
    return None


def _entries_refusal(msg: AppendRequest) -> str | None:
    """Entries follow `prev_index` one by one, with terms that never go back, none after the
    sender's own term; a configuration entry must decode to a usable configuration."""
    previous_term = msg.prev_term
    for offset, entry in enumerate(msg.entries, start=1):
        if entry.index != msg.prev_index + offset or entry.index > MAX_INDEX:
            return "entries_not_consecutive"
        if not previous_term <= entry.term <= msg.term:
            return "entry_term_out_of_order"
        previous_term = entry.term
        if entry.kind is EntryKind.MEMBERSHIP and not _membership_usable(entry.data):
            return "bad_membership"
    return None


def _snapshot_meta_refusal(term: int, meta: SnapshotMeta) -> str | None:
    reason = _position_refusal(term, meta.last_index, meta.last_term)
    if reason is not None:
        return reason
    if not 0 <= meta.membership_index <= meta.last_index:
        return "index_out_of_range"
    try:
        check_invariants(meta.membership)
    except InvalidMembership:
        return "bad_membership"
    return None


def _membership_usable(data: bytes) -> bool:
    try:
        check_invariants(decode_membership(data))
    except (msgspec.DecodeError, msgspec.ValidationError, InvalidMembership):
        return False
    return True


def _conflicts_with_commit(st: NodeState, entries: tuple[Entry, ...]) -> bool:
    """An entry at or below the commit index with another term than ours: by Leader
    Completeness no leader holds one, so the sender is not a correct leader."""
    log = st.log
    commit = log.commit_index
    for entry in entries:
        if entry.index > commit:
            break
        term = log.term_at(entry.index)
        if term is not None and term != entry.term:
            return True
    return False
