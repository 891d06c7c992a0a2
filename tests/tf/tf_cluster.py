"""A real local 3-node cluster for end-to-end tests of the framework: bootstrap it, run the
test's body as the workload, and require PASS (the run's output is the failure message)."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from raftkv.tf.context import RunContext
from raftkv.tf.deployer import NodeSettings
from raftkv.tf.local import LocalDeployer
from raftkv.tf.report import PASS, Reporter
from raftkv.tf.runner import new_report, run_scenario
from raftkv.tf.scenario import Expectation, Scenario
from raftkv.tf.workloads import bootstrap_cluster

WAIT_S = 15.0

Body = Callable[[RunContext], Awaitable[None]]


@dataclass
class Scripted:
    """Bootstraps the cluster, then runs `body`."""

    body: Body
    name: str = "scripted"

    async def run(self, ctx: RunContext) -> None:
        await bootstrap_cluster(ctx, timeout=WAIT_S)
        await self.body(ctx)


async def run_scripted(
    tmp_path: Path,
    body: Body,
    *,
    name: str,
    settings: NodeSettings,
    expectations: Sequence[Expectation] = (),
    seed: int = 1,
) -> str:
    """Runs `body` on a bootstrapped 3-node cluster, then `expectations`; returns the output."""
    builder = (
        Scenario.builder(name)
        .nodes(3)
        .node_settings(settings)
        .deployer(lambda: LocalDeployer(work_root=tmp_path))
        .workload(Scripted(body))
        .observer(interval=0.05)
        .run_timeout(50.0)
    )
    for expectation in expectations:
        builder.expectation(expectation)
    scenario = builder.build()
    output = io.StringIO()
    report = new_report(scenario, seed)
    await run_scenario(scenario, report, reporter=Reporter(Console(file=output, width=200)))
    assert report.verdict == PASS, output.getvalue()
    return output.getvalue()
