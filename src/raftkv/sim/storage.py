"""The storage model: what is durable, and the one write in flight (the model of fsync).

A node hands its `Ready` to storage; the write completes after a delay drawn by the node's
driver. Until then nothing of it is durable: a crash loses it. Snapshots taken by the node
itself (`save_snapshot`) are durable at once, like a file written, fsynced and renamed before
`compact` is called. Restart reads `boot_state()` and `snapshot_data`, and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from raftkv.core import BootState, HardState, Ready, SnapshotMeta

from .log import SimLog


@dataclass(slots=True)
class PendingWrite:
    """A `Ready` whose persistence completes at virtual time `done_at` (ms)."""

    ready: Ready
    done_at: int


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
        self.pending: PendingWrite | None = None
        self.writes = 0
        self.keeps_hard_state = ack_hard_state

    @property
    def purged_index(self) -> int:
        """Entries up to here are gone from the log (they live in the snapshot)."""
        return self.log.snapshot_index

    def boot_state(self) -> BootState:
        return BootState(
            hard_state=self.hard_state, snapshot=self.snapshot, entries=list(self.log.entries)
        )

    def submit(self, ready: Ready, done_at: int) -> None:
        if self.pending is not None:
            raise RuntimeError("one Ready in flight at a time: the previous write is pending")
        self.pending = PendingWrite(ready, done_at)

    def complete(self) -> Ready:
        """Make the pending write durable, in the order of the `Ready` contract."""
        if self.pending is None:
            raise RuntimeError("no write in flight")
        ready = self.pending.ready
        self.pending = None
        self.persist(ready)
        return ready

    def persist(self, ready: Ready) -> None:
        if ready.snapshot is not None:
            meta = ready.snapshot.meta
            self.log.install_snapshot(meta)
            self.snapshot = meta
            self.snapshot_data = ready.snapshot.data
        self.log.append(ready.entries)
        if ready.hard_state is not None and self.keeps_hard_state:
            self.hard_state = ready.hard_state
        self.writes += 1

    def crash(self) -> None:
        """Lose the write in flight: it was never acknowledged by the disk."""
        self.pending = None

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
