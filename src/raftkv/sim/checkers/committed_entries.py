"""Committed entries are never lost or changed (Raft paper §5.4, §5.4.3 and Figure 3): once an
entry is committed, no log that holds it may replace it with another entry or truncate it.

Checked on every write to a log: no committed entry may be among those the write truncated,
unless the write puts the same entry back. NB: a lagging follower may still accept an old
leader's entry at an index committed elsewhere with another entry; that is legal until it
applies it (state machine safety), and the current leader will overwrite it.
"""

from __future__ import annotations

from raftkv.core import Entry, NodeId

from ..log import SimLog
from .base import Checker
from .state_machine_safety import StateMachineSafety


class CommittedEntries(Checker):
    name = "committed-entries"

    def __init__(self, applied: StateMachineSafety) -> None:
        self.applied = applied

    def on_log_write(
        self, node: NodeId, log: SimLog, entries: list[Entry], removed: list[Entry]
    ) -> None:
        committed = self.applied.committed
        if not committed or not removed:
            return
        for entry in removed:
            if committed.get(entry.index) != entry:
                continue
            now = log.entry_at(entry.index)
            if now is None:
                raise self.fail(f"node {node} truncated the committed entry {entry.describe()}")
            if now != entry:
                raise self.fail(
                    f"node {node} wrote {now.describe()} over the committed {entry.describe()}"
                )
