"""The in-memory Raft log: a snapshot offset, the entries after it, and three boundaries.

The log tracks which of its entries the runtime has made durable, because Raft's safety rests on
"persist before you speak" (thesis §3.8): a follower acknowledges and a node applies only
durable entries, and a leader counts itself toward a commit only once its own entries are
durable. Entries are handed to storage in a `Ready` (`take_unstable`) and become durable when
that `Ready` is advanced (`on_persisted`).

Invariants:
- `snapshot_index <= applied_index <= commit_index <= last_index`;
- `durable_index < pending_from <= last_index + 1`;
- entry terms never decrease along the log.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from .errors import InvariantViolation
from .types import Entry, SnapshotMeta


def _term_of(entry: Entry) -> int:
    return entry.term


class RaftLog:
    """Entries `snapshot_index + 1 .. last_index` plus the commit, apply and durability marks."""

    __slots__ = (
        "applied_index",
        "commit_index",
        "durable_index",
        "entries",
        "inflight_to",
        "pending_from",
        "snapshot_index",
        "snapshot_term",
    )

    def __init__(self, snapshot_index: int = 0, snapshot_term: int = 0) -> None:
        self.snapshot_index = snapshot_index
        """Index of the last entry covered by the snapshot (0 without one)."""
        self.snapshot_term = snapshot_term
        self.entries: list[Entry] = []
        """Invariant: `entries[i].index == snapshot_index + 1 + i`."""
        self.commit_index = snapshot_index
        self.applied_index = snapshot_index
        """The last index handed out in `Ready.committed` (or covered by the snapshot)."""
        self.durable_index = snapshot_index
        """Invariant: entries up to here are durable in storage, as this log holds them."""
        self.pending_from = snapshot_index + 1
        """The first index not yet handed to storage."""
        self.inflight_to = 0
        """The last index handed to storage in the Ready in flight (clamped by truncation)."""

    # -- queries -------------------------------------------------------------------------

    @property
    def last_index(self) -> int:
        return self.snapshot_index + len(self.entries)

    @property
    def last_term(self) -> int:
        return self.entries[-1].term if self.entries else self.snapshot_term

    def term_at(self, index: int) -> int | None:
        """The term of the entry at `index`, or None if compacted away or beyond the end."""
        offset = index - self.snapshot_index
        if offset == 0:
            return self.snapshot_term
        if offset < 0 or offset > len(self.entries):
            return None
        return self.entries[offset - 1].term

    def entry(self, index: int) -> Entry:
        return self.entries[index - self.snapshot_index - 1]

    def slice(self, first: int, max_count: int, max_bytes: int) -> list[Entry]:
        """Entries from `first` on: at most `max_count`, and about `max_bytes` of data (at
        least one entry if any)."""
        start = first - self.snapshot_index - 1
        if start < 0:
            raise InvariantViolation(f"slice from {first} below the snapshot {self.snapshot_index}")
        batch = self.entries[start : start + max_count]
        size = 0
        for i, entry in enumerate(batch):
            size += len(entry.data)
            if size > max_bytes and i > 0:
                return batch[:i]
        return batch

    def is_up_to_date(self, last_term: int, last_index: int) -> bool:
        """Whether a candidate's log is at least as up-to-date as this one (§5.4.1)."""
        mine = self.last_term
        return last_term > mine or (last_term == mine and last_index >= self.last_index)

    def last_index_of_term(self, term: int) -> int | None:
        """The last index holding `term` (the leader's side of fast backtracking)."""
        pos = bisect_right(self.entries, term, key=_term_of)
        if pos > 0 and self.entries[pos - 1].term == term:
            return self.snapshot_index + pos
        if pos == 0 and self.snapshot_term == term:
            return self.snapshot_index
        return None

    def first_index_of_term(self, term: int) -> int:
        """The first index after the snapshot holding `term` or a later term."""
        return self.snapshot_index + 1 + bisect_left(self.entries, term, key=_term_of)

    # -- changes -------------------------------------------------------------------------

    def append(self, entry: Entry) -> None:
        if entry.index != self.last_index + 1:
            raise InvariantViolation(f"append {entry.describe()} after {self.last_index}")
        self.entries.append(entry)

    def merge(self, entries: Sequence[Entry]) -> int | None:
        """Follower side of AppendEntries after the consistency check passed: skip entries
        already present, truncate at the first index whose term differs, append the rest.

        Returns the index truncated from, if any (configurations from there on are gone).
        """
        if not entries:
            return None
        last = self.last_index
        first = entries[0].index
        if first == last + 1:
            self.entries.extend(entries)
            return None
        end = entries[-1].index
        if end <= last and self.term_at(end) == entries[-1].term:
            return None  # a duplicate: by log matching, everything before it matches too
        for pos, entry in enumerate(entries):
            term = self.term_at(entry.index)
            if term is None:
                self.entries.extend(entries[pos:])
                return None
            if term != entry.term:
                self.truncate_from(entry.index)
                self.entries.extend(entries[pos:])
                return entry.index
        return None

    def truncate_from(self, index: int) -> None:
        """Drop the entries at `index` and after. NB: never a committed one."""
        if index <= self.commit_index:
            raise InvariantViolation(
                f"truncating from {index} would drop committed entries (commit {self.commit_index})"
            )
        del self.entries[index - self.snapshot_index - 1 :]
        self.pending_from = min(self.pending_from, index)
        self.durable_index = min(self.durable_index, index - 1)
        self.inflight_to = min(self.inflight_to, index - 1)

    def commit_to(self, index: int) -> bool:
        """Raise the commit index (never lowers it); True if it moved."""
        if index <= self.commit_index:
            return False
        if index > self.last_index:
            raise InvariantViolation(f"commit {index} beyond the last index {self.last_index}")
        self.commit_index = index
        return True

    # -- storage hand-off ------------------------------------------------------------------

    def has_unstable(self) -> bool:
        return self.pending_from <= self.last_index

    def take_unstable(self) -> list[Entry]:
        """The entries storage must persist next; marks them as handed out."""
        start = self.pending_from - self.snapshot_index - 1
        batch = self.entries[start:]
        if batch:
            self.inflight_to = batch[-1].index
            self.pending_from = batch[-1].index + 1
        return batch

    def on_persisted(self) -> None:
        """The Ready handed out by the last `take_unstable` is durable."""
        self.durable_index = max(self.durable_index, self.inflight_to)
        self.inflight_to = 0

    def has_committed(self) -> bool:
        return self.applied_index < min(self.commit_index, self.durable_index)

    def take_committed(self, max_count: int) -> list[Entry]:
        """Committed entries that are durable locally and not yet handed out."""
        upto = min(self.commit_index, self.durable_index, self.applied_index + max_count)
        if upto <= self.applied_index:
            return []
        base = self.snapshot_index + 1
        batch = self.entries[self.applied_index + 1 - base : upto + 1 - base]
        self.applied_index = upto
        return batch

    # -- snapshots -----------------------------------------------------------------------

    def compact(self, last_index: int, last_term: int) -> None:
        """Drop the entries through `last_index`, now covered by a durable snapshot."""
        if last_index <= self.snapshot_index:
            return
        if last_index > self.applied_index or self.term_at(last_index) != last_term:
            raise ValueError(
                f"cannot compact through {last_term}/{last_index}: applied {self.applied_index}, "
                f"term there {self.term_at(last_index)}"
            )
        del self.entries[: last_index - self.snapshot_index]
        self.snapshot_index = last_index
        self.snapshot_term = last_term

    def install_snapshot(self, meta: SnapshotMeta) -> None:
        """Reset to a received snapshot, keeping the suffix after an entry matching its
        (index, term) (thesis §5.3: "retain the log entries following it").

        The kept suffix is handed to storage again, so whatever storage kept of its own log
        the result is the same.
        """
        keep: list[Entry] = []
        if self.term_at(meta.last_index) == meta.last_term:
            keep = self.entries[meta.last_index - self.snapshot_index :]
        self.entries = keep
        self.snapshot_index = meta.last_index
        self.snapshot_term = meta.last_term
        self.commit_index = max(self.commit_index, meta.last_index)
        self.applied_index = meta.last_index
        self.pending_from = meta.last_index + 1
        self.durable_index = min(self.durable_index, meta.last_index)
        self.inflight_to = min(self.inflight_to, meta.last_index)

    def on_snapshot_persisted(self, last_index: int) -> None:
        self.durable_index = max(self.durable_index, min(last_index, self.last_index))
