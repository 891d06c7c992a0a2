"""The shape every nemesis has: inject one fault, heal it, heal whatever is left."""

from __future__ import annotations

import random
from typing import Protocol

from raftkv.tf.context import RunContext

from .events import FaultEvent


class Nemesis(Protocol):
    kind: str

    async def prepare(self, ctx: RunContext) -> None:
        """Called once at the start of a run (e.g. removes what a crashed run left)."""
        ...

    async def inject(self, ctx: RunContext, variant: str, rng: random.Random) -> FaultEvent:
        """Injects one fault and returns its event once the fault is confirmed in effect."""
        ...

    async def heal(self, ctx: RunContext, event: FaultEvent) -> None:
        """Undoes `event`'s fault; raises WorkloadFailed when it cannot."""
        ...

    async def heal_all(self, ctx: RunContext) -> None:
        """Undoes every fault still in effect (end of run, cancellation)."""
        ...
