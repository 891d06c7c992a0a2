"""The chaos workload: form a 3-voter cluster, then run the clients and the nemesis together
for the run's duration (the first failure aborts both; the nemesis heals on the way out).

What comes after (a leader, convergence, the checks, the report) are expectations; see
`expectations`. If the workload itself fails, it still writes the report of what it saw.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from raftkv.tf.concurrency import first_failure
from raftkv.tf.context import RunContext
from raftkv.tf.workloads.bootstrap import bootstrap_cluster

from .report import write_report
from .run import ChaosRun


class ChaosWorkload:
    """A Workload of raftkv.tf.scenario."""

    name = "chaos"

    def __init__(self, chaos: ChaosRun, report_dir: Path, *, wait_timeout: float = 60.0) -> None:
        self.chaos = chaos
        self.report_dir = report_dir
        self.wait_timeout = wait_timeout

    async def run(self, ctx: RunContext) -> None:
        chaos = self.chaos
        chaos.begin()
        try:
            await bootstrap_cluster(ctx, timeout=self.wait_timeout)
            await self._under_faults(ctx)
        except Exception as error:
            chaos.aborted = str(error) or type(error).__name__
            html = await write_report(ctx, chaos, self.report_dir)
            ctx.reporter.note(f"chaos report (run stopped early): {html}")
            raise

    async def _under_faults(self, ctx: RunContext) -> None:
        chaos = self.chaos
        settings = chaos.settings
        what = (
            f"{settings.clients.clients} clients for {settings.duration:g} s under nemesis "
            f"{','.join(settings.kinds)}"
        )
        async with ctx.step(what) as step:
            with first_failure():
                async with asyncio.TaskGroup() as group:
                    # The nemesis first: it draws its schedule's seed before the clients draw.
                    group.create_task(chaos.nemesis.run(ctx), name="nemesis")
                    group.create_task(chaos.clients.run(ctx, settings.duration), name="clients")
            counts = chaos.clients.history.counts()
            step.detail = (
                f"{sum(counts.values())} operations ({counts['ok']} ok, {counts['fail']} fail, "
                f"{counts['info']} info) on {chaos.clients.keys.keys_used} keys; "
                f"{len(chaos.nemesis.events)} faults"
            )
        ctx.fact("chaos_operations", counts)
        ctx.fact("chaos_faults", len(chaos.nemesis.events))
