"""Log Matching (Raft paper §5.3): if two logs contain an entry with the same index and term,
then the logs are identical in all entries up through that index.

Checked by induction, incrementally: whenever an entry lands in any log, the (index, term)
pair must carry the same payload and follow an entry of the same term as everywhere else it
was seen, and terms never decrease along a log. Equal pairs with equal predecessors all the way down means equal prefixes.
"""

from __future__ import annotations

from raftkv.core import Entry, EntryKind, NodeId

from ..log import SimLog
from .base import Checker


class LogMatching(Checker):
    name = "log-matching"

    def __init__(self) -> None:
        self.seen: dict[tuple[int, int], tuple[EntryKind, bytes, int | None, NodeId]] = {}

    def on_log_write(
        self, node: NodeId, log: SimLog, entries: list[Entry], removed: list[Entry]
    ) -> None:
        seen = self.seen
        prev_term = log.term_at(entries[0].index - 1) if entries else None
        for entry in entries:
            key = (entry.index, entry.term)
            record = seen.get(key)
            if record is None:
                seen[key] = (entry.kind, entry.data, prev_term, node)
            elif record[0] != entry.kind or record[1] != entry.data:
                raise self.fail(
                    f"entry {entry.describe()} at node {node} differs from the same "
                    f"index and term at node {record[3]}"
                )
            elif record[2] != prev_term and prev_term is not None and record[2] is not None:
                raise self.fail(
                    f"entry {entry.describe()} at node {node} follows term {prev_term}, "
                    f"at node {record[3]} it follows term {record[2]}"
                )
            if prev_term is not None and entry.term < prev_term:
                raise self.fail(
                    f"entry {entry.describe()} at node {node} follows an entry of the "
                    f"later term {prev_term}: terms decrease along the log"
                )
            prev_term = entry.term
