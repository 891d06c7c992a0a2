"""Election Safety (Raft paper §5.2): at most one leader can be elected in a given term.

Every time a node is seen as leader in a term, the term's first leader must be that node.
"""

from __future__ import annotations

from raftkv.core import NodeId, Role

from ..log import SimLog
from .base import Checker


class ElectionSafety(Checker):
    name = "election-safety"

    def __init__(self) -> None:
        self.leaders: dict[int, NodeId] = {}

    def on_role(self, node: NodeId, term: int, role: Role, log: SimLog) -> None:
        if role != Role.LEADER:
            return
        first = self.leaders.setdefault(term, node)
        if first != node:
            raise self.fail(f"two leaders in term {term}: node {first} and node {node}")
