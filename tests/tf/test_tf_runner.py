"""The runner: concurrency, abort on first failure, all expectation failures, run timeout,
cancellation, and cleanup in reverse order with no process left behind."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from rich.console import Console
from tf_fakes import RecordingDeployer, alive, fake_node_command

from raftkv.tf.context import ExpectationFailed, RunContext
from raftkv.tf.local import LocalDeployer
from raftkv.tf.report import FAIL, INTERRUPTED, PASS, Reporter
from raftkv.tf.runner import new_report, run_scenario
from raftkv.tf.scenario import Scenario

pytestmark = pytest.mark.timeout(60)


@dataclass
class Scripted:
    """A workload or expectation that sleeps, then fails or succeeds, and records it."""

    name: str
    events: list[str]
    delay: float = 0.0
    error: Exception | None = None
    seen: list[str] = field(default_factory=list)

    async def run(self, ctx: RunContext) -> None:
        await self._act(ctx)

    async def start(self, ctx: RunContext) -> None:
        self.events.append(f"{self.name} started")

    async def check_during_run(self, ctx: RunContext) -> None:
        return None

    async def evaluate(self, ctx: RunContext) -> None:
        await self._act(ctx)

    async def _act(self, ctx: RunContext) -> None:
        self.events.append(f"{self.name} began")
        try:
            async with ctx.step(self.name):
                await asyncio.sleep(self.delay)
                if self.error is not None:
                    raise self.error
        except asyncio.CancelledError:
            self.events.append(f"{self.name} cancelled")
            raise
        ctx.acknowledged[self.name] = "done"
        self.events.append(f"{self.name} done")


def scenario_of(deployer_factory, workloads, expectations=(), run_timeout=30.0) -> Scenario:
    builder = (
        Scenario.builder("test")
        .nodes(2)
        .deployer(deployer_factory)
        .run_timeout(run_timeout)
        .invariants(False)  # the runner alone; the invariants have their own tests
    )
    for workload in workloads:
        builder.workload(workload)
    for expectation in expectations:
        builder.expectation(expectation)
    return builder.observer(interval=0.05).build()


async def run(scenario: Scenario, seed: int = 7):
    output = io.StringIO()
    reporter = Reporter(Console(file=output, width=200, highlight=False))
    report = new_report(scenario, seed)
    await run_scenario(scenario, report, reporter=reporter)
    return report, output.getvalue()


async def test_passing_run_cleans_up_after_everything() -> None:
    events: list[str] = []
    deployers: list[RecordingDeployer] = []

    def factory() -> RecordingDeployer:
        deployers.append(RecordingDeployer(events))
        return deployers[-1]

    workloads = [Scripted("w1", events, 0.05), Scripted("w2", events, 0.01)]
    report, output = await run(scenario_of(factory, workloads, [Scripted("e1", events)]))
    assert report.verdict == PASS and report.failures == []
    assert events[0] == "deploy" and events[-1] == "cleanup"
    assert events.index("w1 began") < events.index("w2 done"), "workloads run concurrently"
    assert events.index("w1 done") < events.index("e1 began"), "expectations come after"
    assert [s.name for s in report.steps] == ["deploy 2 nodes", "w2", "w1", "e1", "expect e1"]
    assert "PASS test" in output and not deployers[0].kept


async def test_first_workload_failure_aborts_the_others() -> None:
    events: list[str] = []
    deployer = RecordingDeployer(events)
    failing = Scripted("breaks", events, 0.05, RuntimeError("boom"))
    slow = Scripted("slow", events, 30)
    report, output = await run(
        scenario_of(lambda: deployer, [failing, slow], [Scripted("e", events)])
    )
    assert report.verdict == FAIL
    assert report.reason == "workload breaks: RuntimeError: boom"
    assert "slow cancelled" in events and "e began" not in events
    assert events[-1] == "cleanup" and deployer.kept, "a failed run keeps its artifacts"
    assert "last observation of every node" in output


async def test_every_expectation_failure_is_reported() -> None:
    events: list[str] = []
    expectations = [
        Scripted("first", events, 0, ExpectationFailed("voters differ")),
        Scripted("fine", events),
        Scripted("second", events, 0, ExpectationFailed("keys missing")),
    ]
    scenario = scenario_of(lambda: RecordingDeployer(events), [Scripted("w", events)], expectations)
    report, output = await run(scenario)
    assert report.verdict == FAIL
    assert report.failures == [
        "expectation first: voters differ",
        "expectation second: keys missing",
    ]
    assert "2 expectation(s) failed" in output and "keys missing" in output


async def test_run_timeout_fails_the_run_and_cleans_up() -> None:
    events: list[str] = []
    scenario = scenario_of(
        lambda: RecordingDeployer(events), [Scripted("forever", events, 60)], run_timeout=0.3
    )
    report, _ = await run(scenario)
    assert report.verdict == FAIL and report.reason.startswith("run timeout")
    assert events[-1] == "cleanup"


async def test_deploy_failure_still_cleans_up() -> None:
    events: list[str] = []
    scenario = scenario_of(
        lambda: RecordingDeployer(events, fail_deploy=True), [Scripted("w", events)]
    )
    report, _ = await run(scenario)
    assert report.reason == "RuntimeError: fake deploy failure"
    assert events == ["deploy", "cleanup"]


async def test_seed_makes_client_ids_reproducible() -> None:
    ids: list[str] = []

    @dataclass
    class TakesClientId:
        name: str = "ids"

        async def run(self, ctx: RunContext) -> None:
            ids.append(ctx.clients.cluster(ctx.names).client_id)

    for _ in range(2):
        await run(scenario_of(lambda: RecordingDeployer([]), [TakesClientId()]), seed=42)
    await run(scenario_of(lambda: RecordingDeployer([]), [TakesClientId()]), seed=43)
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize("ending", ["failure", "cancellation"])
async def test_no_node_process_survives_the_run(tmp_path: Path, ending: str) -> None:
    """Real (fake-node) processes: after a failure or a cancellation every pid is gone."""
    events: list[str] = []
    deployers: list[LocalDeployer] = []

    def factory() -> LocalDeployer:
        deployers.append(LocalDeployer(command=fake_node_command(), work_root=tmp_path))
        return deployers[-1]

    @dataclass
    class RestartThenEnd:
        name: str = "restart"

        async def run(self, ctx: RunContext) -> None:
            await ctx.deployer.restart_node("node-1", "kill")
            events.append("restarted")
            if ending == "failure":
                raise RuntimeError("workload gives up")
            await asyncio.sleep(60)

    scenario = scenario_of(factory, [RestartThenEnd()])
    task = asyncio.create_task(run(scenario))
    if ending == "failure":
        report, _ = await task
        assert report.verdict == FAIL
    else:
        while "restarted" not in events:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    pids = deployers[0].spawned_pids()
    assert len(pids) == 3, "two nodes and one respawn"
    assert not any(alive(pid) for pid in pids)


async def test_cancelled_run_reports_interrupted() -> None:
    events: list[str] = []
    scenario = scenario_of(lambda: RecordingDeployer(events), [Scripted("w", events, 60)])
    report = new_report(scenario, 1)
    reporter = Reporter(Console(file=io.StringIO()))
    task = asyncio.create_task(run_scenario(scenario, report, reporter=reporter))
    while "w began" not in events:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert report.verdict == INTERRUPTED and events[-1] == "cleanup"
