"""SIGSTOP and SIGCONT of a random node or the leader, long enough to be replaced."""

from __future__ import annotations

import random
from typing import Protocol, runtime_checkable

from raftkv.tf.context import RunContext, WorkloadFailed

from .events import FaultEvent
from .leader import current_leader


@runtime_checkable
class Pausing(Protocol):
    """Deployers that can freeze a node (LocalDeployer, ComposeDeployer)."""

    async def pause_node(self, name: str) -> None: ...

    async def resume_node(self, name: str) -> None: ...


def min_pause_s(ctx: RunContext) -> float:
    """A paused leader is replaced only after its followers' election timeout: hold at
    least twice the maximum so that the election can finish."""
    return 2 * ctx.topology.settings.election_timeout_max_ms / 1000


class PauseNemesis:
    kind = "pause"

    def __init__(self) -> None:
        self.paused: set[str] = set()

    async def prepare(self, ctx: RunContext) -> None:
        return None

    async def inject(self, ctx: RunContext, variant: str, rng: random.Random) -> FaultEvent:
        deployer = self._deployer(ctx)
        if variant == "leader":
            target = await current_leader(ctx)
        else:
            target = rng.choice(sorted(ctx.observer.nodes))
        self.paused.add(target)
        await deployer.pause_node(target)
        what = "leader " if variant == "leader" else ""
        verb = getattr(deployer, "pause_verb", "SIGSTOP")
        detail: dict[str, object] = {"variant": variant, "min_hold_s": min_pause_s(ctx)}
        return FaultEvent(
            "pause", f"{verb} {what}{target}", (target,), round(ctx.elapsed(), 3), detail=detail
        )

    async def heal(self, ctx: RunContext, event: FaultEvent) -> None:
        for name in event.targets:
            await self._resume(ctx, name)

    async def heal_all(self, ctx: RunContext) -> None:
        for name in sorted(self.paused):
            await self._resume(ctx, name)

    async def _resume(self, ctx: RunContext, name: str) -> None:
        if name not in self.paused:
            return
        try:
            await self._deployer(ctx).resume_node(name)
        except Exception as error:
            raise WorkloadFailed(f"nemesis pause: could not resume {name}: {error}") from error
        self.paused.discard(name)

    @staticmethod
    def _deployer(ctx: RunContext) -> Pausing:
        if not isinstance(ctx.deployer, Pausing):
            raise WorkloadFailed(f"nemesis pause: {type(ctx.deployer).__name__} cannot pause nodes")
        return ctx.deployer
