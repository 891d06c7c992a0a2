"""The model of the node's state store (`state.sqlite3`): the key-value state on disk, written
without fsync per apply batch, its applied index in the same transaction as the state.

So the store has two copies here: `sm`, what the running node reads and applies to (the
store's pages, in memory and in the OS cache), and `durable`, what it last synced (what a crash
leaves). Rules the model keeps:

- a crash loses what was not synced: the store comes back at the index it last synced, whole
  (never a mix of two indexes);
- `sync()` makes the current state durable (the model: after an apply batch, with the seed's
  probability, and at the start of each snapshot);
- installing a received snapshot swaps the whole store; while the swap runs the durable copy
  is torn (a crash then leaves no usable store: it comes back empty, at index 0) and the
  restart restores it from the snapshot the log holds as its base.
"""

from __future__ import annotations

from raftkv.kv import KvStateMachine


class SimStateStore:
    """One node's state store; survives crashes of the node's incarnations, like its disk.

    Invariant: `durable_index` is the applied index inside `durable` (0 when torn).
    """

    def __init__(self) -> None:
        self.sm = KvStateMachine()
        self.durable: bytes | None = self.sm.snapshot()
        """The last synced state; None while a swap is half-way (torn)."""
        self.durable_index = 0

    @property
    def applied_index(self) -> int:
        return self.sm.applied_index

    @property
    def unsynced(self) -> int:
        """How many applied entries a crash now would lose."""
        return max(0, self.sm.applied_index - self.durable_index)

    @property
    def swapping(self) -> bool:
        return self.durable is None

    def sync(self) -> bytes:
        """Make the current state durable; returns it (a consistent copy)."""
        self.durable = self.sm.snapshot()
        self.durable_index = self.sm.applied_index
        return self.durable

    def crash(self) -> None:
        """Lose everything not synced: the store reopens from its durable copy."""
        self.sm = KvStateMachine()
        if self.durable is None:
            self.durable = self.sm.snapshot()  # the torn store is replaced by an empty one
            self.durable_index = 0
        else:
            self.sm.restore(self.durable)

    def begin_swap(self) -> None:
        """An install starts replacing the store's file: until `install` it is torn."""
        self.durable = None
        self.durable_index = 0

    def install(self, data: bytes) -> None:
        """The store becomes the snapshot `data`, durably (the install file was synced): the
        end of a swap, or the restore at start of a store behind the log's base."""
        self.sm = KvStateMachine()
        self.sm.restore(data)
        self.durable = data
        self.durable_index = self.sm.applied_index
