"""`StateStore`: the replicated key-value state on disk, in its own SQLite file.

Keys, values and client sessions live in `state.sqlite3`; its `meta` table holds the applied
index, the digest and the counts, written in the same transaction as the state they describe,
so a restart resumes from exactly what the file holds and replays only the log after it.

NB: WAL mode with `synchronous=NORMAL`: an apply batch commits without fsync (a crash of the
process loses nothing; a power loss may lose the last batches but never mixes them). The log is
the source of truth: it is compacted only through an index that `checkpoint` (state_files.py)
has synced first. Automatic checkpoints are off: they fsync, and this connection lives on the
event loop; `checkpoint` runs on a worker thread instead, while the driver waits.

Apply batches share one open transaction, committed every `COMMIT_EVERY_S` (reads on this
connection see what it holds; `commit` before another connection must). Memory is bounded by
`cache_bytes` (SQLite's page cache), not by the data.
"""

from __future__ import annotations

import functools
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path

import msgspec

from raftkv.core.membership import decode_membership
from raftkv.core.types import Entry, EntryKind

from .commands import Put, decode_command
from .digest import StateDigest
from .sessions import KvResult, Session, apply_put
from .state_machine import DEFAULT_MAX_SESSIONS, Applied

STATE_FILE = "state.sqlite3"
SCHEMA_VERSION = 2
"""2: the meta row holds the cluster's `max_sessions` (files of version 1 are migrated)."""
COMMIT_EVERY_S = 0.05
COMMIT_EVERY_ENTRIES = 5000
"""Apply batches share one transaction, committed at most this late (a commit writes whole
pages to the WAL: per batch of one entry, it cost 130 us of a follower's CPU). An entry applied
but not committed is as safe as one not synced: the log replays it after a crash."""
PAGE_SIZE = 16384
"""Measured on 1 KB values: 16 KiB pages store them in 1.05x their size, 4 KiB in 1.33x."""
SCHEMA = (
    # Rowid tables: values are large next to keys, and a WITHOUT ROWID row that big spills to
    # overflow pages (measured: 4.4x the data on disk, 3x slower random writes).
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sessions (client TEXT PRIMARY KEY, last_index INTEGER NOT NULL,"
    " session BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sessions_by_last_index ON sessions (last_index)",
    "CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 0),"
    " schema_version INTEGER NOT NULL, applied_index INTEGER NOT NULL, digest INTEGER NOT NULL,"
    " keys INTEGER NOT NULL, sessions INTEGER NOT NULL, value_bytes INTEGER NOT NULL,"
    " max_sessions INTEGER NOT NULL DEFAULT 0)",
)
META_FIELDS = (
    "schema_version",
    "applied_index",
    "digest",
    "keys",
    "sessions",
    "value_bytes",
    "max_sessions",
)
# Upserts update a row in place: INSERT OR REPLACE deletes it and inserts it again, which also
# rewrites its index entries (measured: 4% fewer instructions per write with 1,000 hot keys).
_PUT_VALUE = "INSERT INTO kv VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
_PUT_SESSION = (
    "INSERT INTO sessions VALUES (?, ?, ?) ON CONFLICT (client)"
    " DO UPDATE SET last_index = excluded.last_index, session = excluded.session"
)
_session_encoder = msgspec.msgpack.Encoder()
_session_decoder = msgspec.msgpack.Decoder(Session)
_SIGNED = 1 << 63


@dataclass(slots=True)
class _Batch:
    """One apply batch: what it read (None: absent) and what it wrote, not yet in SQLite."""

    values: dict[str, str | None] = field(default_factory=dict)
    sessions: dict[str, Session | None] = field(default_factory=dict)
    new_values: dict[str, str] = field(default_factory=dict)
    new_sessions: dict[str, tuple[int, bytes]] = field(default_factory=dict)


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StateStoreError(Exception):
    """The state file cannot be used (unreadable, another schema, damaged)."""


def to_signed(value: int) -> int:
    """SQLite integers are signed 64-bit; the digest is unsigned."""
    return value - (1 << 64) if value >= _SIGNED else value


def open_state_db(path: Path, cache_bytes: int, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with autocheckpoint off and a bounded page cache."""
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        if not read_only:
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # takes effect on a new file only
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise StateStoreError(f"{path}: sqlite refused WAL mode (got {mode!r})")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute(f"PRAGMA cache_size=-{max(cache_bytes // 1024, 64)}")
    except BaseException:
        conn.close()
        raise
    return conn


def read_meta(conn: sqlite3.Connection) -> dict[str, int]:
    """The one row of the `meta` table, by column (empty if there is none)."""
    cursor = conn.execute(f"SELECT {', '.join(META_FIELDS)} FROM meta WHERE id = 0")
    row = cursor.fetchone()
    return (
        {}
        if row is None
        else {name: int(value) for name, value in zip(META_FIELDS, row, strict=True)}
    )


class StateStore:
    """The state machine of a node, on disk. One connection, used from the event loop only."""

    def __init__(
        self,
        path: Path,
        *,
        max_sessions: int = DEFAULT_MAX_SESSIONS,
        cache_bytes: int = 32 << 20,
    ) -> None:
        self.path = path
        self.configured_max_sessions = max_sessions
        """This node's config; it decides only while the cluster fixed none (see
        `Membership.max_sessions`)."""
        self.cluster_max_sessions = 0
        """Replicated: applied from the configuration entries."""
        self.cache_bytes = cache_bytes
        self._batch: _Batch | None = None
        self.failure: BaseException | None = None
        """Invariant: once set, nothing more is written (see `_batch_writes`)."""
        self._uncommitted = 0
        self._transaction_began = 0.0
        self.written_bytes = 0
        """Roughly what apply batches wrote since the last checkpoint (the WAL's growth)."""
        self._conn = self._open()
        self.applied_index = 0
        self.digest = StateDigest()
        self.key_count = 0
        self.value_bytes = 0
        self._session_count = 0
        self._reload_meta()

    def _open(self) -> sqlite3.Connection:
        try:
            conn = open_state_db(self.path, self.cache_bytes)
            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA:
                conn.execute(statement)
            _migrate(conn)
            conn.execute(
                "INSERT OR IGNORE INTO meta VALUES (0, ?, 0, 0, 0, 0, 0, 0)", (SCHEMA_VERSION,)
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StateStoreError(f"cannot open the state store {self.path}: {exc}") from exc
        version = read_meta(conn)["schema_version"]
        if version != SCHEMA_VERSION:
            conn.close()
            raise StateStoreError(
                f"{self.path}: state schema version {version}, this build reads {SCHEMA_VERSION}"
            )
        return conn

    def close(self) -> None:
        self.commit()
        self._conn.close()

    def reopen(self) -> None:
        """Open the file again (after `state_files.install_state_file` replaced it)."""
        self._conn = self._open()
        self._reload_meta()

    # -- reads -------------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        return self.value(key)

    def scan(self, prefix: str, after: str | None, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` pairs whose key starts with `prefix` and sorts after `after`, in
        key order (an index range, never a scan of the table)."""
        low_op, low = (">", after) if after is not None and after >= prefix else (">=", prefix)
        high = prefix_end(prefix)
        sql = f"SELECT key, value FROM kv WHERE key {low_op} ?"
        params: list[object] = [low]
        if high is not None:
            sql += " AND key < ?"
            params.append(high)
        params.append(limit)
        return self._conn.execute(sql + " ORDER BY key LIMIT ?", params).fetchall()

    def session_count(self) -> int:
        return self._session_count

    # -- KvBackend (inside `apply_entries`' transaction) --------------------------------------
    # Reads come from what the batch prefetched or wrote; writes collect in the batch and go to
    # SQLite in two `executemany` at its end (one statement per row costs more than the rest
    # of an apply together).

    def value(self, key: str) -> str | None:
        batch = self._batch
        if batch is not None and key in batch.values:
            return batch.values[key]
        row = self._conn.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def session(self, client: str) -> Session | None:
        batch = self._batch
        if batch is not None and client in batch.sessions:
            return batch.sessions[client]
        row = self._conn.execute("SELECT session FROM sessions WHERE client=?", (client,))
        found = row.fetchone()
        return None if found is None else _session_decoder.decode(found[0])

    def put_value(self, key: str, value: str, previous: str | None) -> None:
        batch = self._writing()
        batch.values[key] = batch.new_values[key] = value
        self.written_bytes += len(key) + 2 * len(value) + 64  # the row, and the session's answer
        if previous is None:
            self.key_count += 1
        else:
            self.value_bytes -= len(previous.encode())
        self.value_bytes += len(value.encode())

    def put_session(self, client: str, session: Session, index: int, replaces: bool) -> None:
        batch = self._writing()
        batch.sessions[client] = session
        batch.new_sessions[client] = (index, _session_encoder.encode(session))
        if not replaces:
            self._session_count += 1

    def pop_oldest_session(self) -> tuple[str, Session]:
        batch = self._writing()
        self._flush(batch)  # the oldest may be among this batch's writes
        client, raw = self._conn.execute(
            "SELECT client, session FROM sessions ORDER BY last_index LIMIT 1"
        ).fetchone()
        self._conn.execute("DELETE FROM sessions WHERE client=?", (client,))
        batch.sessions[client] = None
        self._session_count -= 1
        return client, _session_decoder.decode(raw)

    def _writing(self) -> _Batch:
        if self._batch is None:
            raise RuntimeError("state writes happen inside apply_entries")
        return self._batch

    def _prefetch(self, commands: Sequence[Put]) -> _Batch:
        """The batch's keys and sessions, read in a few statements."""
        batch = _Batch()
        keys = list({cmd.key for cmd in commands})
        clients = list({cmd.client_id or f"key:{cmd.key}" for cmd in commands})
        batch.values = dict.fromkeys(keys)
        batch.sessions = dict.fromkeys(clients)
        none: list[str] = []
        parts: Iterator[tuple[list[str], list[str]]] = zip_longest(
            _chunks(keys), _chunks(clients), fillvalue=none
        )
        for part_keys, part_clients in parts:
            sql = _prefetch_sql(len(part_keys), len(part_clients))
            for table, name, raw in self._conn.execute(sql, [*part_keys, *part_clients]):
                if table == 0:
                    batch.values[name] = raw
                else:
                    batch.sessions[name] = _session_decoder.decode(raw)
        return batch

    def _flush(self, batch: _Batch) -> None:
        rows = list(batch.new_values.items())
        _execute_rows(self._conn, _PUT_VALUE, rows)
        batch.new_values.clear()
        sessions = [(client, index, raw) for client, (index, raw) in batch.new_sessions.items()]
        _execute_rows(self._conn, _PUT_SESSION, sessions)
        batch.new_sessions.clear()

    # -- writes --------------------------------------------------------------------------------

    def load_memory_snapshot(self, data: bytes) -> None:
        """Replace the state with a `KvStateMachine.snapshot()` (the snapshot format of data
        directories written before the state store; one transaction, at start-up only)."""
        from .state_machine import KvStateMachine

        memory = KvStateMachine()
        memory.restore(data)
        sessions = memory.sessions_in_eviction_order()
        conn = self._conn
        with self._batch_writes():
            conn.execute("DELETE FROM kv")
            conn.execute("DELETE FROM sessions")
            conn.executemany("INSERT INTO kv VALUES (?, ?)", memory.kv.items())
            conn.executemany(
                "INSERT INTO sessions VALUES (?, ?, ?)",
                [(c, i, _session_encoder.encode(s)) for i, (c, s) in enumerate(sessions)],
            )
            self.applied_index = memory.applied_index
            self.digest = memory.digest
            self.key_count = len(memory.kv)
            self.value_bytes = sum(len(v.encode()) for v in memory.kv.values())
            self._session_count = len(sessions)
        self.commit()

    @contextmanager
    def _batch_writes(self) -> Iterator[None]:
        """One batch's writes, inside the open transaction (begun if needed).

        NB: a failure is final (like the log store's): the transaction is rolled back to the
        last commit and the store refuses every later write, so a half-applied batch can never
        be committed; the node stops, and its next start replays the log after what the file
        holds.
        """
        if self.failure is not None:
            raise StateStoreError(f"{self.path}: an earlier apply failed: {self.failure}")
        conn = self._conn
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
            self._transaction_began = time.monotonic()
        try:
            yield
        except BaseException as exc:
            self.failure = exc
            conn.execute("ROLLBACK")
            self._reload_meta()
            raise

    def commit(self) -> None:
        """Commit the open transaction, with the meta of what it holds: it becomes visible to
        other connections (copies, checkpoints). No fsync: see `state_files.checkpoint`."""
        if self._conn.in_transaction:
            self._write_meta()
            self._conn.execute("COMMIT")
        self._uncommitted = 0

    def apply_entries(self, entries: Sequence[Entry]) -> Applied:
        """Apply committed entries in one transaction (no fsync); entries at or below the
        applied index are skipped (the store already holds them)."""
        applied: Applied = []
        fresh = [entry for entry in entries if entry.index > self.applied_index]
        if not fresh:
            return applied
        try:
            with self._batch_writes():
                commands = {
                    entry.index: decode_command(entry.data)
                    for entry in fresh
                    if entry.kind is EntryKind.COMMAND
                }
                batch = self._batch = self._prefetch(list(commands.values()))
                for entry in fresh:
                    cmd = commands.get(entry.index)
                    result: KvResult | None = None
                    if cmd is not None:
                        result = apply_put(self, self.digest, entry.index, cmd, self.max_sessions)
                    elif entry.kind is EntryKind.MEMBERSHIP:
                        self._apply_membership(entry)
                    applied.append((entry, result))
                self._flush(batch)
                self.applied_index = fresh[-1].index
        finally:
            self._batch = None
        self._uncommitted += len(fresh)
        if (
            self._uncommitted >= COMMIT_EVERY_ENTRIES
            or time.monotonic() - self._transaction_began >= COMMIT_EVERY_S
        ):
            self.commit()
        return applied

    @property
    def max_sessions(self) -> int:
        return self.cluster_max_sessions or self.configured_max_sessions

    def _apply_membership(self, entry: Entry) -> None:
        fixed = decode_membership(entry.data).max_sessions
        if fixed:
            self.cluster_max_sessions = fixed

    def _write_meta(self) -> None:
        self._conn.execute(
            "UPDATE meta SET applied_index=?, digest=?, keys=?, sessions=?, value_bytes=?,"
            " max_sessions=? WHERE id = 0",
            (
                self.applied_index,
                to_signed(self.digest.value),
                self.key_count,
                self._session_count,
                self.value_bytes,
                self.cluster_max_sessions,
            ),
        )

    def _reload_meta(self) -> None:
        meta = read_meta(self._conn)
        self.applied_index = meta["applied_index"]
        self.digest = StateDigest(meta["digest"] % (1 << 64))
        self.key_count = meta["keys"]
        self.value_bytes = meta["value_bytes"]
        self._session_count = meta["sessions"]
        self.cluster_max_sessions = meta["max_sessions"]


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file of an older schema to this one (inside the caller's transaction)."""
    row = conn.execute("SELECT schema_version FROM meta WHERE id = 0").fetchone()
    if row is not None and row[0] == 1:
        conn.execute("ALTER TABLE meta ADD COLUMN max_sessions INTEGER NOT NULL DEFAULT 0")
        conn.execute("UPDATE meta SET schema_version = ? WHERE id = 0", (SCHEMA_VERSION,))


@functools.cache
def _prefetch_sql(keys: int, clients: int) -> str:
    """One statement reading a batch's values and sessions (one round trip, not two)."""
    return (
        f"SELECT 0, key, value FROM kv WHERE key IN ({','.join('?' * keys)})"
        f" UNION ALL SELECT 1, client, session FROM sessions"
        f" WHERE client IN ({','.join('?' * clients)})"
    )


def _execute_rows(conn: sqlite3.Connection, sql: str, rows: Sequence[tuple[object, ...]]) -> None:
    """`executemany`, or `execute` for one row (cheaper: a commit often carries one write)."""
    if len(rows) == 1:
        conn.execute(sql, rows[0])
    elif rows:
        conn.executemany(sql, rows)


def prefix_end(prefix: str) -> str | None:
    """The smallest string above every string that starts with `prefix` (None: no bound).

    SQLite compares TEXT as UTF-8 bytes, which orders like code points, so incrementing the
    last code point that can be incremented gives the bound.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars.pop())
        if last < 0x10FFFF:
            following = last + 1
            if 0xD800 <= following <= 0xDFFF:
                following = 0xE000  # surrogates cannot be encoded
            return "".join(chars) + chr(following)
    return None
