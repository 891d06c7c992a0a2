"""Whole-file operations on the state store, each run on a worker thread (they take time in
proportion to the data, so never on the event loop):

- `checkpoint`: move the WAL into the file and sync it, so the log may be compacted up to what
  it holds (and the WAL does not grow without end);
- `copy_state`: a consistent copy (`VACUUM INTO`, a read transaction: writes go on) to send to a
  follower, with its SHA-256;
- `verify_state_file`: a received copy is checked (checksum, SQLite's own structural check,
  schema, applied index and counts) before anything is replaced;
- `install_state_file`: swap a verified copy in atomically. A crash at any step leaves the old
  file or the new one: the old WAL is removed durably before the rename, so it can never be
  replayed onto the new file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .state_store import SCHEMA_VERSION, StateStoreError, open_state_db, read_meta

COPY_CACHE_BYTES = 4 << 20
_WAL_SUFFIXES = ("-wal", "-shm")


class SnapshotInvalid(Exception):
    """A received state file failed verification; nothing was replaced."""


@dataclass(frozen=True, slots=True)
class StateFile:
    """A consistent copy of the state: the applied index it holds, its size and SHA-256."""

    path: Path
    applied_index: int
    size: int
    sha256: str


def fsync_path(path: Path, *, directory: bool = False) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if directory else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checkpoint(path: Path) -> bool:
    """Move the WAL into the file, truncate it, and fsync: every write committed before the
    call is durable afterwards. Call it while nothing writes (the node's driver waits for it),
    so the WAL can be truncated. Returns False if a reader (a copy in progress) kept part of
    the WAL: it is then synced in place, durable all the same, and truncated next time."""
    conn = open_state_db(path, COPY_CACHE_BYTES)
    try:
        conn.execute("PRAGMA busy_timeout=0")  # a reader in the way: do what can be done
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        conn.close()
    # When a reader held the checkpoint back, SQLite may not have synced the WAL itself.
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        fsync_path(wal)
    fsync_path(path)
    return bool(busy == 0)


def checkpoint_in_background(path: Path) -> None:
    """Copy what the WAL holds into the file and sync it, while writes go on (a passive
    checkpoint: it waits for nobody and truncates nothing). The `checkpoint` that follows
    then has only the writes made since to copy and sync, so the driver waits less."""
    conn = open_state_db(path, COPY_CACHE_BYTES)
    try:
        conn.execute("PRAGMA busy_timeout=0")
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        conn.close()


def file_sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def copy_state(path: Path, dest: Path) -> StateFile:
    """A consistent, durable copy of the store at `dest` (written under a temporary name)."""
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    conn = open_state_db(path, COPY_CACHE_BYTES)
    try:
        conn.execute("VACUUM INTO ?", (str(partial),))
    finally:
        conn.close()
    fsync_path(partial)
    applied = _read_applied(partial)
    digest = file_sha256(partial)
    os.replace(partial, dest)
    fsync_path(dest.parent, directory=True)
    return StateFile(dest, applied, dest.stat().st_size, digest)


def _read_applied(path: Path) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return read_meta(conn)["applied_index"]
    finally:
        conn.close()


def verify_state_file(path: Path, applied_index: int, sha256: str) -> None:
    """Refuse (SnapshotInvalid) a file that is not a whole state store at `applied_index`."""
    actual = file_sha256(path)
    if actual != sha256:
        raise SnapshotInvalid(f"checksum mismatch: got sha256 {actual[:16]}…, sent {sha256[:16]}…")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error as exc:
        raise SnapshotInvalid(f"not a SQLite file: {exc}") from exc
    try:
        _check_structure(conn, applied_index)
    except sqlite3.Error as exc:
        raise SnapshotInvalid(f"unreadable state file: {exc}") from exc
    finally:
        conn.close()


def _check_structure(conn: sqlite3.Connection, applied_index: int) -> None:
    verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
    if verdict != "ok":
        raise SnapshotInvalid(f"SQLite quick_check failed: {verdict}")
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not {"kv", "sessions", "meta"} <= tables:
        raise SnapshotInvalid(f"not a raftkv state file (tables: {sorted(tables)})")
    meta = read_meta(conn)
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise SnapshotInvalid(f"state schema version {meta.get('schema_version')}")
    if meta.get("applied_index") != applied_index:
        raise SnapshotInvalid(
            f"the file holds the state at {meta.get('applied_index')}, the snapshot says {applied_index}"
        )
    keys = conn.execute("SELECT count(*) FROM kv").fetchone()[0]
    sessions = conn.execute("SELECT count(*) FROM sessions").fetchone()[0]
    if (keys, sessions) != (meta.get("keys"), meta.get("sessions")):
        raise SnapshotInvalid(
            f"counts do not match the file's meta: {keys} keys, {sessions} sessions"
        )


def install_state_file(source: Path, path: Path) -> None:
    """Replace the (closed) store at `path` with the verified file `source`, atomically."""
    for suffix in _WAL_SUFFIXES:
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    fsync_path(path.parent, directory=True)
    os.replace(source, path)
    fsync_path(path.parent, directory=True)


__all__ = [
    "SnapshotInvalid",
    "StateFile",
    "StateStoreError",
    "checkpoint",
    "copy_state",
    "install_state_file",
    "verify_state_file",
]
