"""The checks of a chaos run as scenario expectations (all run at once after the workload,
every failure reported), plus the one that writes the report once every check is done."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from raftkv.tf.context import ExpectationFailed, RunContext
from raftkv.tf.deployer import node_id_of
from raftkv.tf.observer import RuleBroken, WaitTimeout
from raftkv.tf.scenario import Expectation
from raftkv.tf.settle import Settled, settle

from .checks import (
    CONVERGENCE,
    DURABILITY,
    LINEARIZABILITY,
    LOCAL_READS,
    CheckResult,
    check_durability,
    check_linearizable,
    check_local_reads,
)
from .report import write_report
from .run import ChaosRun, FinalState


def final_state(settled: Settled) -> FinalState:
    """The whole map when the nodes sent theirs, else the values of the keys asked for."""
    replicas = settled.replicas
    whole = replicas.kv is not None
    kv = dict(replicas.kv) if replicas.kv is not None else dict(settled.values)
    return FinalState(replicas.applied, kv, replicas.nodes, replicas.digest, kv_whole=whole)


@dataclass(frozen=True, slots=True)
class ConvergenceCheck(Expectation):
    """(c): after healing, a leader is agreed and every member converges on one state."""

    chaos: ChaosRun
    name: str = CONVERGENCE

    async def evaluate(self, ctx: RunContext) -> None:
        try:
            result = await self._settle(ctx)
        except asyncio.CancelledError:
            self.chaos.settle(None, "the convergence check was cancelled")
            raise
        except Exception as error:  # a bug of the check: report it as this check's failure
            self.chaos.settle(None, f"the convergence check crashed: {error!r}")
            result = CheckResult(
                self.name, False, f"check crashed: {type(error).__name__}: {error}"
            )
        _conclude(self.chaos, result)

    async def _settle(self, ctx: RunContext) -> CheckResult:
        """Waits for a leader, then for the final state; records it (or why there is none).
        The final values of the keys the history wrote are what durability checks."""
        timeout = self.chaos.settings.settle_timeout
        written = sorted({write.key for write in self.chaos.clients.history.writes()})
        try:
            leader = await ctx.observer.wait_leader(timeout)
            voters = frozenset(node_id_of(name) for name in ctx.observer.nodes)
            settled = await settle(ctx.observer, ctx.clients, voters, written, timeout)
        except WaitTimeout as error:
            self.chaos.settle(None, str(error))
            return CheckResult(self.name, False, f"the cluster did not converge: {error}")
        except RuleBroken as error:
            self.chaos.settle(None, str(error))
            return CheckResult(self.name, False, f"the cluster will not converge: {error}")
        final = final_state(settled)
        self.chaos.settle(final)
        keys = settled.replicas.keys if settled.replicas.keys is not None else len(final.kv)
        digest = "" if final.digest is None else f", kv_digest {final.digest}"
        summary = (
            f"{', '.join(final.nodes)} converged on {keys} keys at applied index "
            f"{final.applied}{digest} (leader {leader})"
        )
        return CheckResult(self.name, True, summary)


@dataclass(frozen=True, slots=True)
class HistoryCheck(Expectation):
    """A check computed from the history (and final state) off the event loop."""

    chaos: ChaosRun
    name: str
    compute: Callable[[ChaosRun], CheckResult]
    needs_final_state: bool = False

    async def evaluate(self, ctx: RunContext) -> None:
        if self.needs_final_state:
            await self.chaos.wait_settled()
        try:
            result = await asyncio.to_thread(self.compute, self.chaos)
        except Exception as error:  # a bug of the check: report it as this check's failure
            result = CheckResult(
                self.name, False, f"check crashed: {type(error).__name__}: {error}"
            )
        _conclude(self.chaos, result)


def _conclude(chaos: ChaosRun, result: CheckResult) -> None:
    chaos.record(result)
    if not result.ok:
        raise ExpectationFailed(result.describe())


def linearizability(chaos: ChaosRun) -> CheckResult:
    history = chaos.clients.history
    return check_linearizable(history.checked(), chaos.settings.check_time_limit)


def durability(chaos: ChaosRun) -> CheckResult:
    if chaos.final is None:
        return CheckResult(DURABILITY, False, f"not checked: no final state ({chaos.unsettled})")
    return check_durability(chaos.clients.history.writes(), chaos.final.kv)


def local_reads(chaos: ChaosRun) -> CheckResult:
    history = chaos.clients.history
    return check_local_reads(history.local_reads(), history.writes())


@dataclass(frozen=True, slots=True)
class ReportWriter(Expectation):
    """Writes history.json and report.html once every check has its result."""

    chaos: ChaosRun
    directory: Path
    name: str = "report"

    async def evaluate(self, ctx: RunContext) -> None:
        await self.chaos.wait_checked()
        html = await write_report(ctx, self.chaos, self.directory)
        ctx.reporter.note(f"chaos report: {html}")


def chaos_expectations(
    chaos: ChaosRun, report_dir: Path
) -> list[ConvergenceCheck | HistoryCheck | ReportWriter]:
    """Every expectation of a chaos run, the report writer last."""
    return [
        HistoryCheck(chaos, LINEARIZABILITY, linearizability),
        HistoryCheck(chaos, DURABILITY, durability, needs_final_state=True),
        ConvergenceCheck(chaos),
        HistoryCheck(chaos, LOCAL_READS, local_reads),
        ReportWriter(chaos, report_dir),
    ]
