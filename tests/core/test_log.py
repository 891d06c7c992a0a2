"""RaftLog: offsets, merges, truncation rules and the durability boundaries."""

from __future__ import annotations

import pytest

from raftkv.core import Entry, EntryKind, InvariantViolation, SnapshotMeta
from raftkv.core.log import RaftLog
from raftkv.core.types import EMPTY_MEMBERSHIP


def ents(*terms: int, start: int = 1) -> list[Entry]:
    return [
        Entry(t, start + i, EntryKind.COMMAND, b"d%d" % (start + i)) for i, t in enumerate(terms)
    ]


def log_with(*terms: int, snapshot: tuple[int, int] = (0, 0)) -> RaftLog:
    log = RaftLog(*snapshot)
    for entry in ents(*terms, start=snapshot[0] + 1):
        log.append(entry)
    return log


@pytest.mark.parametrize(
    ("index", "term"),
    [(0, None), (4, 2), (5, 2), (6, 3), (7, None)],
    ids=["compacted", "snapshot", "first", "last", "beyond"],
)
def test_term_at_with_snapshot_offset(index: int, term: int | None) -> None:
    assert log_with(2, 3, snapshot=(4, 2)).term_at(index) == term


@pytest.mark.parametrize(
    ("incoming", "expected_terms", "truncated"),
    [
        (ents(1, 1, 1), [1, 1, 1], None),  # duplicate: nothing changes
        (ents(1, 1, 1, 2, 2), [1, 1, 1, 2, 2], None),  # overlap then extend
        (ents(2, 2, start=3), [1, 1, 2, 2], 3),  # conflict at 3
        (ents(1, 2, start=2), [1, 1, 2], 3),  # first differing index only
        (ents(1, start=2), [1, 1, 1], None),  # an old, shorter copy never truncates
    ],
    ids=["duplicate", "extend", "conflict", "first-difference", "stale-short"],
)
def test_merge_rules(
    incoming: list[Entry], expected_terms: list[int], truncated: int | None
) -> None:
    log = log_with(1, 1, 1)
    assert log.merge(incoming) == truncated
    assert [e.term for e in log.entries] == expected_terms


def test_merge_never_truncates_committed() -> None:
    log = log_with(1, 1, 1)
    log.commit_to(2)
    with pytest.raises(InvariantViolation):
        log.merge(ents(2, start=2))


def test_slice_limits_count_and_bytes_but_returns_one_entry() -> None:
    log = RaftLog()
    for i in range(1, 6):
        log.append(Entry(1, i, EntryKind.COMMAND, b"x" * 10))
    assert len(log.slice(1, 3, 1000)) == 3
    assert len(log.slice(1, 10, 25)) == 2
    assert len(log.slice(1, 10, 1)) == 1


def test_durability_boundaries_follow_ready_and_truncation() -> None:
    log = log_with(1, 1, 1)
    assert [e.index for e in log.take_unstable()] == [1, 2, 3]
    log.merge(ents(2, start=3))  # truncation while the Ready is in flight
    log.on_persisted()
    assert log.durable_index == 2  # old 3 was persisted, but it is not our 3 any more
    assert [e.describe() for e in log.take_unstable()] == ["2/3:command"]
    log.on_persisted()
    assert log.durable_index == 3


def test_committed_entries_wait_for_durability() -> None:
    log = log_with(1, 1)
    log.commit_to(2)
    assert log.take_committed(100) == []
    log.take_unstable()
    log.on_persisted()
    assert [e.index for e in log.take_committed(100)] == [1, 2]


@pytest.mark.parametrize(
    ("meta_term", "kept"),
    [(1, [4, 5]), (9, [])],
    ids=["matching-keeps-suffix", "conflicting-discards"],
)
def test_install_snapshot(meta_term: int, kept: list[int]) -> None:
    log = log_with(1, 1, 1, 1, 1)
    log.install_snapshot(SnapshotMeta(3, meta_term, EMPTY_MEMBERSHIP))
    assert [e.index for e in log.entries] == kept
    assert (log.snapshot_index, log.commit_index, log.applied_index) == (3, 3, 3)
    assert [e.index for e in log.take_unstable()] == kept  # handed to storage again


def test_compact_requires_applied_and_matching_term() -> None:
    log = log_with(1, 2, 2)
    log.commit_to(3)
    log.take_unstable()
    log.on_persisted()
    log.take_committed(100)
    with pytest.raises(ValueError):
        log.compact(2, 1)
    log.compact(2, 2)
    assert (log.snapshot_index, log.snapshot_term, log.last_index) == (2, 2, 3)


def test_term_lookups_for_backtracking() -> None:
    log = log_with(1, 1, 3, 3, 5)
    assert log.last_index_of_term(3) == 4
    assert log.last_index_of_term(2) is None
    assert log.first_index_of_term(3) == 3
    assert log.first_index_of_term(4) == 5
