"""Names for the recognisable ways a register history fails to be linearizable.

Each pattern below is a sufficient condition for a violation on its own, so a name is never
given to a history that is in fact linearizable. They are looked for in this order:

- read of a value never written: a read returned a value no write wrote (or every write of
  it started only after the read completed);
- lost write / stale read: a read returned a value v although a write of another value
  completed before the read began, and every write of v completed before that write began
  (so it overwrote v). If no read ever returned that write's value, the acknowledged write
  is lost; otherwise the read is stale;
- duplicated write: a value written once was read, then another value, then the first value
  again, each read completing before the next began: the one write took effect twice. This
  comes after the stale read: when the write had long completed before the other value was
  written, a lagging read is the likelier story than a second application (which happens
  while the write is still being retried, so within its interval).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .operation import Operation

AnomalyKind = Literal[
    "read of a value never written", "duplicated write", "lost write", "stale read"
]


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A named violation and the sentence that explains it with the operations involved.

    `variant` tells apart forms of one kind (a value no write wrote, or one written only
    later); a minimized witness keeps both the kind and the variant of the full history.
    """

    kind: AnomalyKind
    detail: str
    variant: str = ""


def find_anomaly(ops: Sequence[Operation]) -> Anomaly | None:
    """The first recognisable anomaly in one key's history, or None if none is recognised."""
    relevant = sorted((op for op in ops if op.constrains), key=lambda op: (op.invoke, op.finish))
    reads = [op for op in relevant if op.kind == "read"]
    writes_by_value: dict[str | None, list[Operation]] = defaultdict(list)
    for op in relevant:
        if op.kind == "write":
            writes_by_value[op.value].append(op)
    return (
        _never_written(reads, writes_by_value)
        or _overwritten_read(reads, writes_by_value)
        or _duplicated_write(reads, writes_by_value)
    )


def _never_written(
    reads: list[Operation], writes_by_value: dict[str | None, list[Operation]]
) -> Anomaly | None:
    for read in reads:
        if read.value is None:
            continue
        writes = writes_by_value.get(read.value, [])
        if not writes:
            detail = f"{read.describe()} returned {read.value!r}, which no write wrote"
            return Anomaly("read of a value never written", detail, "no write")
        if all(read.precedes(write) for write in writes):
            detail = (
                f"{read.describe()} returned {read.value!r}, which was written only after the "
                f"read completed ({writes[0].describe()})"
            )
            return Anomaly("read of a value never written", detail, "written later")
    return None


def _duplicated_write(
    reads: list[Operation], writes_by_value: dict[str | None, list[Operation]]
) -> Anomaly | None:
    reads_by_value: dict[str | None, list[Operation]] = defaultdict(list)
    for read in reads:
        reads_by_value[read.value].append(read)
    for value, writes in writes_by_value.items():
        seen = reads_by_value.get(value, [])
        if value is None or len(writes) != 1 or len(seen) < 2:
            continue
        first = min(seen, key=lambda read: read.finish)
        last = max(seen, key=lambda read: read.invoke)
        for middle in reads:
            if middle.value in (value, None):
                continue
            if first.precedes(middle) and middle.precedes(last):
                detail = (
                    f"{writes[0].describe()} is the only write of {value!r}, yet reads returned "
                    f"{value!r}, then {middle.value!r}, then {value!r} again: "
                    f"{first.describe()}; {middle.describe()}; {last.describe()}"
                )
                return Anomaly("duplicated write", detail)
    return None


def _overwritten_read(
    reads: list[Operation], writes_by_value: dict[str | None, list[Operation]]
) -> Anomaly | None:
    # The time by which every write of a value had completed; the initial None is "written"
    # before anything else happened.
    settled = {value: max(w.finish for w in writes) for value, writes in writes_by_value.items()}
    settled.setdefault(None, -math.inf)
    read_values = {read.value for read in reads}
    overwriters = [w for writes in writes_by_value.values() for w in writes if w.outcome == "ok"]
    for read in reads:
        settled_at = settled.get(read.value, math.inf)
        for write in overwriters:
            if write.value == read.value or not write.precedes(read):
                continue
            if not settled_at < write.invoke:
                continue
            if write.value not in read_values:
                detail = (
                    f"{write.describe()} was acknowledged but no read ever returned "
                    f"{write.value!r}; {read.describe()} began after it and still returned "
                    f"the older {read.value!r}"
                )
                return Anomaly("lost write", detail)
            detail = (
                f"{read.describe()} returned {read.value!r}, overwritten by "
                f"{write.describe()}, which completed before the read began"
            )
            return Anomaly("stale read", detail)
    return None
