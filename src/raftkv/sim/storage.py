"""The storage model: what is durable, and the one write in flight (the model of fsync).

A node hands the `Persist` command of its `Ready`'s plan to storage; the write completes after
a delay drawn by the cluster (the node keeps the time). Until then nothing of it is durable: a
crash loses it. Snapshots taken by the node
itself (`save_snapshot`) are durable at once, like a file written, fsynced and renamed before
`compact` is called. The key-value state lives beside the log in `state` (`SimStateStore`,
which has its own rules of durability). Restart reads `boot_state()`, `snapshot_data` and
`state`, and nothing else.
"""

from __future__ import annotations

from raftkv.core import BootState, HardState, Persist, SnapshotMeta

from .log import SimLog
from .state_store import SimStateStore


class SimStorage:
    """The durable state of one node id, which survives crashes of its incarnations.

    `ack_hard_state` false models a broken disk that acknowledges a vote or term without
    keeping it (used by tests to show the checkers catch it).
    """

    def __init__(self, ack_hard_state: bool = True) -> None:
        self.hard_state = HardState()
        self.snapshot: SnapshotMeta | None = None
        self.snapshot_data = b""
        self.log = SimLog()
        self.pending: Persist | None = None
        """The write in flight: not durable until `complete()`."""
        self.writes = 0
        self.keeps_hard_state = ack_hard_state
        self.state = SimStateStore()

    @property
    def purged_index(self) -> int:
        """Entries up to here are gone from the log (they live in the snapshot)."""
        return self.log.snapshot_index

    def boot_state(self) -> BootState:
        return BootState(
            hard_state=self.hard_state, snapshot=self.snapshot, entries=list(self.log.entries)
        )

    def submit(self, write: Persist) -> None:
        if self.pending is not None:
            raise RuntimeError("one Ready in flight at a time: the previous write is pending")
        self.pending = write

    def complete(self) -> Persist:
        """Make the pending write durable."""
        if self.pending is None:
            raise RuntimeError("no write in flight")
        write = self.pending
        self.pending = None
        self.persist(write)
        return write

    def persist(self, write: Persist) -> None:
        """Make `write` durable, in its order: snapshot as the log's base, entries, hard state."""
        if write.snapshot is not None:
            meta = write.snapshot.meta
            self.log.install_snapshot(meta)
            self.snapshot = meta
            self.snapshot_data = write.snapshot.data
        self.log.append(list(write.entries))
        if write.hard_state is not None and self.keeps_hard_state:
            self.hard_state = write.hard_state
        self.writes += 1

    def crash(self) -> None:
        """Lose the write in flight (never acknowledged by the disk) and what the state store
        did not sync."""
        self.pending = None
        self.state.crash()

    def save_snapshot(self, meta: SnapshotMeta, data: bytes) -> None:
        """Store a snapshot the node took of its own state machine, then compact the log."""
        if self.snapshot is not None and meta.last_index <= self.snapshot.last_index:
            return
        self.log.compact(meta)
        self.snapshot = meta
        self.snapshot_data = data

    def snapshot_bytes_for(self, meta: SnapshotMeta) -> bytes:
        """The bytes of the durable snapshot `meta` names (a SnapshotRequest carries them)."""
        if self.snapshot is None or (self.snapshot.last_index, self.snapshot.last_term) != (
            meta.last_index,
            meta.last_term,
        ):
            raise RuntimeError(
                f"the core asked to send snapshot {meta.last_term}/{meta.last_index}, "
                f"but the durable one is {self._describe_snapshot()}"
            )
        return self.snapshot_data

    def _describe_snapshot(self) -> str:
        if self.snapshot is None:
            return "none"
        return f"{self.snapshot.last_term}/{self.snapshot.last_index}"
