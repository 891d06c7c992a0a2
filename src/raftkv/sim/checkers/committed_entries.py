"""Committed entries are never lost or changed (Raft paper §5.4, §5.4.3 and Figure 3): once an
entry is committed, no log may replace it with another entry or truncate it away.

Checked on every write to a log: each entry written at a committed index must be the committed
entry, and no committed entry may be among those truncated.
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
        if not committed:
            return
        for entry in entries:
            first = committed.get(entry.index)
            if first is not None and first != entry:
                raise self.fail(
                    f"node {node} wrote {entry.describe()} over the committed {first.describe()}"
                )
        last = log.last_index
        for entry in removed:
            if entry.index > last and committed.get(entry.index) == entry:
                raise self.fail(f"node {node} truncated the committed entry {entry.describe()}")
