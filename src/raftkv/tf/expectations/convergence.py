"""Convergence: every node shows the same voters, key/value map and applied index, and the
map holds every acknowledged write (and, when `exact`, nothing else)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..agreement import Outcome, View, converged, keys_everywhere, met, not_yet, voters_everywhere
from ..context import ExpectationFailed, RunContext
from ..observer import WaitTimeout


def convergence(
    view: View, voters: frozenset[int], expected: Mapping[str, str], exact: bool
) -> Outcome[int]:
    """Holds with the common applied index; pending lists every reason at once."""
    same = converged(view)
    outcomes: list[Outcome[Any]] = [
        voters_everywhere(view, voters),
        keys_everywhere(view, expected),
        same,
    ]
    reasons = [outcome.pending for outcome in outcomes if not outcome.holds]
    if not reasons and exact:
        sample = next(state for state in view.values() if state is not None)
        extra = sorted(set(sample.kv or {}) - set(expected))
        if extra:
            reasons.append(f"{len(extra)} keys nobody acknowledged (first: {extra[0]!r})")
    if reasons:
        return not_yet("; ".join(reasons))
    assert same.value is not None, "converged() holds, so it has a value"
    return met(same.value)


@dataclass(frozen=True, slots=True)
class ConvergenceExpectation:
    voters: frozenset[int] | None = None
    """Default: every node of the topology."""
    exact: bool = True
    timeout: float = 15.0
    name: str = "convergence"

    async def check(self, ctx: RunContext) -> None:
        voters = self.voters if self.voters is not None else frozenset(range(ctx.topology.nodes))
        expected = dict(ctx.acknowledged)
        what = (
            f"voters {sorted(voters)}, the {len(expected)} acknowledged keys and one "
            "applied index on every node"
        )
        try:
            applied = await ctx.observer.wait_for(
                lambda view: convergence(view, voters, expected, self.exact),
                self.timeout,
                what,
                needs_kv=True,
            )
        except WaitTimeout as timeout:
            raise ExpectationFailed(str(timeout)) from None
        ctx.fact("converged", {"voters": sorted(voters), "keys": len(expected), "applied": applied})
