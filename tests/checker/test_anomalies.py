"""The checker catches real anomalies: a stale read, a lost write and a duplicated write are
each rejected (by `check_history`, and by the chaos checks where they apply), and a clean
history of the same shape passes everything."""

from __future__ import annotations

from raftkv.checker import Operation, check_history
from raftkv.tf.chaos import check_durability, check_local_reads

KEY = "k"


def write(process: int, value: str, invoke: float, complete: float) -> Operation:
    return Operation(process, "write", KEY, value, invoke, complete, "ok")


def read(process: int, value: str | None, invoke: float, complete: float) -> Operation:
    return Operation(process, "read", KEY, value, invoke, complete, "ok")


def test_a_clean_history_passes_every_check() -> None:
    writes = [write(0, "a", 0, 1), write(1, "b", 2, 3)]
    reads = [read(2, "a", 1.5, 1.8), read(2, "b", 4, 5)]
    verdict = check_history(writes + reads)
    assert verdict.ok, verdict.describe()
    assert check_durability(writes, {KEY: "b"}).ok
    local = check_local_reads(reads, writes)
    assert local.ok and local.facts["stale"] == 0


def test_a_stale_read_is_rejected() -> None:
    # 'b' overwrote 'a' and was seen; a read that begins afterwards returns 'a' again.
    writes = [write(0, "a", 0, 1), write(1, "b", 2, 3)]
    reads = [read(2, "b", 3.5, 3.8), read(3, "a", 4, 5)]
    verdict = check_history(writes + reads)
    assert verdict.status == "violation"
    (key,) = verdict.keys
    assert key.message.startswith("stale read"), key.message
    assert read(3, "a", 4, 5) in key.witness
    # As local reads the same answers are allowed, but counted as stale.
    local = check_local_reads(reads, writes)
    assert local.ok and local.facts["stale"] == 1


def test_a_lost_write_is_rejected() -> None:
    # 'b' was acknowledged, yet a later read and the final state still show 'a'.
    writes = [write(0, "a", 0, 1), write(1, "b", 2, 3)]
    verdict = check_history([*writes, read(2, "a", 4, 5)])
    assert verdict.status == "violation"
    assert verdict.keys[0].message.startswith("lost write"), verdict.keys[0].message
    durability = check_durability(writes, {KEY: "a"})
    assert not durability.ok
    assert "'b'" in durability.problems[0] and "lost" in durability.problems[0]


def test_a_duplicated_write_is_rejected() -> None:
    # 'a' was written once, yet reads saw 'a', then 'b', then 'a' again.
    writes = [write(0, "a", 0, 1), write(1, "b", 0, 1)]
    reads = [read(2, "a", 2, 3), read(2, "b", 4, 5), read(2, "a", 6, 7)]
    verdict = check_history(writes + reads)
    assert verdict.status == "violation"
    assert verdict.keys[0].message.startswith("duplicated write"), verdict.keys[0].message
    assert len(verdict.keys[0].witness) <= len(writes + reads)


def test_a_read_of_a_value_never_written_is_rejected() -> None:
    writes = [write(0, "a", 0, 1)]
    reads = [read(1, "zzz", 2, 3)]
    assert check_history(writes + reads).status == "violation"
    local = check_local_reads(reads, writes)
    assert not local.ok and "zzz" in local.problems[0]
