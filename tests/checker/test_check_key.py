"""Table-driven verdicts on hand-written single-key histories."""

from __future__ import annotations

import pytest
from checker_brute_force import brute_force_linearizable
from checker_histories import r, w

from raftkv.checker import Operation, check_key

CASES: list[tuple[str, list[Operation], str | None]] = [
    # (id, history, None when linearizable else the expected start of the message)
    ("only-failed-operations", [w(1, "a", 0, 1, "fail"), r(2, "zzz", 0, 1, "fail")], None),
    ("read-of-initial-absent-value", [r(1, None, 0, 1)], None),
    ("sequential-write-then-read", [w(1, "a", 0, 1), r(1, "a", 2, 3)], None),
    (
        "sequential-overwrite",
        [w(1, "a", 0, 1), r(1, "a", 2, 3), w(1, "b", 4, 5), r(1, "b", 6, 7)],
        None,
    ),
    ("read-concurrent-with-write-sees-old", [w(1, "a", 0, 10), r(2, None, 1, 2)], None),
    ("read-concurrent-with-write-sees-new", [w(1, "a", 0, 10), r(2, "a", 1, 2)], None),
    (
        "concurrent-writes-read-a-then-b",
        [w(1, "a", 0, 5), w(2, "b", 0, 5), r(3, "a", 1, 2), r(3, "b", 3, 4)],
        None,
    ),
    (
        "concurrent-writes-read-b-then-a",
        [w(1, "a", 0, 5), w(2, "b", 0, 5), r(3, "b", 1, 2), r(3, "a", 3, 4)],
        None,
    ),
    (
        "concurrent-writes-readers-disagree-afterwards",
        [w(1, "a", 0, 5), w(2, "b", 0, 5), r(3, "a", 6, 7), r(3, "b", 8, 9)],
        "not linearizable",
    ),
    ("equal-timestamps-are-concurrent", [w(1, "a", 0, 1), r(2, None, 1, 2)], None),
    ("info-write-took-effect", [w(1, "a", 0, None), r(2, "a", 5, 6)], None),
    (
        "info-write-never-took-effect",
        [w(1, "a", 0, None), r(2, None, 5, 6), r(2, None, 7, 8)],
        None,
    ),
    (
        "info-write-took-effect-late",
        [w(1, "a", 0, None), r(2, None, 5, 6), r(2, "a", 7, 8)],
        None,
    ),
    (
        "info-write-cannot-be-undone",
        [w(1, "a", 0, None), r(2, "a", 5, 6), r(2, None, 7, 8)],
        "not linearizable",
    ),
    (
        "info-write-overwritten-later",
        [w(1, "a", 0, None), r(2, "a", 1, 2), w(2, "b", 3, 4), r(2, "b", 5, 6)],
        None,
    ),
    ("failed-write-is-never-applied", [w(1, "a", 0, 1, "fail"), r(2, None, 2, 3)], None),
    (
        "read-of-a-failed-writes-value",
        [w(1, "a", 0, 1, "fail"), r(2, "a", 2, 3)],
        "read of a value never written",
    ),
    (
        "failed-and-info-reads-constrain-nothing",
        [r(1, "x", 0, 1, "fail"), r(2, "y", 0, None)],
        None,
    ),
    ("read-of-a-value-never-written", [r(1, "x", 0, 1)], "read of a value never written"),
    (
        "read-of-a-value-written-only-later",
        [r(1, "a", 0, 1), w(2, "a", 2, 3)],
        "read of a value never written",
    ),
    (
        "stale-read",
        [w(1, "a", 0, 1), w(1, "b", 2, 3), r(2, "b", 4, 5), r(3, "a", 6, 7)],
        "stale read",
    ),
    ("lost-write", [w(1, "a", 0, 1), w(1, "b", 2, 3), r(2, "a", 4, 5)], "lost write"),
    ("lost-first-write", [w(1, "a", 0, 1), r(2, None, 2, 3)], "lost write"),
    (
        "duplicated-write-while-retried",
        [
            w(1, "a", 0, 6),
            r(2, "a", 1.5, 2),
            w(3, "b", 2.5, 3),
            r(2, "b", 3.5, 4),
            r(2, "a", 4.5, 5),
        ],
        "duplicated write",
    ),
    (
        "duplicated-info-write",
        [
            w(1, "a", 0, None),
            r(2, "a", 1.5, 2),
            w(3, "b", 2.5, 3),
            r(2, "b", 3.5, 4),
            r(2, "a", 4.5, 5),
        ],
        "duplicated write",
    ),
    (
        "old-value-again-after-its-write-completed-is-a-stale-read",
        [
            w(1, "a", 0, 1),
            r(2, "a", 1.5, 2),
            w(1, "b", 2.5, 3),
            r(2, "b", 3.5, 4),
            r(2, "a", 4.5, 5),
        ],
        "stale read",
    ),
    (
        "same-value-written-twice-is-no-duplicate",
        [
            w(1, "a", 0, 1),
            r(2, "a", 1.5, 2),
            w(1, "b", 2.5, 3),
            r(2, "b", 3.5, 4),
            w(1, "a", 4.5, 5),
            r(2, "a", 5.5, 6),
        ],
        None,
    ),
    (
        "write-of-absent-value-deletes",
        [w(1, "a", 0, 1), w(1, None, 2, 3), r(2, None, 4, 5)],
        None,
    ),
]


@pytest.mark.parametrize(
    ("history", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_verdict(history: list[Operation], expected: str | None) -> None:
    verdict = check_key(history)
    assert verdict.key == "k"
    assert brute_force_linearizable(history) == (expected is None)
    if expected is None:
        assert (verdict.status, verdict.witness) == ("ok", ()), verdict.describe()
        return
    assert verdict.status == "violation"
    assert verdict.message.startswith(expected + ":"), verdict.message
    assert set(verdict.witness) <= set(history)
    assert not brute_force_linearizable(verdict.witness), "the witness must fail on its own"
    assert list(verdict.witness) == sorted(verdict.witness, key=lambda op: (op.invoke, op.finish))


def test_stale_read_witness_keeps_the_overwriting_write_and_both_reads() -> None:
    stale = [w(1, "a", 0, 1), w(1, "b", 2, 3), r(2, "b", 4, 5), r(3, "a", 6, 7)]
    padding = [r(9, None, -20.0 + i, -19.5 + i) for i in range(10)]
    verdict = check_key(padding + stale)
    assert verdict.witness == tuple(stale)
    assert "(witness: 4 of 14 operations)" in verdict.message
