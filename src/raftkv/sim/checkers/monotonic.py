"""Monotonic state (Raft paper §5.1, Figure 2): a node's current term never goes backwards,
not even across a restart (it is persisted before anything depends on it), and its commit and
applied indexes never go backwards while it runs (they are volatile and restart from the
snapshot).
"""

from __future__ import annotations

from raftkv.core import NodeId

from .base import Checker, StatusView


class Monotonic(Checker):
    name = "monotonic"

    def __init__(self) -> None:
        self.last: dict[NodeId, tuple[int, int, int, int]] = {}
        self.term_floor: dict[NodeId, int] = {}

    def on_status(self, node: NodeId, incarnation: int, status: StatusView, purged: int) -> None:
        term, commit, applied = status.term, status.commit_index, status.applied_index
        previous = self.last.get(node)
        if previous is not None and previous[0] == incarnation:
            _, last_term, last_commit, last_applied = previous
            for name, before, now in (
                ("term", last_term, term),
                ("commit index", last_commit, commit),
                ("applied index", last_applied, applied),
            ):
                if now < before:
                    raise self.fail(f"node {node}: {name} went back from {before} to {now}")
        elif term < self.term_floor.get(node, 0):
            raise self.fail(
                f"node {node} restarted in term {term}, below its durable term "
                f"{self.term_floor[node]}"
            )
        self.last[node] = (incarnation, term, commit, applied)

    def on_crash(self, node: NodeId, durable_term: int) -> None:
        self.term_floor[node] = durable_term
