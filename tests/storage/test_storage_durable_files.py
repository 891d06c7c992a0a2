"""The crash-safe file steps really fsync, and in the order that makes them crash safe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storage_workload import MEMBERSHIP

from raftkv.core.types import Entry, EntryKind, HardState, SnapshotMeta
from raftkv.storage import DurableStore, load_or_create_identity
from raftkv.storage.durable_files import make_dirs_durably, write_file_durably
from raftkv.storage.log_db import LogDatabase

Event = tuple[str, str]


@pytest.fixture
def disk_events(monkeypatch: pytest.MonkeyPatch) -> list[Event]:
    """Records every fsync (by the path of its descriptor) and every rename, in order."""
    events: list[Event] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: str | Path, target: str | Path) -> None:
        events.append(("rename", f"{source} -> {target}"))
        real_replace(source, target)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def test_file_is_fsynced_renamed_then_its_directory_fsynced(
    tmp_path: Path, disk_events: list[Event]
) -> None:
    target = tmp_path / "file.bin"
    write_file_durably(target, b"payload")
    assert disk_events == [
        ("fsync", f"{target}.tmp"),
        ("rename", f"{target}.tmp -> {target}"),
        ("fsync", str(tmp_path)),
    ]
    assert target.read_bytes() == b"payload"


def test_new_directories_are_fsynced_in_their_parents(
    tmp_path: Path, disk_events: list[Event]
) -> None:
    make_dirs_durably(tmp_path / "a" / "b")
    assert disk_events == [("fsync", str(tmp_path)), ("fsync", str(tmp_path / "a"))]


def test_existing_directory_needs_no_fsync(tmp_path: Path, disk_events: list[Event]) -> None:
    make_dirs_durably(tmp_path)
    assert disk_events == []


def test_identity_creation_is_durable_before_it_returns(
    tmp_path: Path, disk_events: list[Event]
) -> None:
    data_dir = tmp_path / "node"
    load_or_create_identity(data_dir, 1)
    identity = data_dir / "identity.json"
    assert disk_events == [
        ("fsync", str(tmp_path)),
        ("fsync", f"{identity}.tmp"),
        ("rename", f"{identity}.tmp -> {identity}"),
        ("fsync", str(data_dir)),
    ]


async def test_snapshot_file_is_durable_before_the_transaction_naming_it_commits(
    tmp_path: Path, disk_events: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_commit = LogDatabase.commit

    def commit(self: LogDatabase) -> None:
        real_commit(self)
        disk_events.append(("commit", self.path.name))

    monkeypatch.setattr(LogDatabase, "commit", commit)
    store = DurableStore.open(tmp_path / "node")
    await store.persist(HardState(1, 1), [Entry(1, 1, EntryKind.BLANK)])
    disk_events.clear()
    meta = SnapshotMeta(last_index=1, last_term=1, membership=MEMBERSHIP)
    await store.save_snapshot(meta, b"state")
    await store.close()
    snapshot = tmp_path / "node" / "snapshots" / "snap-1-1.bin"
    assert disk_events == [
        ("fsync", f"{snapshot}.tmp"),
        ("rename", f"{snapshot}.tmp -> {snapshot}"),
        ("fsync", str(snapshot.parent)),
        ("commit", "raft.sqlite3"),
    ]
