"""The run window of a scenario: workloads, continuous checks, then the cooldown.

Every workload starts at once. The window ends when the last driving workload returns (or,
with none, after `run_duration`); the background workloads are then cancelled, which is
how monitors and nemeses stop (a nemesis heals on its way out). The cooldown follows. From
the start of the window to the end of the cooldown, every expectation's
`check_during_run` is called every `check_interval` seconds; the first failure there, like
the first workload failure, cancels everything else and ends the run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from raftkv.core.errors import RaftKVError

from .concurrency import first_failure
from .context import RunContext, WorkloadFailed, describe_error

if TYPE_CHECKING:
    from .scenario import Expectation, Scenario, Workload


class CheckFailedDuringRun(RaftKVError):
    """An expectation's continuous check failed; the message names it and what it saw."""


async def run_window(ctx: RunContext, scenario: Scenario) -> None:
    """The workloads, then the cooldown, with the continuous checks alongside."""
    with first_failure():
        async with asyncio.TaskGroup() as group:
            checks = group.create_task(
                check_continuously(ctx, scenario.expectations, scenario.check_interval),
                name="continuous checks",
            )
            await run_workloads(ctx, scenario)
            if scenario.cooldown > 0:
                async with ctx.step(f"cooldown {scenario.cooldown:g} s"):
                    await asyncio.sleep(scenario.cooldown)
            checks.cancel()


async def run_workloads(ctx: RunContext, scenario: Scenario) -> None:
    """Runs every workload at once until the window ends; the first failure is raised."""
    with first_failure():
        async with asyncio.TaskGroup() as group:
            background = [
                group.create_task(_run_one(ctx, w), name=w.name) for w in scenario.background
            ]
            driving = [group.create_task(_run_one(ctx, w), name=w.name) for w in scenario.workloads]
            if driving:
                await asyncio.wait(driving)
            else:
                assert scenario.run_duration is not None, "the builder requires a run duration"
                await asyncio.sleep(scenario.run_duration)
            for task in background:
                task.cancel()


async def check_continuously(
    ctx: RunContext, expectations: Sequence[Expectation], interval: float
) -> None:
    """Calls every `check_during_run` each `interval` seconds until cancelled."""
    loop = asyncio.get_running_loop()
    next_check = loop.time() + interval
    while True:
        await asyncio.sleep(max(0.0, next_check - loop.time()))
        next_check = max(next_check + interval, loop.time())
        await call_each(
            ctx,
            expectations,
            "check_during_run",
            lambda name, error: CheckFailedDuringRun(
                f"expectation {name} failed during the run "
                f"(checked at {ctx.elapsed():.2f} s): {describe_error(error)}"
            ),
        )


async def call_each(
    ctx: RunContext,
    expectations: Sequence[Expectation],
    method: str,
    failed: Callable[[str, Exception], Exception],
) -> None:
    """Calls `method` of every expectation in turn; the first error is raised as
    `failed(expectation name, error)`."""
    for expectation in expectations:
        try:
            await getattr(expectation, method)(ctx)
        except Exception as error:
            raise failed(expectation.name, error) from error


async def _run_one(ctx: RunContext, workload: Workload) -> None:
    try:
        await workload.run(ctx)
    except Exception as error:
        raise WorkloadFailed(f"workload {workload.name}: {describe_error(error)}") from error
