"""What checkers observe, and how they complain.

Checkers only observe: the cluster calls the hooks below as things happen (a role seen in a
`Ready`, entries handed to storage, an entry applied, a node's status after a `Ready` cycle, a
crash, the state store made durable, a snapshot's state sent, saved or installed), and a
checker raises `SafetyViolation` when a rule breaks. Every hook is cheap: a checker keeps just
enough state to judge the next observation (incremental, not a rescan).
"""

from __future__ import annotations

from typing import Protocol

from raftkv.core import Entry, NodeId, Role, SnapshotMeta

from ..log import SimLog


class SafetyViolation(Exception):
    """A Raft safety property does not hold. `checker` names the rule that caught it."""

    def __init__(self, checker: str, message: str) -> None:
        super().__init__(f"{checker}: {message}")
        self.checker = checker
        self.message = message


class StatusView(Protocol):
    """The part of `RawNode.status()` the checkers read."""

    @property
    def term(self) -> int: ...
    @property
    def commit_index(self) -> int: ...
    @property
    def applied_index(self) -> int: ...
    @property
    def last_index(self) -> int: ...
    @property
    def snapshot_index(self) -> int: ...


class Checker:
    """Base class: every hook does nothing; a checker overrides the ones it needs."""

    name = "checker"

    def on_role(self, node: NodeId, term: int, role: Role, log: SimLog) -> None:
        """`node` is now `role` in `term`; `log` is what the core has handed out so far."""

    def on_log_write(
        self, node: NodeId, log: SimLog, entries: list[Entry], removed: list[Entry]
    ) -> None:
        """`entries` were appended to `node`'s log (now `log`), replacing `removed`."""

    def on_apply(self, node: NodeId, term: int, entry: Entry) -> None:
        """`node`, in `term`, applied the committed `entry` to its state machine."""

    def on_restore(self, node: NodeId, index: int) -> None:
        """`node`'s state machine was replaced by a snapshot taken at `index`."""

    def on_status(self, node: NodeId, incarnation: int, status: StatusView, purged: int) -> None:
        """`node` finished a `Ready` cycle; `purged` is the last index compacted away on disk."""

    def on_leader_commit(self, node: NodeId, term: int, commit: int, log: SimLog) -> None:
        """`node`, leader in `term`, reports `commit` as its commit index after a `Ready` cycle."""

    def on_crash(self, node: NodeId, durable_term: int) -> None:
        """`node` crashed (or was removed); `durable_term` survives on its disk."""

    def on_state_store(self, node: NodeId, durable_index: int, log: SimLog) -> None:
        """`node`'s state store is durable at `durable_index`; `log` is its durable log."""

    def on_snapshot(self, node: NodeId, meta: SnapshotMeta, data: bytes) -> None:
        """`data`, the state of the snapshot `meta` names, left `node` (sent), or `node` saved
        it (its own) or installed it."""

    def fail(self, message: str) -> SafetyViolation:
        return SafetyViolation(self.name, message)
