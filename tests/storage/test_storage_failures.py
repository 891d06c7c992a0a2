"""Disk and sqlite failures: StorageError naming the path, and no write after a failed one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from raftkv.core.types import Entry, EntryKind, HardState
from raftkv.storage import DurableStore, StorageError


class FailingInserts:
    """Wraps a sqlite connection; INSERTs fail as a full or broken disk would make them."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def executemany(self, sql: str, rows: object) -> sqlite3.Cursor:
        raise sqlite3.OperationalError("disk I/O error")

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def test_open_on_a_file_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "node").write_text("not a directory")
    with pytest.raises(StorageError, match=str(tmp_path / "node")):
        DurableStore.open(tmp_path / "node")


def test_open_on_a_non_database_is_a_storage_error(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    data_dir.mkdir()
    (data_dir / "raft.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match=r"raft\.sqlite3"):
        DurableStore.open(data_dir)


async def test_a_failed_commit_fails_the_group_and_every_later_write(tmp_path: Path) -> None:
    store = DurableStore.open(tmp_path / "node")
    await store.persist(HardState(1, 1), [Entry(1, 1, EntryKind.BLANK)])
    log_db = store._writer.store.db
    log_db._conn = FailingInserts(log_db._conn)  # type: ignore[assignment]

    with pytest.raises(StorageError, match=r"raft\.sqlite3: disk I/O error"):
        await store.persist(HardState(2, 2), [Entry(2, 2, EntryKind.BLANK)])
    with pytest.raises(StorageError, match="accepts no more writes"):
        await store.persist(HardState(3, 3), [])
    await store.close()

    reopened = DurableStore.open(tmp_path / "node")
    boot, _ = reopened.recover()
    await reopened.close()
    assert boot.hard_state == HardState(1, 1)  # the failed transaction left nothing behind
    assert [e.index for e in boot.entries] == [1]


async def test_a_second_open_of_the_same_directory_is_refused_until_close(tmp_path: Path) -> None:
    first = DurableStore.open(tmp_path / "node")
    with pytest.raises(StorageError, match="in use by another open store"):
        DurableStore.open(tmp_path / "node")
    await first.close()
    second = DurableStore.open(tmp_path / "node")
    await second.close()
