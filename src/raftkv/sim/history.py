"""The client oracle's record: every operation with its invocation, completion and outcome.

Times are positions in one counter that every invocation and completion advances, so the
real-time order of the simulation is exact even within one step.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["ok", "fail", "info"]


@dataclass(slots=True)
class OpRecord:
    """One client operation; `complete` and `outcome` are filled when it ends."""

    process: int
    kind: Literal["write", "read"]
    key: str
    value: str | None
    invoke: int
    complete: int | None = None
    outcome: Outcome | None = None


@dataclass(slots=True)
class History:
    ops: list[OpRecord] = field(default_factory=list)
    clock: int = 0

    def invoke(
        self, process: int, kind: Literal["write", "read"], key: str, value: str | None
    ) -> OpRecord:
        self.clock += 1
        op = OpRecord(process, kind, key, value, self.clock)
        self.ops.append(op)
        return op

    def end(self, op: OpRecord, outcome: Outcome, value: str | None = None) -> None:
        """Complete `op`; a read's `value` is what it returned. An info op has no end time."""
        self.clock += 1
        op.outcome = outcome
        op.complete = None if outcome == "info" else self.clock
        if op.kind == "read" and outcome == "ok":
            op.value = value

    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "fail": 0, "info": 0, "open": 0}
        for op in self.ops:
            out[op.outcome or "open"] += 1
        return out

    def to_operations(self) -> list[Any]:
        """The history in `raftkv.checker.Operation`s; operations still open count as info."""
        from raftkv.checker import Operation

        return [
            Operation(
                process=op.process,
                kind=op.kind,
                key=op.key,
                value=op.value,
                invoke=float(op.invoke),
                complete=float(op.complete) if op.complete is not None else None,
                outcome=op.outcome or "info",
            )
            for op in self.ops
        ]
