"""An in-memory Raft log with a snapshot base, as storage keeps it (the simulator's model).

Used twice per simulated node: once for what is durable and once for what the core has handed
out (durable plus the write in flight), so checkers can look at the log the core believes in.
"""

from __future__ import annotations

from raftkv.core import Entry, SnapshotMeta


class SimLog:
    """Entries after a snapshot base.

    Invariant: `entries[k].index == snapshot_index + 1 + k` (contiguous after the base).
    """

    __slots__ = ("entries", "snapshot_index", "snapshot_term")

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.snapshot_index = 0
        self.snapshot_term = 0

    def copy(self) -> SimLog:
        other = SimLog()
        other.entries = list(self.entries)
        other.snapshot_index = self.snapshot_index
        other.snapshot_term = self.snapshot_term
        return other

    @property
    def last_index(self) -> int:
        return self.snapshot_index + len(self.entries)

    def term_at(self, index: int) -> int | None:
        """The term of the entry at `index`, the snapshot's term at its base, else None."""
        if index == self.snapshot_index:
            return self.snapshot_term
        pos = index - self.snapshot_index - 1
        if 0 <= pos < len(self.entries):
            return self.entries[pos].term
        return None

    def entry_at(self, index: int) -> Entry | None:
        pos = index - self.snapshot_index - 1
        if 0 <= pos < len(self.entries):
            return self.entries[pos]
        return None

    def append(self, entries: list[Entry]) -> list[Entry]:
        """Truncate from `entries[0].index`, then append (the `Ready` contract); return what
        was truncated away."""
        if not entries:
            return []
        first = entries[0].index
        if first <= self.snapshot_index or first > self.last_index + 1:
            raise ValueError(
                f"append at {first} does not fit a log with base {self.snapshot_index} "
                f"and last index {self.last_index}"
            )
        pos = first - self.snapshot_index - 1
        removed = self.entries[pos:]
        del self.entries[pos:]
        self.entries.extend(entries)
        return removed

    def install_snapshot(self, meta: SnapshotMeta) -> None:
        """Keep the suffix after an entry matching the snapshot's (index, term), else drop all."""
        if (
            self.term_at(meta.last_index) == meta.last_term
            and meta.last_index > self.snapshot_index
        ):
            del self.entries[: meta.last_index - self.snapshot_index]
        elif meta.last_index != self.snapshot_index or self.snapshot_term != meta.last_term:
            self.entries = []
        self.snapshot_index = meta.last_index
        self.snapshot_term = meta.last_term

    def compact(self, meta: SnapshotMeta) -> None:
        """Drop entries up to the snapshot's last index (they are in the snapshot)."""
        if meta.last_index <= self.snapshot_index:
            return
        if self.term_at(meta.last_index) != meta.last_term:
            raise ValueError(f"compaction at {meta.last_index} does not match the log")
        del self.entries[: meta.last_index - self.snapshot_index]
        self.snapshot_index = meta.last_index
        self.snapshot_term = meta.last_term
