"""Convergence: every node shows the same voters, applied index and state (by `kv_digest`,
and by the maps while they are small), and that state holds every acknowledged write (and,
when `exact`, nothing else). See `raftkv.tf.replicas` and `raftkv.tf.settle`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..context import ExpectationFailed, RunContext
from ..observer import RuleBroken, WaitTimeout
from ..scenario import Expectation
from ..settle import Settled, settle


def missing_writes(settled: Settled, expected: Mapping[str, str], exact: bool) -> str:
    """What the agreed state lacks ('' for nothing): an acknowledged write, or (when `exact`)
    the absence of keys nobody acknowledged."""
    replicas, held = settled.replicas, settled.values
    missing = [key for key, value in expected.items() if held.get(key) != value]
    if missing:
        key = missing[0]
        return (
            f"{replicas.describe()}: {len(missing)} of {len(expected)} acknowledged writes "
            f"missing (first: {key!r} = {expected[key]!r}, found {held.get(key)!r})"
        )
    if not exact:
        return ""
    if replicas.kv is not None:
        extra = sorted(set(replicas.kv) - set(expected))
        if extra:
            return (
                f"{replicas.describe()}: {len(extra)} keys nobody acknowledged "
                f"(first: {extra[0]!r})"
            )
    elif replicas.keys is not None and replicas.keys > len(expected):
        # Every acknowledged key is there (checked above), so the count says it all.
        return f"{replicas.describe()}: {replicas.keys - len(expected)} keys nobody acknowledged"
    return ""


@dataclass(frozen=True, slots=True)
class ConvergenceExpectation(Expectation):
    voters: frozenset[int] | None = None
    """Default: every node of the topology."""
    exact: bool = True
    timeout: float = 15.0
    name: str = "convergence"

    async def evaluate(self, ctx: RunContext) -> None:
        voters = self.voters if self.voters is not None else frozenset(range(ctx.topology.nodes))
        expected = dict(ctx.acknowledged)
        try:
            settled = await settle(
                ctx.observer,
                ctx.clients,
                voters,
                expected,
                self.timeout,
                lambda settled: missing_writes(settled, expected, self.exact),
            )
        except (WaitTimeout, RuleBroken) as failure:
            raise ExpectationFailed(str(failure)) from None
        replicas = settled.replicas
        ctx.fact(
            "converged",
            {
                "voters": sorted(voters),
                "keys": len(expected),
                "applied": replicas.applied,
                "digest": replicas.digest,
            },
        )
