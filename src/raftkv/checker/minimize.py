"""Shrinking a failing history to a small witness by delta debugging (Zeller & Hildebrandt).

Removing operations from a history that is not linearizable may make it linearizable again,
so every candidate is re-checked; the result is a sub-history on which `still_fails` holds.
The caller picks the predicate: "same named anomaly" keeps the witness telling the same
story as the full history (dropping the write a stale read read from would otherwise turn it
into a "read of a value never written").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .operation import Operation
from .search import Clock

FailurePredicate = Callable[[Sequence[Operation]], bool]


def minimize(
    ops: Sequence[Operation], still_fails: FailurePredicate, *, deadline: float, clock: Clock
) -> tuple[Operation, ...]:
    """A sub-history of `ops` on which `still_fails` holds, as small as time allows.

    Tries to drop chunks of halving size, then single operations until none can go (a
    1-minimal witness). Stops early, with the best witness so far, once `clock()` passes
    `deadline`. `still_fails(ops)` must hold on entry.
    """
    current = list(ops)
    chunk = max(1, len(current) // 2)
    while True:
        shrunk = False
        start = 0
        while start < len(current):
            if clock() > deadline:
                return tuple(current)
            candidate = current[:start] + current[start + chunk :]
            if candidate and still_fails(candidate):
                current = candidate
                shrunk = True
            else:
                start += chunk
        if chunk == 1 and not shrunk:
            return tuple(current)
        chunk = max(1, chunk // 2)
