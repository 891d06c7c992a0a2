"""Whole histories: split by key, a shared time limit, verdict ordering and the summary."""

from __future__ import annotations

from collections.abc import Iterator

from checker_histories import r, w

import raftkv.checker
from raftkv.checker import HistoryVerdict, KeyVerdict, Operation, check_history, check_key


def on(key: str, op: Operation, clients: int = 0) -> Operation:
    """The same operation on another key, by process `op.process + clients`."""
    process = op.process + clients
    return Operation(process, op.kind, key, op.value, op.invoke, op.complete, op.outcome)


STALE = [w(1, "a", 0, 1), w(1, "b", 2, 3), r(2, "b", 4, 5), r(3, "a", 6, 7)]
FINE = [w(4, "a", 0, 1), r(5, "a", 2, 3)]
# Two writes and a read overlapping a chain of decisions: the search needs several steps.
CONCURRENT = [
    w(1, "a", 0, 10),
    w(2, "b", 0, 10),
    w(3, "c", 0, 10),
    r(4, "a", 1, 2),
    r(4, "c", 3, 4),
]


class JumpingClock:
    """A fake clock: reads `start` once, then jumps by `step` on every later call."""

    def __init__(self, start: float = 0.0, step: float = 100.0) -> None:
        self._times: Iterator[float] = (start + step * n for n in range(1_000_000))

    def __call__(self) -> float:
        return next(self._times)


def test_keys_are_checked_separately_and_violations_come_first() -> None:
    history = [on("b-fine", op, 10) for op in FINE] + [on("a-stale", op, 20) for op in STALE]
    history += [on("c-fine", op, 30) for op in FINE]
    verdict = check_history(history)
    assert (verdict.status, verdict.ok) == ("violation", False)
    assert [(v.key, v.status) for v in verdict.keys] == [
        ("a-stale", "violation"),
        ("b-fine", "ok"),
        ("c-fine", "ok"),
    ]
    assert verdict.keys[0].message.startswith("stale read:")


def test_the_same_value_on_two_keys_does_not_interfere() -> None:
    history = [on("x", w(1, "a", 0, 1)), on("y", r(2, None, 2, 3)), on("x", r(3, "a", 2, 3))]
    assert check_history(history).ok


def test_empty_history_is_ok() -> None:
    assert check_history([]) == HistoryVerdict("ok", ())


def test_time_limit_gives_unknown_naming_the_key() -> None:
    verdict = check_key(
        [on("slow-key", op) for op in CONCURRENT], time_limit=5.0, clock=JumpingClock()
    )
    assert verdict.status == "unknown"
    assert verdict.witness == ()
    assert "'slow-key'" in verdict.message and "time limit of 5s" in verdict.message


def test_a_named_anomaly_is_a_violation_even_after_the_time_limit() -> None:
    verdict = check_key(STALE, time_limit=5.0, clock=JumpingClock())
    assert verdict.status == "violation"
    assert verdict.message.startswith("stale read:")
    assert verdict.witness == tuple(STALE)  # no time was left to shrink it


def test_time_limit_is_shared_by_all_keys() -> None:
    # The clock reads 0 for the deadline (5), then 3 in k1's search and 6 in k2's: k2 runs
    # past the shared deadline although it alone took less than 5.
    history = [
        on(key, op, clients) for key, clients in (("k1", 10), ("k2", 20)) for op in CONCURRENT
    ]
    verdict = check_history(history, time_limit=5.0, clock=JumpingClock(step=3.0))
    assert [(v.key, v.status) for v in verdict.keys] == [("k2", "unknown"), ("k1", "ok")]
    assert verdict.status == "unknown"


def test_a_clock_within_the_limit_does_not_interfere() -> None:
    verdict = check_key(CONCURRENT, time_limit=5.0, clock=JumpingClock(step=0.0))
    assert verdict.status == "ok"


def test_violation_beats_unknown_in_the_history_status() -> None:
    history = HistoryVerdict.of(
        [KeyVerdict("u", "unknown", "time"), KeyVerdict("v", "violation", "stale read: x")]
    )
    assert history.status == "violation"
    assert [v.key for v in history.keys] == ["v", "u"]


def test_describe_summarizes_and_lists_witnesses() -> None:
    history = [on("bad", op) for op in STALE] + [on("good", op) for op in FINE]
    lines = check_history(history).describe().splitlines()
    assert lines[0] == "history: violation (2 keys: 1 violation, 0 unknown, 1 ok)"
    assert lines[1].startswith("key 'bad': violation: stale read: ")
    assert lines[2:6] == [f"    {on('bad', op).describe()}" for op in STALE]
    assert lines[6] == "key 'good': ok: linearizable (2 operations)"


def test_public_surface() -> None:
    for name in ("Operation", "check_history", "check_key", "KeyVerdict", "HistoryVerdict"):
        assert name in raftkv.checker.__all__
        assert getattr(raftkv.checker, name) is not None
