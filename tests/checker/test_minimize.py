"""Witnesses: small sub-histories that fail on their own and tell the same story."""

from __future__ import annotations

import dataclasses
import random

import pytest
from checker_brute_force import brute_force_linearizable
from checker_histories import r, w

from raftkv.checker import Operation, check_key, is_linearizable
from raftkv.checker.bench import WorkloadShape, random_valid_history
from raftkv.checker.minimize import minimize


def valid_history(seed: int) -> list[Operation]:
    return random_valid_history(random.Random(seed), WorkloadShape(ops=200), key="k")


@pytest.mark.parametrize("seed", range(5))
def test_a_corrupted_read_in_a_long_history_gives_a_tiny_witness(seed: int) -> None:
    history = valid_history(seed)
    # Make a late read return the value of the very first write: long overwritten.
    first_value = next(op.value for op in history if op.kind == "write")
    late_read = max(
        (i for i, op in enumerate(history) if op.kind == "read"), key=lambda i: history[i].invoke
    )
    history[late_read] = dataclasses.replace(history[late_read], value=first_value)
    verdict = check_key(history)
    assert verdict.status == "violation"
    assert verdict.message.split(":")[0] in {"stale read", "lost write"}
    assert 3 <= len(verdict.witness) <= 4, verdict.describe()
    assert set(verdict.witness) <= set(history)
    assert not brute_force_linearizable(verdict.witness)


def test_an_unnamed_violation_is_shrunk_to_its_four_operations() -> None:
    history = valid_history(7)
    start = max(op.invoke if op.complete is None else op.complete for op in history) + 1
    base = max(op.process for op in history) + 1
    disagreement = [
        w(base, "x", start, start + 5),
        w(base + 1, "y", start, start + 5),
        r(base + 2, "x", start + 6, start + 7),
        r(base + 2, "y", start + 8, start + 9),
    ]
    verdict = check_key(history + disagreement)
    assert verdict.message.startswith("not linearizable:")
    assert verdict.witness == tuple(disagreement)
    assert not is_linearizable(verdict.witness)


def test_minimize_stops_at_the_deadline_with_what_it_has() -> None:
    history = [w(1, "a", 0, 1), w(1, "b", 2, 3), r(2, "a", 4, 5), r(3, None, -5, -4)]
    calls: list[int] = []

    def still_fails(ops: object) -> bool:
        calls.append(1)
        return True

    assert minimize(history, still_fails, deadline=0.0, clock=lambda: 1.0) == tuple(history)
    assert calls == []


def test_minimize_result_is_one_minimal() -> None:
    history = [w(1, "a", 0, 1), w(1, "b", 2, 3), r(2, "a", 4, 5), r(3, None, -5, -4)]

    def still_fails(ops: object) -> bool:
        return not is_linearizable(list(ops))  # type: ignore[call-overload]

    witness = minimize(history, still_fails, deadline=float("inf"), clock=lambda: 0.0)
    assert not is_linearizable(witness)
    for dropped in range(len(witness)):
        assert is_linearizable(witness[:dropped] + witness[dropped + 1 :])
