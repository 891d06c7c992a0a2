"""Which links each partition variant cuts: pure, from the members, the leader and the RNG."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from .leader import minority_size


@dataclass(frozen=True, slots=True)
class CutPlan:
    action: str
    links: tuple[tuple[str, str], ...]  # (source, destination): source's connections to it drop


def plan_cuts(variant: str, members: Sequence[str], leader: str, rng: random.Random) -> CutPlan:
    """The links to cut for `variant` among `members` (at least 3 nodes)."""
    names = sorted(members)
    if len(names) < 3:
        raise ValueError(f"a partition needs at least 3 nodes, got {names}")
    if variant == "isolate-leader":
        rest = [name for name in names if name != leader]
        return CutPlan(f"isolate leader {leader}", _both_ways([leader], rest))
    if variant == "split":
        shuffled = rng.sample(names, len(names))
        minority = sorted(shuffled[: minority_size(len(names))])
        majority = sorted(shuffled[len(minority) :])
        action = f"split {','.join(minority)} | {','.join(majority)}"
        return CutPlan(action, _both_ways(minority, majority))
    if variant == "one-way":
        source, dest = rng.sample(names, 2)
        return CutPlan(f"one-way cut {source} -/-> {dest}", ((source, dest),))
    if variant == "bridge":
        bridge, *rest = rng.sample(names, len(names))
        half = len(rest) // 2
        left, right = sorted(rest[:half]), sorted(rest[half:])
        action = f"bridge {bridge} between {','.join(left)} | {','.join(right)}"
        return CutPlan(action, _both_ways(left, right))
    raise ValueError(f"unknown partition variant {variant!r}")


def _both_ways(side: Sequence[str], other: Sequence[str]) -> tuple[tuple[str, str], ...]:
    links = [(a, b) for a in side for b in other] + [(b, a) for a in side for b in other]
    return tuple(links)
