"""NemesisWorkload: quiet, inject, hold, heal, until the duration is over; heals on exit."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

from raftkv.tf.context import RunContext, WorkloadFailed

from .base import Nemesis
from .events import KINDS, FaultEvent
from .pause import min_pause_s
from .registry import NEMESES
from .schedule import PlannedFault, check_window, next_fault
from .support import unsupported_kinds


class NemesisWorkload:
    """Injects faults of `kinds` for `duration` seconds (a Workload of raftkv.tf.scenario).

    Kinds this deployer cannot inject land in `skipped` with the reason. `events` grows
    as faults happen. Every fault is healed before `run` returns or is cancelled."""

    name = "nemesis"
    background = True
    """In a scenario of its own, the runner stops it when the driving workloads are done."""

    def __init__(
        self,
        kinds: Sequence[str],
        *,
        duration: float,
        quiet: tuple[float, float] = (1.0, 3.0),
        hold: tuple[float, float] = (1.0, 4.0),
    ) -> None:
        unknown = [kind for kind in kinds if kind not in KINDS]
        if unknown or not kinds:
            raise ValueError(f"nemesis kinds must be among {', '.join(KINDS)}; got {list(kinds)}")
        if duration <= 0:
            raise ValueError(f"nemesis duration must be positive, got {duration}")
        check_window("quiet", quiet)
        check_window("hold", hold)
        self.kinds = tuple(dict.fromkeys(kinds))
        self.duration = duration
        self.quiet = quiet
        self.hold = hold
        self.events: list[FaultEvent] = []
        self.skipped: dict[str, str] = {}
        self._nemeses: dict[str, Nemesis] = {}

    async def run(self, ctx: RunContext) -> None:
        rng = random.Random(ctx.rng.getrandbits(64))
        reasons = await asyncio.to_thread(unsupported_kinds, ctx.deployer)
        self.skipped = {kind: reasons[kind] for kind in self.kinds if kind in reasons}
        for kind, reason in self.skipped.items():
            ctx.reporter.note(f"nemesis {kind} skipped: {reason}")
        runnable = [kind for kind in self.kinds if kind not in self.skipped]
        self._nemeses = {kind: NEMESES[kind](ctx.deployer) for kind in runnable}
        if not runnable:
            return
        try:
            for nemesis in self._nemeses.values():
                await nemesis.prepare(ctx)
            await self._loop(ctx, rng, runnable)
        finally:
            await asyncio.shield(self._heal_all(ctx))

    async def _loop(self, ctx: RunContext, rng: random.Random, runnable: list[str]) -> None:
        end = asyncio.get_running_loop().time() + self.duration
        while True:
            planned = next_fault(rng, runnable, self.quiet, self.hold)
            if asyncio.get_running_loop().time() + planned.quiet_s >= end:
                return
            await asyncio.sleep(planned.quiet_s)
            await self._one_fault(ctx, rng, planned)

    async def _one_fault(self, ctx: RunContext, rng: random.Random, planned: PlannedFault) -> None:
        nemesis = self._nemeses[planned.kind]
        event = await nemesis.inject(ctx, planned.variant, rng)
        self.events.append(event)
        ctx.reporter.note(f"{event.started_s:7.2f}s nemesis: {event.action}")
        hold_s = planned.hold_s
        if planned.kind == "pause":
            hold_s = max(hold_s, min_pause_s(ctx))
        await asyncio.sleep(hold_s)
        await nemesis.heal(ctx, event)
        event.healed_s = round(ctx.elapsed(), 3)
        ctx.reporter.note(f"{event.healed_s:7.2f}s nemesis: healed {event.action}")

    async def _heal_all(self, ctx: RunContext) -> None:
        failures: list[str] = []
        for nemesis in self._nemeses.values():
            try:
                await nemesis.heal_all(ctx)
            except Exception as error:  # heal the others before failing the run
                failures.append(f"{nemesis.kind}: {error}")
        now = round(ctx.elapsed(), 3)
        for event in self.events:
            if event.healed_s is None and not failures:
                event.healed_s = now
        if failures:
            raise WorkloadFailed("nemesis could not heal: " + "; ".join(failures))
