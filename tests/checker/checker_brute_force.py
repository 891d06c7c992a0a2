"""A checker too slow for anything but tiny histories, and too simple to be wrong.

It tries every subset of the "info" writes and every order of the chosen operations; the
fast checker must agree with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, combinations, permutations

from raftkv.checker import Operation


def brute_force_linearizable(ops: Sequence[Operation]) -> bool:
    """Whether some real-time-respecting order of the operations explains every read."""
    relevant = [op for op in ops if op.constrains]
    required = [op for op in relevant if op.outcome == "ok"]
    optional = [op for op in relevant if op.outcome == "info"]
    subsets = chain.from_iterable(combinations(optional, size) for size in range(len(optional) + 1))
    return any(
        _explains(order) for subset in subsets for order in permutations([*required, *subset])
    )


def _explains(order: Sequence[Operation]) -> bool:
    for later_position, later in enumerate(order):
        if any(later.precedes(earlier) for earlier in order[:later_position]):
            return False
    value: str | None = None
    for op in order:
        if op.kind == "write":
            value = op.value
        elif op.value != value:
            return False
    return True
