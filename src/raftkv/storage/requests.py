"""The writes the store's writer thread carries out, in submission order."""

from __future__ import annotations

from dataclasses import dataclass

from raftkv.core.ready import InstallSnapshot
from raftkv.core.types import Entry, HardState, SnapshotMeta


@dataclass(frozen=True, slots=True)
class PersistRequest:
    """One `Ready`'s durable part: snapshot, then truncate + append, then hard state."""

    hard_state: HardState | None
    entries: tuple[Entry, ...]
    snapshot: InstallSnapshot | None


@dataclass(frozen=True, slots=True)
class SaveSnapshotRequest:
    """A snapshot the node took of its own state machine; compacts the log up to it."""

    meta: SnapshotMeta
    data: bytes


WriteRequest = PersistRequest | SaveSnapshotRequest
