"""The fault schedule: which kind, variant and timings come next, drawn from one seeded RNG.

Pure (no I/O): the same seed gives the same sequence of choices, so a run's schedule
reproduces from its printed seed. The targets (which node is leader) depend on the live
cluster and are drawn from the same RNG when the fault is injected.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

#: The variants of each kind; a nemesis interprets its own.
VARIANTS: dict[str, tuple[str, ...]] = {
    "kill": ("random", "leader", "minority"),
    "pause": ("random", "leader"),
    "partition": ("isolate-leader", "split", "one-way", "bridge"),
    "membership": ("replace-voter", "transfer-leader"),
}


@dataclass(frozen=True, slots=True)
class PlannedFault:
    kind: str
    variant: str
    quiet_s: float
    hold_s: float


def next_fault(
    rng: random.Random,
    kinds: Sequence[str],
    quiet: tuple[float, float],
    hold: tuple[float, float],
) -> PlannedFault:
    """Draws the next fault: the order of draws is part of the reproducibility contract."""
    if not kinds:
        raise ValueError("no nemesis kind to schedule")
    quiet_s = rng.uniform(*quiet)
    kind = rng.choice(list(kinds))
    variant = rng.choice(VARIANTS[kind])
    hold_s = rng.uniform(*hold)
    return PlannedFault(kind, variant, round(quiet_s, 3), round(hold_s, 3))


def check_window(name: str, window: tuple[float, float]) -> None:
    low, high = window
    if not 0 <= low <= high:
        raise ValueError(f"{name} must be (min, max) seconds with 0 <= min <= max, got {window}")
