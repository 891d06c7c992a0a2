"""What a broken invariant looks like: the rule, the observation that broke it, and when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    node: str
    at_s: float
    """When the breaking observation was made, in seconds since the run started."""
    detail: str

    def describe(self) -> str:
        return f"{self.rule} broken at {self.at_s:.2f} s by {self.node}'s /state: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "node": self.node, "at_s": self.at_s, "detail": self.detail}
