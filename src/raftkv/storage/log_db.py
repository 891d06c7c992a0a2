"""The sqlite file behind the durable store: the log entries and a small key/value meta table.

WAL mode with `synchronous=FULL`: every COMMIT fsyncs the write-ahead log, so a transaction
that returned is durable, and a crash before it returned leaves none of it. Entries are stored
as columns (index, term, kind, data), so truncation is one range DELETE on the primary key.

Only the store's writer thread touches a `LogDatabase` (sqlite connections are not shared).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import msgspec

from raftkv.core.types import Entry, EntryKind, HardState, SnapshotMeta

from .errors import DamagedStorage, StorageError

SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS entries ("
    " idx INTEGER PRIMARY KEY, term INTEGER NOT NULL, kind INTEGER NOT NULL, data BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID",
)
_HARD_STATE_KEY = "hard_state"
_SNAPSHOT_KEY = "snapshot"
_SNAPSHOT_FILE_KEY = "snapshot_file"
_SCHEMA_KEY = "schema_version"
RECORD_KEYS = (_HARD_STATE_KEY, _SNAPSHOT_KEY)
"""Meta keys that only a node that took part in the cluster has (see `data_dir.py`)."""
_SYNCHRONOUS_FULL = 2
_KINDS = {kind.value: kind for kind in EntryKind}
_encoder = msgspec.msgpack.Encoder()
_hard_state_decoder = msgspec.msgpack.Decoder(HardState)
_snapshot_decoder = msgspec.msgpack.Decoder(SnapshotMeta)


class LogDatabase:
    """Typed reads and writes on the sqlite file; every failure becomes `StorageError`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._errors("open"):
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, one per group commit.
            self._conn = sqlite3.connect(path, isolation_level=None)
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StorageError(f"{path}: sqlite refused WAL mode (got {mode!r})")
            self._conn.execute("PRAGMA synchronous=FULL")
            if self._conn.execute("PRAGMA synchronous").fetchone()[0] != _SYNCHRONOUS_FULL:
                raise StorageError(f"{path}: sqlite refused synchronous=FULL")
            for statement in _SCHEMA:
                self._conn.execute(statement)
        self._check_schema_version()

    def _check_schema_version(self) -> None:
        with self._errors("read the schema version"):
            row = self._conn.execute(
                "SELECT value FROM meta WHERE key=?", (_SCHEMA_KEY,)
            ).fetchone()
            if row is not None and row[0] != SCHEMA_VERSION:
                raise StorageError(
                    f"{self.path}: schema version {row[0]!r}, this build reads {SCHEMA_VERSION}"
                )
            # A write at every open makes sqlite create the WAL file now, so the caller can
            # fsync the directory entry before any acknowledged write depends on it.
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)", (_SCHEMA_KEY, SCHEMA_VERSION)
            )
            self._conn.execute("COMMIT")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StorageError(f"sqlite failed to {action} in {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._errors("close"):
            self._conn.close()

    # Reads

    def read_hard_state(self) -> HardState:
        raw = self._read_meta(_HARD_STATE_KEY)
        try:
            return HardState() if raw is None else _hard_state_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise self._corrupt(_HARD_STATE_KEY, exc) from exc

    def read_snapshot_meta(self) -> SnapshotMeta | None:
        raw = self._read_meta(_SNAPSHOT_KEY)
        try:
            return None if raw is None else _snapshot_decoder.decode(raw)
        except msgspec.DecodeError as exc:
            raise self._corrupt(_SNAPSHOT_KEY, exc) from exc

    def read_snapshot_file(self) -> str | None:
        """The file name of the current snapshot (None in stores written before it was
        recorded: their file is named by the meta alone)."""
        raw = self._read_meta(_SNAPSHOT_FILE_KEY)
        return None if raw is None else raw.decode()

    def read_entries(self) -> list[Entry]:
        with self._errors("read the log"):
            rows = self._conn.execute("SELECT term, idx, kind, data FROM entries ORDER BY idx")
            kinds = _KINDS
            try:
                return [Entry(term, idx, kinds[kind], data) for term, idx, kind, data in rows]
            except KeyError as exc:
                raise StorageError(f"{self.path}: a log entry has unknown kind {exc}") from exc

    def last_index(self) -> int | None:
        with self._errors("read the last log index"):
            value = self._conn.execute("SELECT max(idx) FROM entries").fetchone()[0]
        return None if value is None else int(value)

    def term_at(self, index: int) -> int | None:
        with self._errors("read a log entry"):
            row = self._conn.execute("SELECT term FROM entries WHERE idx=?", (index,)).fetchone()
        return None if row is None else int(row[0])

    def _read_meta(self, key: str) -> bytes | None:
        with self._errors(f"read {key}"):
            row = self._conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def _corrupt(self, key: str, exc: Exception) -> StorageError:
        return DamagedStorage(
            self.path, f"has an unreadable {key} record ({exc})", self.path.parent
        )

    # Writes (inside begin/commit)

    def begin(self) -> None:
        with self._errors("begin a transaction"):
            self._conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        """COMMIT; with WAL and synchronous=FULL it returns after the WAL is fsynced."""
        with self._errors("commit"):
            self._conn.execute("COMMIT")

    def rollback_quietly(self) -> None:
        """Undo an open transaction after a failure that is already being reported."""
        try:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the original error is the one worth reporting

    def append(self, entries: Sequence[Entry]) -> None:
        with self._errors("append entries"):
            self._conn.executemany(
                "INSERT INTO entries VALUES (?, ?, ?, ?)",
                [(e.index, e.term, int(e.kind), e.data) for e in entries],
            )

    def delete_from(self, index: int) -> None:
        """Drop the entries at `index` and after (a conflicting suffix)."""
        with self._errors("truncate the log"):
            self._conn.execute("DELETE FROM entries WHERE idx >= ?", (index,))

    def delete_through(self, index: int) -> None:
        """Drop the entries at `index` and before (covered by a snapshot)."""
        with self._errors("compact the log"):
            self._conn.execute("DELETE FROM entries WHERE idx <= ?", (index,))

    def delete_all(self) -> None:
        with self._errors("discard the log"):
            self._conn.execute("DELETE FROM entries")

    def put_hard_state(self, hard_state: HardState) -> None:
        self._put_meta(_HARD_STATE_KEY, _encoder.encode(hard_state))

    def put_snapshot_meta(self, meta: SnapshotMeta) -> None:
        self._put_meta(_SNAPSHOT_KEY, _encoder.encode(meta))

    def put_snapshot_file(self, name: str) -> None:
        self._put_meta(_SNAPSHOT_FILE_KEY, name.encode())

    def _put_meta(self, key: str, value: bytes) -> None:
        with self._errors(f"write {key}"):
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
