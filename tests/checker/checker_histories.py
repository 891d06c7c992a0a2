"""Short constructors for hand-written histories in tests: w(...) writes, r(...) reads."""

from __future__ import annotations

from raftkv.checker import Operation
from raftkv.checker.operation import Outcome

KEY = "k"


def w(
    process: int, value: str | None, invoke: float, complete: float | None, outcome: Outcome = "ok"
) -> Operation:
    """A write of `value`; `complete=None` makes it an "info" write."""
    outcome = "info" if complete is None else outcome
    return Operation(process, "write", KEY, value, invoke, complete, outcome)


def r(
    process: int, value: str | None, invoke: float, complete: float | None, outcome: Outcome = "ok"
) -> Operation:
    """A read that returned `value`; `complete=None` makes it an "info" read."""
    outcome = "info" if complete is None else outcome
    return Operation(process, "read", KEY, value, invoke, complete, outcome)
