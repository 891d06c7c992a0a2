"""`DurableStore`: the node's Raft log, hard state and snapshots, durable when a call returns.

Layout of a data directory: `raft.sqlite3` (+ its WAL) holds the log entries, the hard state
and the current snapshot's metadata and file name; `snapshots/snap-<term>-<index>[.<n>].bin`
holds snapshot files (`.<n>` when the same (term, index) is written again, see `log_store.py`);
`lock` is held (flock) while a store is open, so a directory has one writer at a time;
`identity.json` (see `identity.py`) says whose directory it is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from raftkv.core.ready import InstallSnapshot
from raftkv.core.types import BootState, Entry, HardState, SnapshotMeta

from .log_store import LogStore
from .requests import PersistRequest, SaveSnapshotRequest
from .writer import WriterThread


class DurableStore:
    """Durable Raft state behind one writer thread (see `writer.py` for the ordering rules).

    `recover` blocks (call it at start-up, before serving); `persist`, `save_snapshot` and
    `close` are awaited on the event loop and never block it.
    """

    def __init__(self, writer: WriterThread) -> None:
        self._writer = writer

    @classmethod
    def open(cls, data_dir: Path) -> DurableStore:
        """Open (creating if needed) the store in `data_dir`; StorageError if unusable."""
        return cls(WriterThread(data_dir))

    @property
    def stats(self) -> dict[str, int]:
        """Counters since open: persists, transactions (group commits), fsyncs, bytes,
        snapshots (files written)."""
        return self._writer.store.stats

    def recover(self) -> tuple[BootState, bytes | None]:
        """The durable hard state, the latest snapshot's meta and the entries after it, and
        that snapshot's state-machine bytes (None without a snapshot)."""
        result: tuple[BootState, bytes | None] = self._writer.call(LogStore.recover)
        return result

    async def persist(
        self,
        hard_state: HardState | None,
        entries: Sequence[Entry],
        snapshot: InstallSnapshot | None = None,
    ) -> None:
        """Make one Ready's state durable, in order: `snapshot` (its file, then the log reset
        and its meta), then truncate from `entries[0].index` and append, then `hard_state`.

        Returns after the fsync. Raises ValueError (nothing written) for entries that would
        leave a gap or rewrite compacted entries, StorageError if the disk failed. Cancelling
        the caller does not cancel the write: once submitted, it happens.
        """
        request = PersistRequest(hard_state, tuple(entries), snapshot)
        await self._writer.submit_write(request)

    async def save_snapshot(self, meta: SnapshotMeta, data: bytes) -> None:
        """Store a snapshot the node took and compact the log through `meta.last_index`.

        A snapshot not newer than the stored one is ignored (an installed one covers it).
        """
        await self._writer.submit_write(SaveSnapshotRequest(meta, data))

    def latest_snapshot(self) -> tuple[SnapshotMeta, bytes] | None:
        """The committed snapshot, from memory (for sending to followers)."""
        return self._writer.store.latest

    async def close(self) -> None:
        """Wait for queued writes, close the database and stop the writer thread."""
        await asyncio.wrap_future(self._writer.stop())
        self._writer.join()
