"""steady_writes: write keys through a 3-node cluster while a monitor watches the leader.

A scenario written the way docs/writing-scenarios.md explains: a workload of its own (that
brings an expectation of its own), a background monitor, and an expectation with a
continuous check. Run it with

    raftkv-tf run docs/examples/steady_writes.py --writes 20 --seed 1
"""

from __future__ import annotations

import argparse
import asyncio

from raftkv.tf import (
    ConvergenceExpectation,
    Expectation,
    ExpectationFailed,
    LocalDeployer,
    RunContext,
    Scenario,
    bootstrap_cluster,
)
from raftkv.tf.cli import node_settings

NAME = "steady_writes"
SUMMARY = "local processes: steady writes, a leader monitor, few elections"


class SteadyWrites:
    """The driving workload: form the cluster, then write `writes` keys."""

    name = "steady-writes"

    def __init__(self, writes: int) -> None:
        self.writes = writes

    async def run(self, ctx: RunContext) -> None:
        await bootstrap_cluster(ctx, timeout=30)
        client = ctx.clients.cluster(ctx.names)  # records each acknowledged write itself
        async with ctx.step(f"write {self.writes} keys") as step:
            for i in range(self.writes):
                await client.write(f"steady-{i}", f"value-{i}", deadline=10)
            step.detail = f"{len(ctx.acknowledged)} acknowledged"

    def expectations(self) -> list[Expectation]:
        return [ReadableEverywhere()]


class LeaderWatch:
    """A background workload: notes each new leader until the runner stops it."""

    name = "leader-watch"
    background = True

    async def run(self, ctx: RunContext) -> None:
        last = None
        while True:
            leaders = {s.node_id for s in ctx.observer.view().values() if s and s.is_leader}
            if leaders and leaders != last:
                ctx.reporter.note(f"{ctx.elapsed():6.2f} s leader(s): {sorted(leaders)}")
                last = leaders
            await asyncio.sleep(0.1)


class FewElections(Expectation):
    """At most `max_terms` terms with a leader during the whole run."""

    name = "few-elections"

    def __init__(self, max_terms: int) -> None:
        self.max_terms = max_terms
        self.terms: set[int] = set()

    async def start(self, ctx: RunContext) -> None:
        self.terms = set()

    async def check_during_run(self, ctx: RunContext) -> None:
        for state in ctx.observer.view().values():
            if state is not None and state.is_leader:
                self.terms.add(state.current_term)
        if len(self.terms) > self.max_terms:
            raise ExpectationFailed(f"leaders in terms {sorted(self.terms)}")

    async def evaluate(self, ctx: RunContext) -> None:
        await self.check_during_run(ctx)
        ctx.fact("leader_terms", sorted(self.terms))


class ReadableEverywhere(Expectation):
    """Every acknowledged key reads back, linearizably, through every node."""

    name = "readable-everywhere"

    async def evaluate(self, ctx: RunContext) -> None:
        for name in ctx.names:
            node = ctx.clients.node(name)
            for key, value in ctx.acknowledged.items():
                found = await node.read(key, linearizable=True)
                if found != value:
                    raise ExpectationFailed(f"{name}: {key!r} = {found!r}, expected {value!r}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--writes", type=int, default=20, help="%(default)s")


def build(args: argparse.Namespace) -> Scenario:
    return (
        Scenario.builder("steady_writes")
        .describe(SUMMARY)
        .nodes(3)
        .node_settings(node_settings(args))
        .deployer(LocalDeployer)
        .workload(SteadyWrites(args.writes))
        .workload(LeaderWatch())
        .expectation(FewElections(max_terms=2))
        .expectation(ConvergenceExpectation())
        .observer(interval=args.observer_interval)
        .run_timeout(args.run_timeout or 60)
        .build()
    )
