"""Index ordering (Raft paper §5.3, §7): purged <= snapshot <= applied <= committed <= last log
index on every node, after every step. Purging ahead of the snapshot loses data; applying
ahead of commit applies what may be overwritten; committing beyond the log commits what the
node does not have.
"""

from __future__ import annotations

from raftkv.core import NodeId

from .base import Checker, StatusView


class IndexOrder(Checker):
    name = "index-order"

    def on_status(self, node: NodeId, incarnation: int, status: StatusView, purged: int) -> None:
        snapshot = status.snapshot_index
        applied = status.applied_index
        commit = status.commit_index
        last = status.last_index
        if not purged <= snapshot <= applied <= commit <= last:
            raise self.fail(
                f"node {node}: purged {purged}, snapshot {snapshot}, applied {applied}, "
                f"committed {commit}, last {last} are out of order"
            )
