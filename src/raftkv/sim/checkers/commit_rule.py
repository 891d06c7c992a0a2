"""Committing by counting replicas (Raft paper §5.4.2): a leader never commits an entry of an
earlier term by counting replicas; it commits an entry of its own term, and the earlier ones
with it (Figure 8 shows an old-term entry on a majority being overwritten).

So each time a leader's commit index moves during its leadership, the entry at the new commit
index must be of the leader's term.
"""

from __future__ import annotations

from raftkv.core import NodeId

from ..log import SimLog
from .base import Checker


class CommitRule(Checker):
    name = "commit-rule"

    def __init__(self) -> None:
        self.last: dict[NodeId, tuple[int, int]] = {}
        """Per leader: (term, commit index) when last seen leading."""

    def on_leader_commit(self, node: NodeId, term: int, commit: int, log: SimLog) -> None:
        previous = self.last.get(node)
        self.last[node] = (term, commit)
        if previous is None or previous[0] != term or commit <= previous[1]:
            return
        entry_term = log.term_at(commit)
        if entry_term is not None and entry_term != term:
            raise self.fail(
                f"leader {node} of term {term} moved its commit index to {commit}, "
                f"an entry of term {entry_term}"
            )

    def on_crash(self, node: NodeId, durable_term: int) -> None:
        self.last.pop(node, None)
