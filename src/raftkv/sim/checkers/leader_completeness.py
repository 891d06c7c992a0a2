"""Leader Completeness (Raft paper §5.4): if a log entry is committed in a given term, then
that entry will be present in the logs of the leaders for all higher-numbered terms.

Checked at both ends: a node that becomes leader in term T must hold every entry known to be
committed in a term below T, and an entry newly known to be committed must be in the log of
every current leader of a higher term. Entries inside a leader's snapshot are covered by state
machine safety instead. The commit term is bounded from above by the lowest term of a node
seen applying the entry, so the check never blames a leader for a later commit.
"""

from __future__ import annotations

from raftkv.core import Entry, NodeId, Role

from ..log import SimLog
from .base import Checker
from .state_machine_safety import StateMachineSafety


class LeaderCompleteness(Checker):
    name = "leader-completeness"

    def __init__(self, applied: StateMachineSafety) -> None:
        self.applied = applied
        self.leaders: dict[NodeId, tuple[int, SimLog]] = {}

    def on_role(self, node: NodeId, term: int, role: Role, log: SimLog) -> None:
        if role != Role.LEADER:
            self.leaders.pop(node, None)
            return
        self.leaders[node] = (term, log)
        commit_term = self.applied.commit_term
        for index, entry in self.applied.committed.items():
            if index > log.snapshot_index and commit_term[index] < term:
                self._require(node, term, log, entry)

    def on_apply(self, node: NodeId, term: int, entry: Entry) -> None:
        commit_term = self.applied.commit_term.get(entry.index, term)
        for leader, (leader_term, log) in self.leaders.items():
            if leader_term > commit_term and entry.index > log.snapshot_index:
                self._require(leader, leader_term, log, entry)

    def on_crash(self, node: NodeId, durable_term: int) -> None:
        self.leaders.pop(node, None)

    def _require(self, node: NodeId, term: int, log: SimLog, entry: Entry) -> None:
        if log.term_at(entry.index) != entry.term:
            found = log.entry_at(entry.index)
            have = found.describe() if found is not None else "nothing"
            raise self.fail(
                f"leader {node} of term {term} has {have} at index {entry.index}, "
                f"but {entry.describe()} was committed in an earlier term"
            )
