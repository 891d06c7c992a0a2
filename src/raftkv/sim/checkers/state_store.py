"""The state store and the log fit together (DESIGN.md, "State and snapshots"; Raft thesis §5.1:
a snapshot replaces only the committed prefix of the log, which stays the source of truth):
the log's base <= the store's durable applied index <= the log's last durable index.

Above the last durable index the store would hold state a crash can take from the log (it
applied what was not durable); below the base the entries that built the state are gone from
the log, so a crash would leave state nothing can rebuild. Checked when the store syncs, when
a node compacts its log, when an install swap finishes and when a node starts (after it has
restored a store that was behind the base).
"""

from __future__ import annotations

from raftkv.core import NodeId

from ..log import SimLog
from .base import Checker


class StateStoreBounds(Checker):
    name = "state-store"

    def on_state_store(self, node: NodeId, durable_index: int, log: SimLog) -> None:
        if not log.snapshot_index <= durable_index <= log.last_index:
            raise self.fail(
                f"node {node}: the state store is durable at {durable_index}, outside its "
                f"durable log (base {log.snapshot_index}, last {log.last_index})"
            )
