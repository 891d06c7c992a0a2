"""One client operation on a read/write register, as a history records it.

A history is what clients saw: when each operation was invoked, when (and whether) it
completed, and what it returned. The checker decides whether some order of the operations,
consistent with real time, explains every result (Herlihy & Wing, "Linearizability", 1990).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

OperationKind = Literal["write", "read"]
Outcome = Literal["ok", "fail", "info"]

_KINDS: frozenset[str] = frozenset({"write", "read"})
_OUTCOMES: frozenset[str] = frozenset({"ok", "fail", "info"})


@dataclass(frozen=True, slots=True)
class Operation:
    """A read or write of one key by one client process.

    `value` is the value written, or for a read the value returned (None = key absent).
    `complete` is None exactly when `outcome` is "info": the client does not know whether the
    operation took effect, so it may take effect any time after `invoke`, or never.
    "fail" means definitely not applied.
    """

    process: int
    kind: OperationKind
    key: str
    value: str | None
    invoke: float
    complete: float | None
    outcome: Outcome

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"operation kind must be 'write' or 'read', not {self.kind!r}")
        if self.outcome not in _OUTCOMES:
            raise ValueError(f"outcome must be 'ok', 'fail' or 'info', not {self.outcome!r}")
        if not math.isfinite(self.invoke):
            raise ValueError(f"invoke time must be finite: {self.describe()}")
        if self.outcome == "info":
            if self.complete is not None:
                raise ValueError(f"an 'info' operation has no completion time: {self.describe()}")
        elif self.complete is None or not math.isfinite(self.complete):
            raise ValueError(
                f"an '{self.outcome}' operation needs a completion time: {self.describe()}"
            )
        elif self.complete < self.invoke:
            raise ValueError(f"operation completes before it is invoked: {self.describe()}")

    @property
    def constrains(self) -> bool:
        """Whether the operation constrains the history at all.

        Failed operations never took effect, and a read whose outcome is unknown returned
        nothing the client could rely on; both are left out of every check.
        """
        return self.outcome == "ok" or (self.outcome == "info" and self.kind == "write")

    @property
    def finish(self) -> float:
        """The completion time, +infinity for an operation whose outcome is unknown."""
        return math.inf if self.complete is None else self.complete

    def precedes(self, other: Operation) -> bool:
        """Whether this operation completed before `other` was invoked (real-time order).

        NB: equal timestamps count as concurrent, so a coarse clock (simulator ticks) can
        only make the checker more lenient, never report a false violation.
        """
        return self.finish < other.invoke

    def describe(self) -> str:
        """One line for reports: `p3 write 'k'='v' [1.0, 2.5] ok`."""
        end = "…" if self.complete is None else f"{self.complete:g}"
        if self.kind == "write":
            action = f"write {self.key!r}={self.value!r}"
        else:
            action = f"read {self.key!r} -> {self.value!r}"
        return f"p{self.process} {action} [{self.invoke:g}, {end}] {self.outcome}"


def validate_processes(ops: Iterable[Operation]) -> None:
    """Raise ValueError unless every process ran its operations one at a time.

    A client process is sequential: its next operation starts after the previous one
    completed, and after an "info" operation it continues under a new process id (its
    pending operation might still take effect at any later time).
    """
    last_by_process: dict[int, Operation] = {}
    for op in sorted(ops, key=lambda op: (op.invoke, op.finish)):
        previous = last_by_process.get(op.process)
        if previous is not None:
            if previous.complete is None:
                raise ValueError(
                    f"process {op.process} continued after an 'info' operation "
                    f"(it must use a new process id): {previous.describe()} then {op.describe()}"
                )
            if previous.complete > op.invoke:
                raise ValueError(
                    f"process {op.process} has overlapping operations: "
                    f"{previous.describe()} and {op.describe()}"
                )
        last_by_process[op.process] = op
