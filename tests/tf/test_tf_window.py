"""The run window: driving and background workloads, run duration, cooldown, continuous
checks (interval, a failure ends the run at once), expectations a workload brings."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field

import pytest
from rich.console import Console
from tf_fakes import RecordingDeployer

from raftkv.tf.context import ExpectationFailed, RunContext
from raftkv.tf.report import FAIL, PASS, Reporter
from raftkv.tf.runner import new_report, run_scenario
from raftkv.tf.scenario import Expectation, Scenario, ScenarioError

pytestmark = pytest.mark.timeout(60)


@dataclass
class Sleeper:
    """A workload that sleeps `seconds` (forever when None) and records how it ended."""

    name: str
    events: list[str]
    seconds: float | None = None
    background: bool = False
    brings: list[Expectation] = field(default_factory=list)

    async def run(self, ctx: RunContext) -> None:
        self.events.append(f"{self.name} began")
        try:
            await asyncio.sleep(3600 if self.seconds is None else self.seconds)
        except asyncio.CancelledError:
            self.events.append(f"{self.name} stopped")
            raise
        self.events.append(f"{self.name} done")

    def expectations(self) -> list[Expectation]:
        return self.brings


class Watcher(Expectation):
    """Counts its continuous checks; fails the `fail_at`-th one."""

    def __init__(self, name: str, events: list[str], fail_at: int | None = None) -> None:
        self.name = name
        self.events = events
        self.fail_at = fail_at
        self.checks = 0

    async def start(self, ctx: RunContext) -> None:
        self.events.append(f"{self.name} start")

    async def check_during_run(self, ctx: RunContext) -> None:
        self.checks += 1
        self.events.append(f"{self.name} check")
        if self.checks == self.fail_at:
            raise ExpectationFailed(f"saw something wrong at check {self.checks}")

    async def evaluate(self, ctx: RunContext) -> None:
        self.events.append(f"{self.name} evaluate")


def builder(events: list[str]):
    return (
        Scenario.builder("window")
        .nodes(1)
        .deployer(lambda: RecordingDeployer(events))
        .observer(interval=0.05)
        .invariants(False)
        .run_timeout(30)
    )


async def run(scenario: Scenario):
    reporter = Reporter(Console(file=io.StringIO(), width=200))
    report = new_report(scenario, 1)
    await run_scenario(scenario, report, reporter=reporter)
    return report


async def test_background_workloads_stop_when_the_driving_ones_are_done() -> None:
    events: list[str] = []
    monitor = Sleeper("monitor", events, background=True)
    nemesis = Sleeper("nemesis", events)
    scenario = (
        builder(events)
        .workload(Sleeper("driver", events, 0.2))
        .workload(monitor)
        .workload(nemesis, background=True)
        .build()
    )
    assert [w.name for w in scenario.background] == ["monitor", "nemesis"]
    report = await run(scenario)
    assert report.verdict == PASS, report.reason
    assert events.index("driver done") < events.index("monitor stopped")
    assert "nemesis stopped" in events and report.total_s < 5


async def test_background_only_runs_for_the_run_duration_then_cools_down() -> None:
    events: list[str] = []
    watcher = Watcher("watch", events)
    scenario = (
        builder(events)
        .workload(Sleeper("monitor", events), background=True)
        .expectation(watcher)
        .run_duration(0.6)
        .cooldown(0.5)
        .check_interval(0.1)
        .build()
    )
    report = await run(scenario)
    assert report.verdict == PASS, report.reason
    assert 1.0 <= report.total_s < 10
    stopped = events.index("monitor stopped")
    assert events.index("watch start") < events.index("monitor began")
    assert "watch check" in events[stopped:], "continuous checks go on during the cooldown"
    assert events[-2:] == ["watch evaluate", "cleanup"]
    assert watcher.checks >= 5  # 1.1 s at 0.1 s; a busy machine may drop a few
    assert any(step.name == "cooldown 0.5 s" for step in report.steps)


async def test_driving_workloads_that_finish_early_end_the_window_early() -> None:
    events: list[str] = []
    scenario = builder(events).workload(Sleeper("driver", events, 0.1)).run_duration(30).build()
    report = await run(scenario)
    assert report.verdict == PASS and report.total_s < 5


async def test_a_failing_continuous_check_ends_the_run_at_once() -> None:
    events: list[str] = []
    watcher = Watcher("watch", events, fail_at=2)
    scenario = (
        builder(events)
        .workload(Sleeper("driver", events, 20))
        .expectation(watcher)
        .check_interval(0.1)
        .build()
    )
    report = await run(scenario)
    assert report.verdict == FAIL and report.total_s < 5
    assert report.reason.startswith("expectation watch failed during the run (checked at ")
    assert report.reason.endswith("s): saw something wrong at check 2")
    assert report.failures == [report.reason]
    assert "driver stopped" in events and "watch evaluate" not in events


async def test_a_workload_brings_its_own_expectations() -> None:
    events: list[str] = []
    own = Watcher("own", events)
    scenario = (
        builder(events)
        .invariants(True)
        .workload(Sleeper("driver", events, 0.05, brings=[own]))
        .expectation(Watcher("scenario's", events))
        .build()
    )
    assert [e.name for e in scenario.expectations] == ["invariants", "own", "scenario's"]
    report = await run(scenario)
    assert report.verdict == PASS, report.reason
    assert "own evaluate" in events


def test_the_builder_refuses_what_cannot_run() -> None:
    events: list[str] = []
    with pytest.raises(ScenarioError, match=r"only background workloads: set \.run_duration"):
        builder(events).workload(Sleeper("m", events), background=True).build()

    class OnlyCheck:
        name = "old-style"

        async def check(self, ctx: RunContext) -> None: ...

    with pytest.raises(ScenarioError, match="'old-style' has no start, check_during_run, eval"):
        builder(events).workload(Sleeper("d", events)).expectation(OnlyCheck()).build()  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match="check interval must be positive"):
        builder(events).workload(Sleeper("d", events)).check_interval(0).build()
