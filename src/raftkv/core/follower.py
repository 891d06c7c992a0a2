"""The follower's side of AppendEntries (thesis §3.5), safe under reordered and duplicated
requests (several HTTP connections deliver them):

- the consistency check on (prev_index, prev_term) comes first;
- entries already present are skipped; the log is truncated only at the first index whose
  term differs, and never at or below the commit index (that is a bug: InvariantViolation);
- `commit = max(commit, min(leader_commit, prev_index + len(entries)))`, only after the check;
- the acknowledgement leaves only after the entries are durable (`persisted_messages`).
"""

from __future__ import annotations

from . import roles
from .errors import InvariantViolation
from .membership import decode_membership
from .messages import AppendRequest, AppendResponse
from .state import NodeState
from .types import Entry, EntryKind, Role


def handle_append(st: NodeState, req: AppendRequest) -> None:
    if st.role is Role.LEADER:
        raise InvariantViolation(f"two leaders in term {st.term}: {st.id} and {req.frm}")
    if st.role is Role.CANDIDATE:
        roles.become_follower(st, st.term, req.frm)
    st.heard_from_leader(req.frm)
    log = st.log
    prev_index = req.prev_index
    entries: tuple[Entry, ...] | list[Entry] = req.entries
    commit = log.commit_index
    if prev_index < commit:
        # Entries through our commit index match any current leader's log (§5.4.3).
        skip = commit - prev_index
        check_committed(st, entries[:skip])
        if skip >= len(entries):
            ack(st, req, commit)
            return
        entries = entries[skip:]
        prev_index = commit
    else:
        local_term = log.term_at(prev_index)
        if local_term != req.prev_term:
            reject(st, req, local_term)
            return
    merge(st, entries)
    last_new = prev_index + len(entries)
    log.commit_to(min(req.leader_commit, last_new))
    ack(st, req, last_new)


def merge(st: NodeState, entries: tuple[Entry, ...] | list[Entry]) -> None:
    """Append after the check passed; configurations take effect at once, and a truncation
    rolls the configuration back."""
    if not entries:
        return
    before = st.log.last_index
    truncated = st.log.merge(entries)
    if truncated is not None:
        st.mem.truncate_from(truncated)
        before = truncated - 1
    for entry in entries:
        if entry.index > before and entry.kind is EntryKind.MEMBERSHIP:
            st.mem.append(entry.index, decode_membership(entry.data))


def check_committed(st: NodeState, entries: tuple[Entry, ...] | list[Entry]) -> None:
    """A leader sending a committed index with another term is a safety bug, not input."""
    for entry in entries:
        term = st.log.term_at(entry.index)
        if term is not None and term != entry.term:
            raise InvariantViolation(
                f"{entry.describe()} from the leader conflicts with committed term {term}"
            )


def ack(st: NodeState, req: AppendRequest, match_index: int) -> None:
    st.send_persisted(AppendResponse(st.term, st.id, req.frm, True, match_index, req.seq))


def reject(st: NodeState, req: AppendRequest, local_term: int | None) -> None:
    """Tell the leader where to retry: past our end, or the start of the conflicting term."""
    log = st.log
    if local_term is None:
        hint_index, hint_term = log.last_index + 1, 0
    else:
        hint_index = max(log.first_index_of_term(local_term), log.commit_index + 1)
        hint_term = local_term
    st.send_persisted(
        AppendResponse(
            st.term, st.id, req.frm, False, 0, req.seq, hint_index=hint_index, hint_term=hint_term
        )
    )
