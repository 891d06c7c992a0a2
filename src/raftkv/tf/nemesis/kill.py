"""kill -9 and restart: a random node, the leader, or a minority at once."""

from __future__ import annotations

import random

from raftkv.tf.context import RunContext, WorkloadFailed

from .events import FaultEvent
from .leader import current_leader, minority_size


class KillNemesis:
    kind = "kill"

    def __init__(self) -> None:
        self.down: set[str] = set()

    async def prepare(self, ctx: RunContext) -> None:
        return None

    async def inject(self, ctx: RunContext, variant: str, rng: random.Random) -> FaultEvent:
        members = sorted(ctx.observer.nodes)
        if variant == "leader":
            targets = [await current_leader(ctx)]
        elif variant == "minority":
            targets = sorted(rng.sample(members, minority_size(len(members))))
        else:
            targets = [rng.choice(members)]
        for name in targets:
            self.down.add(name)
            await ctx.deployer.stop_node(name, "kill")
        what = "leader " if variant == "leader" else ""
        action = f"kill -9 {what}{' '.join(targets)}"
        return FaultEvent(
            "kill", action, tuple(targets), round(ctx.elapsed(), 3), detail={"variant": variant}
        )

    async def heal(self, ctx: RunContext, event: FaultEvent) -> None:
        for name in event.targets:
            await self._restart(ctx, name)

    async def heal_all(self, ctx: RunContext) -> None:
        for name in sorted(self.down):
            await self._restart(ctx, name)

    async def _restart(self, ctx: RunContext, name: str) -> None:
        if name not in self.down:
            return
        try:
            await ctx.deployer.start_node(name)
        except Exception as error:
            raise WorkloadFailed(f"nemesis kill: {name} did not come back: {error}") from error
        self.down.discard(name)
