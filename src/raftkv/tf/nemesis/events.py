"""What a nemesis did and when: one FaultEvent per injected fault, read live by the report."""

from __future__ import annotations

from dataclasses import dataclass, field

#: The fault kinds `--nemesis` accepts.
KINDS = ("kill", "pause", "partition", "membership")


@dataclass(slots=True)
class FaultEvent:
    """One fault. `started_s` is when it was confirmed in effect; `healed_s` stays None
    until it is healed (a fault never healed is a bug of the nemesis or of the cluster)."""

    nemesis: str
    action: str
    targets: tuple[str, ...]
    started_s: float
    healed_s: float | None = None
    detail: dict[str, object] = field(default_factory=dict)
