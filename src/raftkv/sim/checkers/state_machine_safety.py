"""State Machine Safety (Raft paper §5.4.3): if a server has applied a log entry at a given
index to its state machine, no other server will ever apply a different entry at that index.

The first entry applied at an index becomes the committed entry of that index (other checkers
read `committed`); every later application anywhere must be the same entry. Each node also
applies in index order without gaps (a snapshot restore moves its position).
"""

from __future__ import annotations

from raftkv.core import Entry, NodeId

from .base import Checker


class StateMachineSafety(Checker):
    name = "state-machine-safety"

    def __init__(self) -> None:
        self.committed: dict[int, Entry] = {}
        self.commit_term: dict[int, int] = {}
        """An upper bound of the term in which each index was committed (the lowest term of a
        node seen applying it)."""
        self.position: dict[NodeId, int] = {}

    @property
    def max_committed(self) -> int:
        return max(self.committed, default=0)

    def on_apply(self, node: NodeId, term: int, entry: Entry) -> None:
        index = entry.index
        expected = self.position.get(node, 0) + 1
        if index != expected:
            raise self.fail(f"node {node} applied index {index}, expected {expected} next")
        self.position[node] = index
        first = self.committed.get(index)
        if first is None:
            self.committed[index] = entry
            self.commit_term[index] = term
        elif first != entry:
            raise self.fail(
                f"node {node} applied {entry.describe()} at index {index}, "
                f"another node applied {first.describe()}"
            )
        elif term < self.commit_term[index]:
            self.commit_term[index] = term

    def on_restore(self, node: NodeId, index: int) -> None:
        self.position[node] = index

    def on_crash(self, node: NodeId, durable_term: int) -> None:
        self.position.pop(node, None)
