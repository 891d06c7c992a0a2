"""What the checker concludes, per key and for a whole history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .operation import Operation

Status = Literal["ok", "violation", "unknown"]

_RANK: dict[Status, int] = {"violation": 0, "unknown": 1, "ok": 2}


@dataclass(frozen=True, slots=True)
class KeyVerdict:
    """The verdict on one key's history.

    "unknown" means the time limit was hit; callers treat it as a failure naming the key.
    For a violation, `witness` is a small sub-history that is itself not linearizable.
    """

    key: str
    status: Status
    message: str
    witness: tuple[Operation, ...] = ()

    def describe(self) -> str:
        """The verdict line, followed by the witness operations one per line."""
        lines = [f"key {self.key!r}: {self.status}: {self.message}"]
        lines += [f"    {op.describe()}" for op in self.witness]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class HistoryVerdict:
    """The verdicts on every key of a history, violations and unknowns first."""

    status: Status
    keys: tuple[KeyVerdict, ...]

    @classmethod
    def of(cls, verdicts: list[KeyVerdict]) -> HistoryVerdict:
        """Collect per-key verdicts; the worst one decides the history's status."""
        ordered = tuple(sorted(verdicts, key=lambda v: (_RANK[v.status], v.key)))
        status: Status = ordered[0].status if ordered else "ok"
        return cls(status=status, keys=ordered)

    @property
    def ok(self) -> bool:
        """Whether every key is linearizable."""
        return self.status == "ok"

    def describe(self) -> str:
        """A multi-line summary: counts first, then each key with any witness."""
        counts = {status: 0 for status in _RANK}
        for verdict in self.keys:
            counts[verdict.status] += 1
        summary = ", ".join(f"{counts[status]} {status}" for status in _RANK)
        lines = [f"history: {self.status} ({len(self.keys)} keys: {summary})"]
        lines += [verdict.describe() for verdict in self.keys]
        return "\n".join(lines)
