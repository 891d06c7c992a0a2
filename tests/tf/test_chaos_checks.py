"""The chaos end-of-run checks on hand-made histories: durability, local reads and the
linearizability check's verdicts (violation with a witness, unknown naming the key)."""

from __future__ import annotations

import pytest

from raftkv.checker import Operation
from raftkv.tf.chaos import check_durability, check_linearizable, check_local_reads


def op(
    kind: str, value: str | None, invoke: float, complete: float | None, outcome: str = "ok"
) -> Operation:
    return Operation(0, kind, "k", value, invoke, complete, outcome)  # type: ignore[arg-type]


def test_durability_accepts_a_write_overwritten_by_a_later_or_concurrent_write() -> None:
    first = op("write", "a", 0, 1)
    later = op("write", "b", 2, 3)
    concurrent_info = Operation(1, "write", "k", "c", 0.5, None, "info")
    assert check_durability([first, later], {"k": "b"}).ok
    # The unknown write may have taken effect after 'a' and 'b': it explains the final 'c'.
    assert check_durability([first, later, concurrent_info], {"k": "c"}).ok


def test_durability_rejects_a_final_value_written_before_the_acknowledged_write() -> None:
    older = op("write", "a", 0, 1)
    acknowledged = op("write", "b", 2, 3)
    result = check_durability([older, acknowledged], {"k": "a"})
    assert not result.ok
    assert "'b'" in result.problems[0] and "'a'" in result.problems[0]


def test_durability_rejects_a_missing_key_and_ignores_failed_writes() -> None:
    assert not check_durability([op("write", "a", 0, 1)], {}).ok
    failed = op("write", "x", 0, 1, "fail")
    assert check_durability([failed], {}).ok
    # A failed write never explains a final value.
    result = check_durability([op("write", "a", 0, 1), op("write", "x", 2, 3, "fail")], {"k": "x"})
    assert not result.ok


def test_durability_refuses_reads() -> None:
    with pytest.raises(ValueError, match="writes only"):
        check_durability([op("read", "a", 0, 1)], {"k": "a"})


def test_local_reads_may_be_stale_but_not_ahead_of_every_write() -> None:
    writes = [op("write", "a", 0, 1), op("write", "b", 2, 3)]
    assert check_local_reads([op("read", None, 4, 5)], writes).facts["stale"] == 1
    assert check_local_reads([op("read", "a", 0.5, 0.6)], writes).ok
    # 'b' was first written at 2: a read that completed at 1.5 cannot have seen it.
    early = check_local_reads([op("read", "b", 1, 1.5)], writes)
    assert not early.ok and "no write wrote before it" in early.problems[0]
    # Values of failed writes were never written.
    assert not check_local_reads([op("read", "x", 5, 6)], [op("write", "x", 0, 1, "fail")]).ok
    # Reads without an answer are not checked.
    assert check_local_reads([op("read", None, 5, None, "info")], writes).facts["local_reads"] == 0


def test_linearizability_reports_the_witness_of_a_violation() -> None:
    history = [
        Operation(0, "write", "k", "a", 0, 1, "ok"),
        Operation(1, "write", "k", "b", 2, 3, "ok"),
        Operation(2, "read", "k", "a", 4, 5, "ok"),
        Operation(3, "write", "fine", "x", 0, 1, "ok"),
    ]
    result = check_linearizable(history, time_limit=5)
    assert not result.ok
    assert result.summary.startswith("1 of 2 keys")
    (witness,) = result.witnesses
    assert witness.key == "k" and Operation(2, "read", "k", "a", 4, 5, "ok") in witness.ops
    assert "witness for key 'k'" in result.describe()


def test_linearizability_fails_naming_a_key_it_could_not_decide() -> None:
    # A clock that jumps 100 s at every reading: the search runs out of time at once.
    readings = iter(range(0, 10**6, 100))
    history = [Operation(p, "write", "slow", f"v{p}", 0, 10, "ok") for p in range(3)]
    history += [Operation(9, "read", "slow", "v0", 1, 2, "ok")]
    result = check_linearizable(history, time_limit=5, clock=lambda: float(next(readings)))
    assert not result.ok and not result.witnesses
    assert "'slow'" in result.problems[0] and "unknown" in result.problems[0]


def test_linearizability_with_no_operations_fails() -> None:
    assert not check_linearizable([], time_limit=1).ok
