"""`check_data_directory`: a directory that lost its log or its identity is refused, and the
states a first start cut short can leave are not (they hold no promise yet)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from raftkv.core.types import Entry, EntryKind, HardState
from raftkv.storage import (
    DamagedStorage,
    DurableStore,
    check_data_directory,
    create_identity,
    load_identity,
)


def used_directory(data_dir: Path) -> None:
    """What a node that voted leaves: an identity and a log with a hard state and entries."""

    async def fill() -> None:
        store = DurableStore.open(data_dir)
        await store.persist(HardState(2, 1), [Entry(2, 1, EntryKind.BLANK)])
        await store.close()

    asyncio.run(fill())
    create_identity(data_dir, 1)


def listing(data_dir: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file()}


def test_a_missing_directory_and_an_empty_one_are_fresh(tmp_path: Path) -> None:
    check_data_directory(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    check_data_directory(tmp_path / "empty")


def test_a_first_start_cut_short_before_the_identity_is_fresh(tmp_path: Path) -> None:
    """The store exists (its schema only), the identity was never written."""
    asyncio.run(DurableStore.open(tmp_path / "node").close())
    check_data_directory(tmp_path / "node", state_files=("state.sqlite3",))
    (tmp_path / "node" / "raft.sqlite3").write_bytes(b"")  # cut before sqlite's first write
    check_data_directory(tmp_path / "node")
    assert load_identity(tmp_path / "node", 1) is None


def test_a_used_directory_passes(tmp_path: Path) -> None:
    used_directory(tmp_path / "node")
    check_data_directory(tmp_path / "node")


@pytest.mark.parametrize(
    ("damage", "named", "problem"),
    [
        (lambda d: (d / "raft.sqlite3").unlink(), "raft.sqlite3", "is missing beside"),
        (lambda d: (d / "raft.sqlite3").write_bytes(b""), "raft.sqlite3", "is empty"),
        (lambda d: (d / "identity.json").unlink(), "identity.json", "is missing beside the log"),
        (
            lambda d: ((d / "identity.json").unlink(), (d / "raft.sqlite3").unlink()),
            "identity.json",
            "is missing beside .*state.sqlite3",
        ),
        (
            lambda d: (d / "raft.sqlite3").write_bytes(b"not a database" * 300),
            "raft.sqlite3",
            "is not a readable log database",
        ),
    ],
    ids=["log-missing", "log-empty", "identity-missing", "only-the-state-left", "log-garbage"],
)
def test_damage_is_refused_naming_the_file_and_the_way_back(
    tmp_path: Path,
    damage,
    named: str,
    problem: str,  # type: ignore[no-untyped-def]
) -> None:
    data_dir = tmp_path / "node"
    used_directory(data_dir)
    (data_dir / "state.sqlite3").write_bytes(b"the state store")
    damage(data_dir)
    before = listing(data_dir)
    with pytest.raises(DamagedStorage, match=f"{data_dir / named} {problem}") as raised:
        check_data_directory(data_dir, state_files=("state.sqlite3",))
    assert f"wipe {data_dir} and rejoin this node as a new member" in str(raised.value)
    assert "\n" not in str(raised.value)
    after = listing(data_dir)
    assert {k: v for k, v in after.items() if not k.endswith(("-shm", "-wal"))} == {
        k: v for k, v in before.items() if not k.endswith(("-shm", "-wal"))
    }


def test_a_log_without_records_beside_a_snapshot_file_is_refused(tmp_path: Path) -> None:
    """An empty log database (replaced, or a fresh one) while a snapshot file survives."""
    data_dir = tmp_path / "node"
    asyncio.run(DurableStore.open(data_dir).close())
    create_identity(data_dir, 1)
    (data_dir / "snapshots" / "snap-3-40.bin").write_bytes(b"RKVSNAP1...")
    with pytest.raises(DamagedStorage, match=r"holds no log, but .*snap-3-40\.bin survives"):
        check_data_directory(data_dir)
