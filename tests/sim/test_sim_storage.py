"""The storage model: the log, durable state versus the write in flight, snapshots."""

from __future__ import annotations

import pytest

from raftkv.core import (
    EMPTY_MEMBERSHIP,
    Entry,
    EntryKind,
    HardState,
    InstallSnapshot,
    Persist,
    SnapshotMeta,
)
from raftkv.sim.log import SimLog
from raftkv.sim.storage import SimStorage


def entries(*pairs: tuple[int, int]) -> list[Entry]:
    return [Entry(term=t, index=i, kind=EntryKind.COMMAND, data=b"%d" % i) for t, i in pairs]


def write(
    hard_state: HardState | None = None,
    entries: list[Entry] | None = None,
    snapshot: InstallSnapshot | None = None,
) -> Persist:
    return Persist(hard_state, entries or [], snapshot)


def meta(index: int, term: int) -> SnapshotMeta:
    return SnapshotMeta(last_index=index, last_term=term, membership=EMPTY_MEMBERSHIP)


def test_append_truncates_from_the_first_new_index_and_returns_what_it_removed() -> None:
    log = SimLog()
    log.append(entries((1, 1), (1, 2), (1, 3)))
    removed = log.append(entries((2, 2)))
    assert [e.describe() for e in removed] == ["1/2:command", "1/3:command"]
    assert log.last_index == 2 and log.term_at(2) == 2 and log.term_at(3) is None


def test_append_with_a_gap_is_refused() -> None:
    log = SimLog()
    with pytest.raises(ValueError, match="does not fit"):
        log.append(entries((1, 2)))


def test_snapshot_install_keeps_the_suffix_after_a_matching_entry() -> None:
    log = SimLog()
    log.append(entries((1, 1), (1, 2), (2, 3)))
    log.install_snapshot(meta(2, 1))
    assert (log.snapshot_index, log.last_index, log.term_at(3)) == (2, 3, 2)


def test_snapshot_install_discards_a_log_that_does_not_match() -> None:
    log = SimLog()
    log.append(entries((1, 1), (1, 2), (2, 3)))
    log.install_snapshot(meta(2, 3))
    assert (log.snapshot_index, log.last_index, log.term_at(2)) == (2, 2, 3)


def test_compact_drops_the_prefix_and_requires_a_matching_entry() -> None:
    log = SimLog()
    log.append(entries((1, 1), (1, 2), (2, 3)))
    with pytest.raises(ValueError):
        log.compact(meta(2, 2))
    log.compact(meta(2, 1))
    assert log.snapshot_index == 2 and [e.index for e in log.entries] == [3]


def test_a_crash_loses_the_write_in_flight_but_keeps_what_completed() -> None:
    disk = SimStorage()
    disk.submit(write(HardState(1, 0), entries((1, 1))))
    disk.complete()
    disk.submit(write(HardState(2, 1), entries((2, 2))))
    with pytest.raises(RuntimeError, match="one Ready in flight"):
        disk.submit(write())
    disk.crash()
    boot = disk.boot_state()
    assert boot.hard_state == HardState(1, 0)
    assert [e.index for e in boot.entries] == [1]


def test_installed_snapshot_becomes_durable_with_its_data() -> None:
    disk = SimStorage()
    disk.persist(write(entries=entries((1, 1))))
    disk.persist(write(snapshot=InstallSnapshot(meta(5, 2), b"state")))
    assert disk.boot_state().snapshot == meta(5, 2)
    assert disk.boot_state().entries == []
    assert disk.snapshot_bytes_for(meta(5, 2)) == b"state"
    assert disk.purged_index == 5


def test_snapshot_bytes_for_an_unknown_snapshot_is_a_driver_error() -> None:
    disk = SimStorage()
    with pytest.raises(RuntimeError, match="durable one is none"):
        disk.snapshot_bytes_for(meta(3, 1))


def test_own_snapshots_compact_the_durable_log_and_never_go_back() -> None:
    disk = SimStorage()
    disk.persist(write(entries=entries((1, 1), (1, 2), (1, 3))))
    disk.save_snapshot(meta(2, 1), b"two")
    disk.save_snapshot(meta(1, 1), b"one")
    assert disk.snapshot_bytes_for(meta(2, 1)) == b"two"
    assert [e.index for e in disk.boot_state().entries] == [3]


def test_a_disk_that_drops_hard_state_keeps_the_old_vote() -> None:
    disk = SimStorage(ack_hard_state=False)
    disk.persist(write(HardState(term=3, vote=2)))
    assert disk.boot_state().hard_state == HardState()
