"""State Machine Safety for snapshots (Raft paper §5.4.3 and §7; thesis §5.1): a snapshot at
index A holds exactly the state that applying the committed entries 1..A builds, and its meta
names the term of entry A and the configuration in effect at A (the last one at or before A).

A node may send a snapshot at a later index than the one its core named (a copy of its state
store, as production does), so every snapshot is judged at its own index, whatever the core
asked for. The reference state is built once, by applying the committed entries in index order
(the first application of each index, `StateMachineSafety.committed`), keeping its digest after
each index, so a snapshot at any index costs one restore and one comparison. Checked when a
snapshot leaves a node, when a node saves one of its own and when one is installed.
"""

from __future__ import annotations

from raftkv.core import EntryKind, NodeId, SnapshotMeta
from raftkv.core.membership import decode_membership
from raftkv.kv import KvStateMachine

from .base import Checker
from .state_machine_safety import StateMachineSafety


class SnapshotContents(Checker):
    name = "snapshot-contents"

    def __init__(self, applied: StateMachineSafety) -> None:
        self.applied = applied
        self.reference = KvStateMachine()
        self.digests: list[int] = [self.reference.digest.value]
        """The digest of the reference state after each index (0: the empty state)."""
        self.config_index: list[int] = [0]
        """Per index: the index of the last configuration entry at or before it."""

    def on_snapshot(self, node: NodeId, meta: SnapshotMeta, data: bytes) -> None:
        index = meta.last_index
        named = f"node {node}: snapshot {meta.last_term}/{index}"
        self._build_through(index, named)
        state = KvStateMachine()
        state.restore(data)
        if state.applied_index != index:
            raise self.fail(f"{named} holds the state at {state.applied_index}")
        if state.digest.value != self.digests[index]:
            raise self.fail(f"{named} holds other data than the committed entries 1..{index} build")
        if index > 0:
            self._check_meta(named, meta)

    def _build_through(self, index: int, named: str) -> None:
        committed = self.applied.committed
        reference = self.reference
        while len(self.digests) <= index:
            next_index = len(self.digests)
            entry = committed.get(next_index)
            if entry is None:
                raise self.fail(f"{named}, but no node has applied index {next_index}")
            if entry.kind is EntryKind.COMMAND:
                reference.apply(next_index, entry.data)
            else:
                reference.mark_applied(next_index)
            self.digests.append(reference.digest.value)
            is_config = entry.kind is EntryKind.MEMBERSHIP
            self.config_index.append(next_index if is_config else self.config_index[-1])

    def _check_meta(self, named: str, meta: SnapshotMeta) -> None:
        committed = self.applied.committed
        term = committed[meta.last_index].term
        if meta.last_term != term:
            raise self.fail(f"{named} names term {meta.last_term}, the committed entry's is {term}")
        config = self.config_index[meta.last_index]
        if meta.membership_index != config:
            raise self.fail(
                f"{named} names the configuration at {meta.membership_index}, "
                f"the one in effect is at {config}"
            )
        if config and decode_membership(committed[config].data) != meta.membership:
            raise self.fail(f"{named} names another configuration than the entry at {config}")
