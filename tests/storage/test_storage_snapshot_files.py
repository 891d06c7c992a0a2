"""Snapshot files on disk: crash leftovers are ignored, damage to the current one is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from storage_workload import MEMBERSHIP

from raftkv.core.types import Entry, EntryKind, HardState, SnapshotMeta
from raftkv.storage import DamagedStorage, DurableStore, StorageError
from raftkv.storage.snapshot_files import decode_snapshot, encode_snapshot, snapshot_file_name


def meta(index: int, term: int) -> SnapshotMeta:
    return SnapshotMeta(last_index=index, last_term=term, membership=MEMBERSHIP, membership_index=1)


async def store_with_snapshot(data_dir: Path) -> None:
    """A closed store holding entries 1..10 of term 1 and a snapshot through 5."""
    store = DurableStore.open(data_dir)
    await store.persist(HardState(1, 1), [Entry(1, i, EntryKind.COMMAND) for i in range(1, 11)])
    await store.save_snapshot(meta(5, 1), b"state@5")
    await store.close()


def test_encoding_round_trips_meta_and_data() -> None:
    raw = encode_snapshot(meta(7, 2), b"\x00state\xff")
    assert decode_snapshot(raw, Path("x")) == (meta(7, 2), b"\x00state\xff")


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda raw: raw[: len(raw) // 2], id="truncated"),
        pytest.param(lambda raw: raw[:20] + bytes([raw[20] ^ 1]) + raw[21:], id="bit-flip"),
        pytest.param(lambda raw: b"", id="empty"),
        pytest.param(lambda raw: b"NOTASNAP" + raw[8:], id="bad-magic"),
    ],
)
def test_damaged_encoding_is_a_storage_error(damage) -> None:  # type: ignore[no-untyped-def]
    raw = encode_snapshot(meta(7, 2), b"state" * 10)
    with pytest.raises(StorageError, match="snap-file"):
        decode_snapshot(damage(raw), Path("snap-file"))


async def test_torn_temp_files_and_unrecorded_snapshots_are_ignored_and_removed(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "node"
    await store_with_snapshot(data_dir)
    snapshots = data_dir / "snapshots"
    # A crash while writing a newer snapshot's temp file, and one after its rename but
    # before sqlite recorded it: neither may be used.
    (snapshots / (snapshot_file_name(meta(8, 1)) + ".tmp")).write_bytes(b"RKVSNAP1\x00\x00")
    (snapshots / snapshot_file_name(meta(9, 1))).write_bytes(encode_snapshot(meta(9, 1), b"@9"))

    store = DurableStore.open(data_dir)
    boot, data = store.recover()
    assert (boot.snapshot, data) == (meta(5, 1), b"state@5")
    assert [e.index for e in boot.entries] == [6, 7, 8, 9, 10]
    assert sorted(p.name for p in snapshots.iterdir()) == ["snap-1-5.bin"]
    await store.close()


async def test_damaged_current_snapshot_fails_the_open_naming_the_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    await store_with_snapshot(data_dir)
    current = data_dir / "snapshots" / snapshot_file_name(meta(5, 1))
    current.write_bytes(current.read_bytes()[:-3])
    with pytest.raises(DamagedStorage, match=f"{current} is unreadable"):
        DurableStore.open(data_dir)


async def test_missing_current_snapshot_fails_the_open(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    await store_with_snapshot(data_dir)
    current = data_dir / "snapshots" / snapshot_file_name(meta(5, 1))
    current.unlink()
    with pytest.raises(DamagedStorage, match=f"{current} is missing .*wipe {data_dir} and rejoin"):
        DurableStore.open(data_dir)
