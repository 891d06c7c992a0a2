"""The end-of-run checks of a chaos run, as pure functions of the history and final state.

(a) linearizability of writes and linearizable reads, per key, with a time limit;
(b) durability: every acknowledged write is in the final state or overwritten by a write
    that may have come after it;
(c) convergence (a wait on the observer; see `expectations`);
(d) local reads return only values some write (ok or info) wrote; stale ones are counted.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from raftkv.checker import Operation, check_history
from raftkv.checker.search import Clock

LINEARIZABILITY = "linearizability"
DURABILITY = "durability"
CONVERGENCE = "convergence"
LOCAL_READS = "local-reads"
CHECK_NAMES = (LINEARIZABILITY, DURABILITY, CONVERGENCE, LOCAL_READS)

_MAX_LISTED = 10
"""Failures listed by name in a result; the rest are counted."""


@dataclass(frozen=True, slots=True)
class Witness:
    """The smallest failing sub-history found for one key."""

    key: str
    message: str
    ops: tuple[Operation, ...]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check: `summary` is one line, `problems` one line each."""

    name: str
    ok: bool
    summary: str
    problems: tuple[str, ...] = ()
    witnesses: tuple[Witness, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The summary, then the problems (and witness operations) one per line."""
        lines = [self.summary, *self.problems]
        for witness in self.witnesses:
            lines.append(f"witness for key {witness.key!r}:")
            lines += [f"    {op.describe()}" for op in witness.ops]
        return "\n".join(lines)


def check_linearizable(
    ops: Sequence[Operation], time_limit: float, *, clock: Clock = time.monotonic
) -> CheckResult:
    """(a): every key linearizable; a key the time limit left unknown fails by name."""
    if not ops:
        return CheckResult(LINEARIZABILITY, False, "no operation was recorded: nothing checked")
    verdict = check_history(ops, time_limit, clock=clock)
    bad = [key for key in verdict.keys if key.status != "ok"]
    witnesses = tuple(
        Witness(key.key, key.message, key.witness) for key in bad if key.status == "violation"
    )
    counted = f"{len(verdict.keys)} keys, {len(ops)} operations"
    if not bad:
        return CheckResult(LINEARIZABILITY, True, f"linearizable ({counted})")
    problems = tuple(f"key {key.key!r}: {key.status}: {key.message}" for key in bad)
    summary = f"{len(bad)} of {len(verdict.keys)} keys not shown linearizable ({counted})"
    return CheckResult(LINEARIZABILITY, False, summary, problems, witnesses)


def check_durability(writes: Sequence[Operation], final: Mapping[str, str]) -> CheckResult:
    """(b): for each acknowledged write w of key k, the final value of k is w's value or that
    of another ok or info write of k that may have taken effect after w (it was invoked
    before w completed... or later: it did not complete before w was invoked)."""
    by_key: dict[str, list[Operation]] = defaultdict(list)
    for write in writes:
        if write.kind != "write":
            raise ValueError(f"durability checks writes only, got {write.describe()}")
        if write.outcome != "fail":
            by_key[write.key].append(write)
    lost = []
    acknowledged = 0
    for key, candidates in sorted(by_key.items()):
        final_value = final.get(key)
        finals = [w for w in candidates if w.value == final_value]
        for write in candidates:
            if write.outcome != "ok":
                continue
            acknowledged += 1
            if not any(other is write or not other.precedes(write) for other in finals):
                lost.append(f"{write.describe()} is lost: the final value is {final_value!r}")
    summary = f"{acknowledged} acknowledged writes on {len(by_key)} keys"
    if not lost:
        return CheckResult(DURABILITY, True, f"no acknowledged write lost ({summary})")
    return CheckResult(
        DURABILITY, False, f"{len(lost)} acknowledged writes lost ({summary})", _listed(lost)
    )


def check_local_reads(reads: Sequence[Operation], writes: Sequence[Operation]) -> CheckResult:
    """(d): a local read may be stale, but its value must be one some ok or info write wrote,
    and that write must have begun before the read completed."""
    began: dict[tuple[str, str | None], float] = {}
    settled: dict[tuple[str, str | None], float] = {}
    for write in writes:
        if write.outcome == "fail":
            continue
        slot = (write.key, write.value)
        began[slot] = min(began.get(slot, math.inf), write.invoke)
        settled[slot] = max(settled.get(slot, -math.inf), write.finish)
    acknowledged: dict[str, list[Operation]] = defaultdict(list)
    for write in writes:
        if write.outcome == "ok":
            acknowledged[write.key].append(write)
    invented, stale, checked = [], 0, 0
    for read in reads:
        if read.outcome != "ok":
            continue
        checked += 1
        if read.value is not None and not began.get((read.key, read.value), math.inf) < read.finish:
            invented.append(f"{read.describe()} returned a value no write wrote before it")
        elif _is_stale(read, settled, acknowledged[read.key]):
            stale += 1
    facts = {"local_reads": checked, "stale": stale}
    summary = f"{checked} local reads, {stale} stale (allowed)"
    if not invented:
        return CheckResult(LOCAL_READS, True, summary, facts=facts)
    summary = f"{len(invented)} local reads returned values never written; {summary}"
    return CheckResult(LOCAL_READS, False, summary, _listed(invented), facts=facts)


def _is_stale(
    read: Operation,
    settled: Mapping[tuple[str, str | None], float],
    acknowledged: Sequence[Operation],
) -> bool:
    """Whether an acknowledged write of the read's key (`acknowledged`), of another value,
    completed before the read began and began after every write of the value read had
    completed (so it overwrote that value)."""
    settled_at = settled.get((read.key, read.value), -math.inf if read.value is None else math.inf)
    return any(
        write.value != read.value and write.precedes(read) and settled_at < write.invoke
        for write in acknowledged
    )


def _listed(lines: Sequence[str]) -> tuple[str, ...]:
    shown = tuple(lines[:_MAX_LISTED])
    if len(lines) > _MAX_LISTED:
        shown += (f"... and {len(lines) - _MAX_LISTED} more",)
    return shown
