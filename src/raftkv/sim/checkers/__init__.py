"""Safety checkers, one rule per module, and `CheckerSet`, which feeds them observations.

The set calls only the hooks a checker overrides, so an observation costs nothing for the
checkers that do not care about it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from raftkv.core import Entry, NodeId, Role, SnapshotMeta

from ..log import SimLog
from .base import Checker, SafetyViolation, StatusView
from .commit_rule import CommitRule
from .committed_entries import CommittedEntries
from .election_safety import ElectionSafety
from .index_order import IndexOrder
from .leader_completeness import LeaderCompleteness
from .log_matching import LogMatching
from .monotonic import Monotonic
from .snapshot_contents import SnapshotContents
from .state_machine_safety import StateMachineSafety
from .state_store import StateStoreBounds

__all__ = [
    "Checker",
    "CheckerSet",
    "CommitRule",
    "CommittedEntries",
    "ElectionSafety",
    "IndexOrder",
    "LeaderCompleteness",
    "LogMatching",
    "Monotonic",
    "SafetyViolation",
    "SnapshotContents",
    "StateMachineSafety",
    "StateStoreBounds",
    "StatusView",
]

_HOOKS = (
    "on_role",
    "on_log_write",
    "on_apply",
    "on_restore",
    "on_status",
    "on_leader_commit",
    "on_crash",
    "on_state_store",
    "on_snapshot",
)


class CheckerSet:
    """Every safety checker of the simulator, wired together."""

    def __init__(self) -> None:
        self.state_machine = StateMachineSafety()
        self.checkers: list[Checker] = [
            ElectionSafety(),
            LogMatching(),
            self.state_machine,
            CommittedEntries(self.state_machine),
            LeaderCompleteness(self.state_machine),
            SnapshotContents(self.state_machine),
            CommitRule(),
            Monotonic(),
            IndexOrder(),
            StateStoreBounds(),
        ]
        self._hooks: dict[str, list[Callable[..., Any]]] = {
            hook: [
                getattr(c, hook)
                for c in self.checkers
                if getattr(type(c), hook) is not getattr(Checker, hook)
            ]
            for hook in _HOOKS
        }

    def on_role(self, node: NodeId, term: int, role: Role, log: SimLog) -> None:
        for hook in self._hooks["on_role"]:
            hook(node, term, role, log)

    def on_log_write(
        self, node: NodeId, log: SimLog, entries: list[Entry], removed: list[Entry]
    ) -> None:
        for hook in self._hooks["on_log_write"]:
            hook(node, log, entries, removed)

    def on_apply(self, node: NodeId, term: int, entry: Entry) -> None:
        for hook in self._hooks["on_apply"]:
            hook(node, term, entry)

    def on_restore(self, node: NodeId, index: int) -> None:
        for hook in self._hooks["on_restore"]:
            hook(node, index)

    def on_status(self, node: NodeId, incarnation: int, status: StatusView, purged: int) -> None:
        for hook in self._hooks["on_status"]:
            hook(node, incarnation, status, purged)

    def on_leader_commit(self, node: NodeId, term: int, commit: int, log: SimLog) -> None:
        for hook in self._hooks["on_leader_commit"]:
            hook(node, term, commit, log)

    def on_crash(self, node: NodeId, durable_term: int) -> None:
        for hook in self._hooks["on_crash"]:
            hook(node, durable_term)

    def on_state_store(self, node: NodeId, durable_index: int, log: SimLog) -> None:
        for hook in self._hooks["on_state_store"]:
            hook(node, durable_index, log)

    def on_snapshot(self, node: NodeId, meta: SnapshotMeta, data: bytes) -> None:
        for hook in self._hooks["on_snapshot"]:
            hook(node, meta, data)
