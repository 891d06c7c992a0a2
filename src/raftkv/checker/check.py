"""Checking histories key by key, with a time limit and minimized witnesses.

Linearizability is local (P-compositional, Herlihy & Wing 1990, Theorem 1): a history is
linearizable iff its restriction to every object is, so each key is checked on its own.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence

from .anomaly import Anomaly, find_anomaly
from .minimize import FailurePredicate, minimize
from .operation import Operation, validate_processes
from .search import Clock, TimeLimitReached, is_linearizable
from .verdict import HistoryVerdict, KeyVerdict

_MINIMIZE_BUDGET = 1.0
"""Seconds that shrinking the witness of one violating key may take (at most the time limit).

It comes on top of the time limit, which bounds the search: a violation found just before
the deadline still gets a small witness, and one found late does not starve the others."""


def check_key(
    ops: Sequence[Operation], time_limit: float = 10.0, *, clock: Clock = time.monotonic
) -> KeyVerdict:
    """Check the history of one key (a register whose initial value is None).

    `time_limit` (seconds of `clock`) bounds the search; on a violation, shrinking the
    witness may take up to one more second.
    """
    if not ops:
        raise ValueError("check_key needs at least one operation (it names the key)")
    keys = sorted({op.key for op in ops})
    if len(keys) > 1:
        raise ValueError(f"check_key needs the operations of one key, got keys {keys}")
    _require_positive(time_limit)
    validate_processes(ops)
    return _check_one_key(ops, clock() + time_limit, time_limit, clock)


def check_history(
    ops: Sequence[Operation], time_limit: float = 60.0, *, clock: Clock = time.monotonic
) -> HistoryVerdict:
    """Check every key of a history; `time_limit` is shared by all keys.

    Keys still unchecked when the time is up are reported "unknown", unless a recognisable
    anomaly proves their violation anyway.
    """
    _require_positive(time_limit)
    validate_processes(ops)
    deadline = clock() + time_limit
    by_key: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        by_key[op.key].append(op)
    verdicts = [_check_one_key(by_key[key], deadline, time_limit, clock) for key in sorted(by_key)]
    return HistoryVerdict.of(verdicts)


def _require_positive(time_limit: float) -> None:
    if not time_limit > 0:
        raise ValueError(f"time_limit must be a positive number of seconds, not {time_limit!r}")


def _check_one_key(
    ops: Sequence[Operation], deadline: float, time_limit: float, clock: Clock
) -> KeyVerdict:
    key = ops[0].key
    relevant = [op for op in ops if op.constrains]
    try:
        if is_linearizable(relevant, deadline=deadline, clock=clock):
            return KeyVerdict(key, "ok", f"linearizable ({len(relevant)} operations)")
    except TimeLimitReached:
        # A recognisable anomaly is a violation on its own, whatever the search had to say.
        if find_anomaly(relevant) is None:
            message = (
                f"time limit of {time_limit:g}s reached while checking key {key!r} "
                f"({len(relevant)} operations): linearizability unknown"
            )
            return KeyVerdict(key, "unknown", message)
    shrink_deadline = clock() + min(_MINIMIZE_BUDGET, time_limit)
    witness = minimize(
        relevant,
        _failure_predicate(relevant, shrink_deadline, clock),
        deadline=shrink_deadline,
        clock=clock,
    )
    witness = tuple(sorted(witness, key=lambda op: (op.invoke, op.finish)))
    return KeyVerdict(key, "violation", _violation_message(witness, len(relevant)), witness)


def _failure_predicate(
    relevant: Sequence[Operation], deadline: float, clock: Clock
) -> FailurePredicate:
    """What a witness must keep showing: the same named anomaly, or an unnamed violation."""
    anomaly = find_anomaly(relevant)
    if anomaly is not None:
        expected = (anomaly.kind, anomaly.variant)

        def shows_same_anomaly(sub: Sequence[Operation]) -> bool:
            found = find_anomaly(sub)
            return found is not None and (found.kind, found.variant) == expected

        return shows_same_anomaly

    def fails_without_a_name(sub: Sequence[Operation]) -> bool:
        # An anomaly appearing while shrinking is an artefact (dropping the only write of a
        # value makes any read of it "never written"), not what went wrong.
        if find_anomaly(sub) is not None:
            return False
        try:
            return not is_linearizable(sub, deadline=deadline, clock=clock)
        except TimeLimitReached:
            return False  # unproven: keep the operations that were to be removed

    return fails_without_a_name


def _violation_message(witness: Sequence[Operation], checked: int) -> str:
    anomaly: Anomaly | None = find_anomaly(witness)
    size = f"(witness: {len(witness)} of {checked} operations)"
    if anomaly is None:
        return f"not linearizable: no order of the witness operations explains every result {size}"
    return f"{anomaly.kind}: {anomaly.detail} {size}"
