"""The durable state of one node as the writer thread sees it: the sqlite log and meta, the
snapshot files, and the log's shape (last index, current snapshot) kept in memory to check and
plan each write without reading it back.

Only the writer thread calls a `LogStore`. One group of requests is one sqlite transaction;
each request is checked before any of its writes, so a bad request fails alone while the rest
of its group commits.
"""

from __future__ import annotations

import logging
from pathlib import Path

from raftkv.core.ready import InstallSnapshot
from raftkv.core.types import BootState, Entry, SnapshotMeta

from .directory_lock import DirectoryLock
from .durable_files import fsync_dir, make_dirs_durably
from .errors import StorageError
from .log_db import LogDatabase
from .log_shape import InvalidWrite, check_entries, check_installable
from .requests import PersistRequest, SaveSnapshotRequest, WriteRequest
from .snapshot_files import SnapshotDirectory, snapshot_file_name

DB_FILE = "raft.sqlite3"
LOCK_FILE = "lock"
SNAPSHOT_DIR = "snapshots"
FSYNCS_PER_SNAPSHOT_FILE = 2  # the file, then its directory
log = logging.getLogger(__name__)


class LogStore:
    """The sqlite log and meta plus the snapshot files of one data directory (writer only)."""

    def __init__(self, data_dir: Path) -> None:
        make_dirs_durably(data_dir / SNAPSHOT_DIR)
        self._lock = DirectoryLock(data_dir / LOCK_FILE)
        try:
            self.db = LogDatabase(data_dir / DB_FILE)
        except BaseException:
            self._lock.release()
            raise
        try:
            fsync_dir(data_dir)  # the entries of the sqlite file and its WAL
            self.snapshots = SnapshotDirectory(data_dir / SNAPSHOT_DIR)
            self.snapshot_meta = self.db.read_snapshot_meta()
            self.latest: tuple[SnapshotMeta, bytes] | None = None
            """The committed snapshot, published only after its transaction commits."""
            self.snapshot_file: str | None = None
            """The committed snapshot's file name (sqlite records it)."""
            if self.snapshot_meta is not None:
                self.snapshot_file = self.db.read_snapshot_file() or snapshot_file_name(
                    self.snapshot_meta
                )
                data = self.snapshots.read(self.snapshot_meta, self.snapshot_file)
                self.latest = (self.snapshot_meta, data)
            self._staged: tuple[SnapshotMeta, bytes] | None = self.latest
            self._staged_file = self.snapshot_file
            self._files_in_use: set[str] = set()
            """Files a crash or a rollback may still need: the committed one and those
            written by the transaction in progress. A new file never takes one of their names."""
            self.snapshots.remove_all_but(self.snapshot_file)
            self.last_index = self.db.last_index() or self.snapshot_index
        except BaseException:
            self.close()
            raise
        self.stats = {"persists": 0, "transactions": 0, "fsyncs": 0, "bytes": 0, "snapshots": 0}
        self.failure: StorageError | None = None
        """Invariant: once set, nothing more is written (the disk may not match memory)."""

    @property
    def snapshot_index(self) -> int:
        return 0 if self.snapshot_meta is None else self.snapshot_meta.last_index

    def recover(self) -> tuple[BootState, bytes | None]:
        boot = BootState(
            hard_state=self.db.read_hard_state(),
            snapshot=self.snapshot_meta,
            entries=self.db.read_entries(),
        )
        return boot, None if self.latest is None else self.latest[1]

    def close(self) -> None:
        try:
            self.db.close()
        finally:
            self._lock.release()

    def commit_group(self, requests: list[WriteRequest]) -> list[BaseException | None]:
        """Carry out `requests` in order in one transaction; one outcome per request
        (None: durable; InvalidWrite: refused, nothing written; StorageError: the store failed).
        """
        if self.failure is not None:
            return [self.failure] * len(requests)
        snapshot_before = self.snapshot_meta
        self._files_in_use = {self.snapshot_file} if self.snapshot_file is not None else set()
        try:
            self.db.begin()
            outcomes: list[BaseException | None] = [self._apply_checked(r) for r in requests]
            self.db.commit()
        except Exception as exc:  # sqlite, the filesystem, or a bug: the disk state is unknown
            self.db.rollback_quietly()
            reason = str(exc) if isinstance(exc, StorageError) else f"{self.db.path}: {exc!r}"
            self.failure = StorageError(f"{reason} (the store accepts no more writes)")
            self.failure.__cause__ = exc
            return [self.failure] * len(requests)
        self.stats["transactions"] += 1
        self.stats["fsyncs"] += 1  # the WAL fsync inside COMMIT
        if self.snapshot_meta is not snapshot_before:
            self._snapshot_committed()
        return outcomes

    def _apply_checked(self, request: WriteRequest) -> InvalidWrite | None:
        try:
            if isinstance(request, PersistRequest):
                self.stats["persists"] += 1
                self._persist(request)
            else:
                self._save_snapshot(request)
        except InvalidWrite as refused:
            return refused
        return None

    def _persist(self, request: PersistRequest) -> None:
        snapshot, entries = request.snapshot, request.entries
        snapshot_index, last_index, keep_suffix = self.snapshot_index, self.last_index, False
        if snapshot is not None:
            meta = snapshot.meta
            check_installable(meta, self.snapshot_meta)
            keep_suffix = self._term_at(meta.last_index) == meta.last_term
            snapshot_index = meta.last_index
            last_index = max(last_index, meta.last_index) if keep_suffix else meta.last_index
        check_entries(entries, snapshot_index, last_index)
        if snapshot is not None:
            self._install(snapshot, keep_suffix)
        if entries:
            self._append(entries)
        if request.hard_state is not None:
            self.db.put_hard_state(request.hard_state)

    def _install(self, snapshot: InstallSnapshot, keep_suffix: bool) -> None:
        """Snapshot file durable first; then, in this transaction, the log reset and the meta."""
        meta = snapshot.meta
        self._write_snapshot_file(meta, snapshot.data)
        if keep_suffix:
            self.db.delete_through(meta.last_index)
            self.last_index = max(self.last_index, meta.last_index)
        else:
            self.db.delete_all()
            self.last_index = meta.last_index
        self.db.put_snapshot_meta(meta)
        self.snapshot_meta = meta
        self._staged = (meta, snapshot.data)

    def _append(self, entries: tuple[Entry, ...]) -> None:
        if entries[0].index <= self.last_index:
            self.db.delete_from(entries[0].index)
        self.db.append(entries)
        self.last_index = entries[-1].index
        self.stats["bytes"] += sum(len(entry.data) for entry in entries)

    def _save_snapshot(self, request: SaveSnapshotRequest) -> None:
        meta = request.meta
        if meta.last_index <= self.snapshot_index:
            return  # an installed snapshot already covers it: nothing to compact
        if meta.last_index > self.last_index:
            raise InvalidWrite(
                f"snapshot through {meta.last_index} is beyond the durable log ({self.last_index})"
            )
        stored_term = self._term_at(meta.last_index)
        if stored_term != meta.last_term:
            raise InvalidWrite(
                f"snapshot through {meta.last_term}/{meta.last_index} does not match the log "
                f"(term {stored_term} at that index)"
            )
        self._write_snapshot_file(meta, request.data)
        self.db.delete_through(meta.last_index)
        self.db.put_snapshot_meta(meta)
        self.snapshot_meta = meta
        self._staged = (meta, request.data)

    def _write_snapshot_file(self, meta: SnapshotMeta, data: bytes) -> None:
        """Write the file under a name no file that may still be needed has: a snapshot of
        the same (term, index) as the committed one must not replace its bytes before this
        transaction commits (a crash would recover the old meta and log with the new bytes)."""
        generation = 0
        while (name := snapshot_file_name(meta, generation)) in self._files_in_use:
            generation += 1
        self.snapshots.write(meta, data, name)
        self._files_in_use.add(name)
        self.db.put_snapshot_file(name)
        self._staged_file = name
        self.stats["fsyncs"] += FSYNCS_PER_SNAPSHOT_FILE
        self.stats["bytes"] += len(data)
        self.stats["snapshots"] += 1

    def _term_at(self, index: int) -> int | None:
        """The term of the entry at `index`; the snapshot's own last entry counts."""
        if self.snapshot_meta is not None and index <= self.snapshot_meta.last_index:
            return self.snapshot_meta.last_term if index == self.snapshot_meta.last_index else None
        return self.db.term_at(index)

    def _snapshot_committed(self) -> None:
        """Publish the new snapshot and delete older files: until this commit sqlite still
        named one of them."""
        self.latest = self._staged
        self.snapshot_file = self._staged_file
        try:
            self.snapshots.remove_all_but(self.snapshot_file)
        except StorageError as exc:
            # Harmless for durability: the next open removes what is left.
            log.warning("keeping old snapshot files for now: %s", exc)
