"""Runs a scenario from start to verdict.

Order: deploy, start the clients and the observer, start every expectation, run the
window (`window`: the workloads, then the cooldown, with the expectations' continuous
checks alongside; the first failure ends the run), evaluate every expectation (all
failures reported together), then clean up in reverse order: observer, clients, deployer. Cleanup runs on
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

from .clients import ClientPool
from .context import ExpectationFailed, RunContext, describe_error
from .deployer import Deployer
from .observer import Observer
from .report import INTERRUPTED, PASS, Reporter, RunReport
from .scenario import Expectation, Scenario
from .window import CheckFailedDuringRun, call_each, run_window
from .writes import WriteLog


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
    """Deploy, the window, the evaluation within the run timeout; sets the verdict."""
    report = ctx.report
    budget = asyncio.timeout(scenario.run_timeout)
    try:
        async with budget:
            await _deploy(ctx, stack)
            await _start_expectations(ctx, scenario.expectations)
            await run_window(ctx, scenario)
            report.failures = await _evaluate(ctx, scenario.expectations)
    except TimeoutError as error:
        report.reason = (
            f"run timeout: the scenario did not finish within {scenario.run_timeout:g} s"
            if budget.expired()
            else describe_error(error)
        )
        return
    except CheckFailedDuringRun as error:
        report.reason = describe_error(error)
        report.failures = [report.reason]
        return
    except Exception as error:
        report.reason = describe_error(error)
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
    writes = WriteLog()
    clients = ClientPool(deployer, random.Random(rng.getrandbits(64)), writes=writes)
    observer = Observer(
        topology.names(),
        clients.node,
        interval=scenario.observer.interval,
        request_timeout=scenario.observer.request_timeout,
        incarnation=deployer.incarnation,
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
        writes=writes,
        run_duration=scenario.run_duration,
    )


async def _deploy(ctx: RunContext, stack: contextlib.AsyncExitStack) -> None:
    """Starts the nodes, then the observer (stopped before the clients close)."""
    async with ctx.step(f"deploy {ctx.topology.nodes} nodes") as step:
        endpoints = await ctx.deployer.deploy(ctx.topology)
        step.detail = ", ".join(f"{e.name}@{e.api_addr}" for e in endpoints)
    ctx.endpoints.update({endpoint.name: endpoint for endpoint in endpoints})
    await ctx.observer.start()
    stack.push_async_callback(ctx.observer.stop)


async def _start_expectations(ctx: RunContext, expectations: tuple[Expectation, ...]) -> None:
    """Every expectation begins capturing before any workload runs."""
    await call_each(
        ctx,
        expectations,
        "start",
        lambda name, error: ExpectationFailed(
            f"expectation {name} could not start: {describe_error(error)}"
        ),
    )


async def _evaluate(ctx: RunContext, expectations: tuple[Expectation, ...]) -> list[str]:
    """Evaluates every expectation at once; returns one line per failure."""
    results = await asyncio.gather(
        *(_evaluate_one(ctx, expectation) for expectation in expectations),
        return_exceptions=True,
    )
    failures = []
    for expectation, result in zip(expectations, results, strict=True):
        if isinstance(result, asyncio.CancelledError):
            raise result
        if isinstance(result, BaseException):
            failures.append(f"expectation {expectation.name}: {describe_error(result)}")
    return failures


async def _evaluate_one(ctx: RunContext, expectation: Expectation) -> None:
    async with ctx.step(f"expect {expectation.name}"):
        await expectation.evaluate(ctx)


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
