"""DurableStore: what `persist` / `save_snapshot` write is what `recover` returns after reopening."""

from __future__ import annotations

from pathlib import Path

import pytest
from storage_workload import MEMBERSHIP

from raftkv.core.ready import InstallSnapshot
from raftkv.core.types import BootState, Entry, EntryKind, HardState, SnapshotMeta
from raftkv.storage import DurableStore, StorageError


def entries(first: int, last: int, term: int) -> list[Entry]:
    return [
        Entry(term, i, EntryKind.COMMAND, f"cmd-{term}-{i}".encode())
        for i in range(first, last + 1)
    ]


def meta(index: int, term: int) -> SnapshotMeta:
    return SnapshotMeta(last_index=index, last_term=term, membership=MEMBERSHIP, membership_index=1)


async def reopened(data_dir: Path) -> tuple[BootState, bytes | None]:
    store = DurableStore.open(data_dir)
    try:
        return store.recover()
    finally:
        await store.close()


@pytest.fixture
async def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = DurableStore.open(tmp_path / "node")
    yield opened
    await opened.close()


async def test_pristine_directory_recovers_an_empty_boot_state(tmp_path: Path) -> None:
    assert await reopened(tmp_path / "fresh") == (BootState(), None)
    assert BootState().pristine


async def test_round_trip_of_hard_state_and_entries(store: DurableStore, tmp_path: Path) -> None:
    await store.persist(HardState(term=3, vote=2), entries(1, 5, 3))
    await store.persist(None, entries(6, 7, 3))
    await store.close()

    boot, data = await reopened(tmp_path / "node")
    assert boot.hard_state == HardState(term=3, vote=2)
    assert boot.entries == entries(1, 7, 3)
    assert boot.entries[0].kind is EntryKind.COMMAND
    assert boot.snapshot is None and data is None


async def test_later_hard_state_replaces_earlier(store: DurableStore, tmp_path: Path) -> None:
    await store.persist(HardState(term=1, vote=1), [])
    await store.persist(HardState(term=2, vote=None), [])
    await store.close()
    boot, _ = await reopened(tmp_path / "node")
    assert boot.hard_state == HardState(term=2, vote=None)


async def test_entries_truncate_the_conflicting_suffix(store: DurableStore, tmp_path: Path) -> None:
    await store.persist(HardState(term=1, vote=1), entries(1, 10, 1))
    await store.persist(HardState(term=2, vote=2), entries(6, 7, 2))
    await store.close()
    boot, _ = await reopened(tmp_path / "node")
    assert boot.entries == entries(1, 5, 1) + entries(6, 7, 2)


@pytest.mark.parametrize(
    ("bad_entries", "reason"),
    [
        pytest.param(entries(5, 6, 1), "gap", id="gap-after-last"),
        pytest.param([*entries(1, 1, 1), *entries(3, 3, 1)], "not contiguous", id="holes"),
    ],
)
async def test_malformed_entries_are_refused_and_nothing_is_written(
    store: DurableStore, tmp_path: Path, bad_entries: list[Entry], reason: str
) -> None:
    await store.persist(HardState(1, 1), entries(1, 3, 1))
    with pytest.raises(ValueError, match=reason):
        await store.persist(HardState(9, 9), bad_entries)
    await store.persist(None, entries(4, 4, 1))  # the store is still usable
    await store.close()
    boot, _ = await reopened(tmp_path / "node")
    assert boot.hard_state == HardState(1, 1)
    assert boot.entries == entries(1, 4, 1)


async def test_install_snapshot_keeps_the_suffix_after_a_matching_entry(
    store: DurableStore, tmp_path: Path
) -> None:
    await store.persist(HardState(2, 1), entries(1, 10, 2))
    await store.persist(None, [], InstallSnapshot(meta(6, 2), b"state@6"))
    assert store.latest_snapshot() == (meta(6, 2), b"state@6")
    await store.close()

    boot, data = await reopened(tmp_path / "node")
    assert boot.snapshot == meta(6, 2)
    assert data == b"state@6"
    assert boot.entries == entries(7, 10, 2)


async def test_install_snapshot_discards_a_log_without_the_matching_entry(
    store: DurableStore, tmp_path: Path
) -> None:
    await store.persist(HardState(2, 1), entries(1, 10, 2))
    # Same index, other term: the log diverged from the leader's, so none of it is kept.
    await store.persist(HardState(3, None), entries(11, 11, 3), InstallSnapshot(meta(10, 3), b"s"))
    await store.close()
    boot, data = await reopened(tmp_path / "node")
    assert boot.snapshot == meta(10, 3) and data == b"s"
    assert boot.entries == entries(11, 11, 3)
    assert boot.hard_state == HardState(3, None)


