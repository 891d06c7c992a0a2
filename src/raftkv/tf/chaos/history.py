"""The history of a chaos run: every client operation, as the checker and the report see it.

Writes and linearizable reads are checked for linearizability together; local reads may be
stale by design, so they are kept apart and only checked for values nobody wrote. Times are
seconds since the start of the run (`RunContext.elapsed()`), like the nemesis events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

from raftkv.checker import Operation
from raftkv.checker.operation import OperationKind

Mode = Literal["write", "linearizable", "local"]
MODES: tuple[Mode, ...] = ("write", "linearizable", "local")


@dataclass(frozen=True, slots=True)
class OpRecord:
    """One client operation: what the checker needs (`op`) plus how it went.

    `ended` is when the client stopped waiting (also for an "info" operation, whose
    `op.complete` is None); `node` is the node of the last attempt; `error` is the last
    error (`code: message`) of an operation that did not succeed.
    """

    op: Operation
    mode: Mode
    node: str
    attempts: int
    ended: float
    error: str | None = None

    @property
    def latency(self) -> float:
        return self.ended - self.op.invoke

    def to_json(self) -> dict[str, Any]:
        op = self.op
        return {
            "process": op.process,
            "mode": self.mode,
            "key": op.key,
            "value": op.value,
            "invoke": op.invoke,
            "complete": op.complete,
            "outcome": op.outcome,
            "ended": self.ended,
            "node": self.node,
            "attempts": self.attempts,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OpRecord:
        """The inverse of `to_json`; raises ValueError naming what is wrong."""
        mode = data.get("mode")
        if mode not in MODES:
            raise ValueError(f"operation mode must be one of {MODES}, not {mode!r}")
        kind: OperationKind = "write" if mode == "write" else "read"
        try:
            op = Operation(
                int(data["process"]),
                kind,
                str(data["key"]),
                data["value"],
                float(data["invoke"]),
                None if data["complete"] is None else float(data["complete"]),
                data["outcome"],
            )
            return cls(
                op,
                cast(Mode, mode),
                str(data["node"]),
                int(data["attempts"]),
                float(data["ended"]),
                data.get("error"),
            )
        except KeyError as missing:
            raise ValueError(f"operation record lacks field {missing}") from None


class History:
    """Operations in completion order; hands out process ids (a new one after an "info")."""

    def __init__(self) -> None:
        self.records: list[OpRecord] = []
        self._next_process = 0

    def new_process(self) -> int:
        process = self._next_process
        self._next_process += 1
        return process

    def add(self, record: OpRecord) -> None:
        self.records.append(record)

    def checked(self) -> list[Operation]:
        """Writes and linearizable reads: the history the linearizability checker gets."""
        return [record.op for record in self.records if record.mode != "local"]

    def writes(self) -> list[Operation]:
        return [record.op for record in self.records if record.mode == "write"]

    def local_reads(self) -> list[Operation]:
        return [record.op for record in self.records if record.mode == "local"]

    def counts(self) -> dict[str, int]:
        """Operations per outcome, e.g. {"ok": 812, "fail": 20, "info": 3}."""
        counts = {"ok": 0, "fail": 0, "info": 0}
        for record in self.records:
            counts[record.op.outcome] += 1
        return counts
