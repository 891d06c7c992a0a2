"""Is a data directory whole? Checked at start, before anything in it is opened for writing.

A node promises its peers what its log holds: its votes, its term, the entries it acknowledged.
A directory that lost part of it must not be taken for a fresh one (a fresh store under the old
`storage_id` passes the check that catches wiped nodes, and the node votes twice). Rules:

- `identity.json` present: `raft.sqlite3` exists and is not empty (a first start writes the
  identity last, after the log database exists), and a log database that holds nothing
  has no snapshot beside it;
- `identity.json` missing: no log records, no state store and no snapshot file (a first start
  cut short before the identity leaves only an empty log database, which is fresh).

Nothing here writes or deletes; a refusal is `DamagedStorage` naming the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from .errors import DamagedStorage, StorageError
from .identity import IDENTITY_FILE
from .log_db import RECORD_KEYS
from .log_store import DB_FILE, SNAPSHOT_DIR
from .snapshot_files import is_snapshot_file

_KEPT_FILES = ("snap-", "install-")
"""Files in `snapshots/` that only a node with a log can have written (`send-`/`recv-` files
and temp files are leftovers, removed at start)."""


def check_data_directory(data_dir: Path, state_files: Sequence[str] = ()) -> None:
    """Raise `DamagedStorage` if `data_dir` lost its log or its identity (see the module doc).

    `state_files` names other files only a node with a log writes (the state store).
    """
    if not data_dir.is_dir():
        return  # a fresh node (or not a directory at all: identity.py says so)
    identity = data_dir / IDENTITY_FILE
    db = data_dir / DB_FILE
    survivors = _survivors(data_dir, state_files)
    if identity.exists():
        if not db.exists():
            raise DamagedStorage(db, f"is missing beside {identity}", data_dir)
        if db.stat().st_size == 0:
            raise DamagedStorage(db, f"is empty (zero length) beside {identity}", data_dir)
        holds_records = _holds_records(db)  # a mangled file is refused here too
        snapshots = [path for path in survivors if path.parent.name == SNAPSHOT_DIR]
        if snapshots and not holds_records:
            raise DamagedStorage(db, f"holds no log, but {snapshots[0]} survives", data_dir)
        return
    if db.exists() and db.stat().st_size > 0 and _holds_records(db):
        raise DamagedStorage(identity, f"is missing beside the log {db}", data_dir)
    if survivors:
        raise DamagedStorage(identity, f"is missing beside {survivors[0]}", data_dir)


def _survivors(data_dir: Path, state_files: Sequence[str]) -> list[Path]:
    found = [data_dir / name for name in state_files if (data_dir / name).exists()]
    snapshot_dir = data_dir / SNAPSHOT_DIR
    if snapshot_dir.is_dir():
        found += sorted(
            path
            for path in snapshot_dir.iterdir()
            if path.name.startswith(_KEPT_FILES) or is_snapshot_file(path.name)
        )
    return found


def _holds_records(db: Path) -> bool:
    """Whether the log database holds a hard state, a snapshot record or an entry (read only)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StorageError(f"sqlite failed to open {db}: {exc}") from exc
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        entries = "entries" in tables and conn.execute("SELECT 1 FROM entries LIMIT 1").fetchone()
        marks = ", ".join("?" for _ in RECORD_KEYS)
        meta = (
            "meta" in tables
            and conn.execute(
                f"SELECT 1 FROM meta WHERE key IN ({marks}) LIMIT 1", RECORD_KEYS
            ).fetchone()
        )
        return bool(entries or meta)
    except sqlite3.DatabaseError as exc:
        raise DamagedStorage(db, f"is not a readable log database ({exc})", db.parent) from exc
    finally:
        conn.close()
