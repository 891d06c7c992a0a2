"""Runs a scenario from start to verdict.

Order: deploy, start the clients and the observer, run the workloads concurrently (the
first failure cancels the others), evaluate every expectation (all failures reported
together), then clean up in reverse order: observer, clients, deployer. Cleanup runs on
success, failure, run timeout and cancellation (Ctrl-C), and the deployer leaves no
process behind. A failed run keeps the deployer's artifacts and prints the last
observation of every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

from raftkv.core.errors import RaftKVError

from .clients import ClientPool
from .concurrency import first_failure
from .context import RunContext, WorkloadFailed
from .deployer import Deployer
from .observer import Observer
from .report import INTERRUPTED, PASS, Reporter, RunReport
from .scenario import Expectation, Scenario, Workload


def new_report(scenario: Scenario, seed: int, settings: dict[str, Any] | None = None) -> RunReport:
    """The report a run fills in; `settings` adds scenario options to the printed ones."""
    return RunReport(scenario.name, seed, settings={**_settings(scenario), **(settings or {})})


async def run_scenario(
    scenario: Scenario, report: RunReport, *, reporter: Reporter | None = None
) -> RunReport:
    """Runs `scenario` once, filling `report` (also when cancelled); every random choice
    of the framework draws on `report.seed`."""
    reporter = reporter or Reporter()
    reporter.started(report)
    started = time.monotonic()
    try:
        await _run(scenario, random.Random(report.seed), report, reporter, started)
    except asyncio.CancelledError:
        report.verdict = INTERRUPTED
        report.reason = "interrupted; every node was stopped"
        raise
    finally:
        report.total_s = round(time.monotonic() - started, 3)
        reporter.finished(report)
    return report


async def _run(
    scenario: Scenario, rng: random.Random, report: RunReport, reporter: Reporter, started: float
) -> None:
    deployer = scenario.deployer_factory()
    ctx = _context(scenario, deployer, rng, report, reporter, started)
    try:
        async with contextlib.AsyncExitStack() as stack:
            stack.push_async_callback(deployer.cleanup)
            stack.push_async_callback(ctx.clients.close)
            try:
                await _execute(scenario, ctx, stack)
            finally:
                _record_observations(ctx, report, started)
                if report.verdict != PASS:
                    deployer.keep_artifacts()
                    if report.last_observations:
                        reporter.observations(report.last_observations)
    finally:
        report.deployer = deployer.describe()


async def _execute(scenario: Scenario, ctx: RunContext, stack: contextlib.AsyncExitStack) -> None:
    """Deploy, workloads, expectations within the run timeout; sets the verdict."""
    report = ctx.report
    budget = asyncio.timeout(scenario.run_timeout)
    try:
        async with budget:
            await _deploy(ctx, stack)
            await _run_workloads(ctx, scenario.workloads)
            report.failures = await _check_expectations(ctx, scenario.expectations)
    except TimeoutError as error:
        report.reason = (
            f"run timeout: the scenario did not finish within {scenario.run_timeout:g} s"
            if budget.expired()
            else _describe(error)
        )
        return
    except Exception as error:
        report.reason = _describe(error)
        return
    if report.failures:
        report.reason = f"{len(report.failures)} expectation(s) failed"
    else:
        report.verdict = PASS


def _context(
    scenario: Scenario,
    deployer: Deployer,
    rng: random.Random,
    report: RunReport,
    reporter: Reporter,
    started: float,
) -> RunContext:
    """The run's context; nothing starts yet (clients connect on first use)."""
    topology = scenario.topology
    clients = ClientPool(deployer, random.Random(rng.getrandbits(64)))
    observer = Observer(
        topology.names(),
        clients.node,
        interval=scenario.observer.interval,
        request_timeout=scenario.observer.request_timeout,
    )
    return RunContext(
        topology=topology,
        deployer=deployer,
        endpoints={},
        observer=observer,
        clients=clients,
        rng=rng,
        report=report,
        reporter=reporter,
        started=started,
    )


async def _deploy(ctx: RunContext, stack: contextlib.AsyncExitStack) -> None:
    """Starts the nodes, then the observer (stopped before the clients close)."""
    async with ctx.step(f"deploy {ctx.topology.nodes} nodes") as step:
        endpoints = await ctx.deployer.deploy(ctx.topology)
        step.detail = ", ".join(f"{e.name}@{e.api_addr}" for e in endpoints)
    ctx.endpoints.update({endpoint.name: endpoint for endpoint in endpoints})
    await ctx.observer.start()
    stack.push_async_callback(ctx.observer.stop)


async def _run_workloads(ctx: RunContext, workloads: tuple[Workload, ...]) -> None:
    """Runs every workload at once; the first failure cancels the rest and is raised."""

    async def run_one(workload: Workload) -> None:
        try:
            await workload.run(ctx)
        except Exception as error:
            raise WorkloadFailed(f"workload {workload.name}: {_describe(error)}") from error

    with first_failure():
        async with asyncio.TaskGroup() as group:
            for workload in workloads:
                group.create_task(run_one(workload), name=workload.name)


async def _check_expectations(ctx: RunContext, expectations: tuple[Expectation, ...]) -> list[str]:
    """Evaluates every expectation at once; returns one line per failure."""
    results = await asyncio.gather(
        *(_check_one(ctx, expectation) for expectation in expectations), return_exceptions=True
    )
    failures = []
    for expectation, result in zip(expectations, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, BaseException):
            failures.append(f"expectation {expectation.name}: {_describe(result)}")
    return failures


async def _check_one(ctx: RunContext, expectation: Expectation) -> None:
    async with ctx.step(f"expect {expectation.name}"):
        await expectation.check(ctx)


def _record_observations(ctx: RunContext, report: RunReport, started: float) -> None:
    """The last observation of every node and the history of state changes."""
    latest = ctx.observer.latest
    report.last_observations = [latest[name].summary() for name in ctx.names if name in latest]
    report.history = ctx.observer.transitions(started)


def _settings(scenario: Scenario) -> dict[str, Any]:
    settings = scenario.topology.settings
    return {
        "nodes": scenario.topology.nodes,
        "heartbeat_ms": settings.heartbeat_interval_ms,
        "election_ms": f"{settings.election_timeout_min_ms}-{settings.election_timeout_max_ms}",
    }


def _describe(error: BaseException) -> str:
    """Our own errors say what happened; anything else also needs its type."""
    text = str(error)
    if isinstance(error, RaftKVError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