async def test_install_snapshot_beyond_the_log_discards_it(
    store: DurableStore, tmp_path: Path
) -> None:
    await store.persist(HardState(2, 1), entries(1, 3, 2))
    await store.persist(None, [], InstallSnapshot(meta(50, 4), b"far"))
    await store.persist(None, entries(51, 52, 4))
    await store.close()
    boot, _ = await reopened(tmp_path / "node")
    assert boot.snapshot == meta(50, 4)
    assert boot.entries == entries(51, 52, 4)


async def test_installing_an_older_snapshot_is_refused(store: DurableStore) -> None:
    await store.persist(HardState(2, 1), [], InstallSnapshot(meta(20, 2), b"new"))
    with pytest.raises(ValueError, match="older"):
        await store.persist(None, [], InstallSnapshot(meta(10, 2), b"old"))
    assert store.latest_snapshot() == (meta(20, 2), b"new")


async def test_entries_may_not_rewrite_the_snapshot(store: DurableStore) -> None:
    await store.persist(HardState(2, 1), [], InstallSnapshot(meta(20, 2), b"s"))
    with pytest.raises(ValueError, match="rewrite the snapshot"):
        await store.persist(None, entries(20, 21, 2))


async def test_save_snapshot_compacts_the_log_and_removes_older_files(
    store: DurableStore, tmp_path: Path
) -> None:
    await store.persist(HardState(1, 1), entries(1, 10, 1))
    await store.save_snapshot(meta(4, 1), b"state@4")
    await store.save_snapshot(meta(8, 1), b"state@8")
    assert store.latest_snapshot() == (meta(8, 1), b"state@8")
    snapshot_files = sorted(p.name for p in (tmp_path / "node" / "snapshots").iterdir())
    assert snapshot_files == ["snap-1-8.bin"]
    await store.close()

    boot, data = await reopened(tmp_path / "node")
    assert (boot.snapshot, data) == (meta(8, 1), b"state@8")
    assert boot.entries == entries(9, 10, 1)


async def test_save_snapshot_not_newer_than_the_stored_one_is_ignored(store: DurableStore) -> None:
    await store.persist(HardState(1, 1), entries(1, 10, 1), InstallSnapshot(meta(0, 0), b""))
    await store.persist(None, [], InstallSnapshot(meta(10, 1), b"installed"))
    await store.save_snapshot(meta(5, 1), b"taken-before-install")
    assert store.latest_snapshot() == (meta(10, 1), b"installed")


@pytest.mark.parametrize(
    ("snapshot_meta", "reason"),
    [
        pytest.param(meta(12, 1), "beyond the durable log", id="beyond-log"),
        pytest.param(meta(5, 7), "does not match the log", id="wrong-term"),
    ],
)
async def test_save_snapshot_that_contradicts_the_log_is_refused(
    store: DurableStore, snapshot_meta: SnapshotMeta, reason: str
) -> None:
    await store.persist(HardState(1, 1), entries(1, 10, 1))
    with pytest.raises(ValueError, match=reason):
        await store.save_snapshot(snapshot_meta, b"x")
    assert store.latest_snapshot() is None


async def test_stats_count_persists_transactions_fsyncs_and_bytes(store: DurableStore) -> None:
    await store.persist(HardState(1, 1), entries(1, 2, 1))
    await store.save_snapshot(meta(1, 1), b"12345")
    stats = store.stats
    assert stats["persists"] == 1
    assert stats["transactions"] == 2
    assert stats["fsyncs"] == 2 + 2  # two commits, plus the snapshot file and its directory
    assert stats["bytes"] == sum(len(e.data) for e in entries(1, 2, 1)) + 5


async def test_writes_after_close_raise_storage_error(tmp_path: Path) -> None:
    store = DurableStore.open(tmp_path / "node")
    await store.close()
    with pytest.raises(StorageError, match="closed"):
        await store.persist(HardState(1, 1), [])


async def test_recover_of_100k_entries_is_fast(store: DurableStore, tmp_path: Path) -> None:
    import time

    await store.persist(HardState(1, 1), entries(1, 100_000, 1))
    await store.close()
    started = time.perf_counter()
    boot, _ = await reopened(tmp_path / "node")
    elapsed = time.perf_counter() - started
    assert len(boot.entries) == 100_000
    assert elapsed < 2.0, f"recover took {elapsed:.2f}s"
