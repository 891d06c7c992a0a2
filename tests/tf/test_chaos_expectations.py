"""The chaos expectations without a cluster: every check records its result (a failure is
also raised), durability waits for the final state, and the report waits for every check."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, cast

import pytest
from tf_fakes import FakePool, FakeReplica, fake_state

from raftkv.checker import Operation
from raftkv.tf.chaos import ChaosRun, ChaosSettings, FinalState, OpRecord, chaos_expectations
from raftkv.tf.chaos.checks import CheckResult
from raftkv.tf.chaos.expectations import ConvergenceCheck, HistoryCheck, ReportWriter, durability
from raftkv.tf.context import ExpectationFailed, RunContext
from raftkv.tf.observer import Observer
from raftkv.tf.report import RunReport


class FakeContext:
    def __init__(self) -> None:
        self.report = RunReport("chaos", 5, {})
        self.started = 0.0
        self.observer = self
        self.reporter = self
        self.notes: list[str] = []

    def transitions(self, since: float) -> list[dict[str, Any]]:
        return [{"t": 0.5, "node": "node-0", "role": "Leader", "term": 1, "leader": 0}]

    def note(self, text: str) -> None:
        self.notes.append(text)


def chaos_with_history() -> ChaosRun:
    chaos = ChaosRun(ChaosSettings(kinds=("kill",), duration=1.0))
    history = chaos.clients.history
    for op, mode in (
        (Operation(0, "write", "k", "a", 0.1, 0.2, "ok"), "write"),
        (Operation(0, "read", "k", "a", 0.3, 0.4, "ok"), "linearizable"),
        (Operation(1, "read", "k", None, 0.3, 0.4, "ok"), "local"),
    ):
        history.add(OpRecord(op, mode, "node-0", 1, op.finish))  # type: ignore[arg-type]
    return chaos


async def run_checks(chaos: ChaosRun, ctx: FakeContext, tmp_path: Path) -> list[object]:
    expectations = [e for e in chaos_expectations(chaos, tmp_path) if e.name != "convergence"]
    return await asyncio.gather(
        *(e.evaluate(cast(RunContext, ctx)) for e in expectations), return_exceptions=True
    )


async def test_checks_pass_and_the_report_is_written_once_all_are_in(tmp_path: Path) -> None:
    chaos, ctx = chaos_with_history(), FakeContext()
    task = asyncio.ensure_future(run_checks(chaos, ctx, tmp_path))
    await asyncio.sleep(0.2)
    assert not task.done()  # durability waits for the final state, the report for all
    chaos.settle(FinalState(applied=3, kv={"k": "a"}, nodes=("node-0",)))
    chaos.record(CheckResult("convergence", True, "converged"))
    assert await task == [None] * 4
    assert chaos.passed
    history = json.loads((tmp_path / "history.json").read_text())
    assert history["verdict"] == "PASS" and len(history["operations"]) == 3
    assert history["final_state"]["kv"] == {"k": "a"}
    assert (tmp_path / "report.html").is_file() and ctx.notes[-1].endswith("report.html")


async def test_no_final_state_fails_durability_with_the_reason(tmp_path: Path) -> None:
    chaos, ctx = chaos_with_history(), FakeContext()
    chaos.settle(None, "timed out waiting for one applied index")
    check = HistoryCheck(chaos, "durability", durability, needs_final_state=True)
    with pytest.raises(ExpectationFailed, match=r"not checked: no final state \(timed out"):
        await check.evaluate(cast(RunContext, ctx))
    assert not chaos.results["durability"].ok


async def test_a_crashing_check_is_reported_as_its_failure(tmp_path: Path) -> None:
    chaos, ctx = chaos_with_history(), FakeContext()

    def broken(chaos: ChaosRun) -> Any:
        raise KeyError("oops")

    with pytest.raises(ExpectationFailed, match="check crashed: KeyError"):
        await HistoryCheck(chaos, "local-reads", broken).evaluate(cast(RunContext, ctx))
    assert not chaos.passed


async def test_report_writer_waits_for_every_check(tmp_path: Path) -> None:
    chaos, ctx = chaos_with_history(), FakeContext()
    writer = asyncio.ensure_future(ReportWriter(chaos, tmp_path).evaluate(cast(RunContext, ctx)))
    await asyncio.sleep(0.1)
    assert not writer.done() and not (tmp_path / "history.json").exists()
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer


class SettleContext:
    """What the convergence check uses: an observer and node clients over fake replicas."""

    def __init__(self, replicas: dict[str, FakeReplica]) -> None:
        self.observer = Observer(list(replicas), replicas.__getitem__, interval=0.01)
        self.clients = FakePool(replicas)


def replicas_of(digests: tuple[str, str], data: dict[str, str]) -> dict[str, FakeReplica]:
    """node-0 leads node-1 at applied index 3; their /state leaves the map out."""
    return {
        f"node-{i}": FakeReplica(
            fake_state(
                i,
                "Leader" if i == 0 else "Follower",
                leader=0,
                term=1,
                voters=[0, 1],
                applied=3,
                digest=digest,
                keys=len(data),
                kv_omitted="large",
            ),
            dict(data),
        )
        for i, digest in enumerate(digests)
    }


async def test_a_large_final_state_holds_the_written_keys_read_on_every_node() -> None:
    chaos, digest = chaos_with_history(), "a" * 16
    replicas = replicas_of((digest, digest), {"k": "a", "untouched": "z"})
    ctx = SettleContext(replicas)
    async with ctx.observer:
        await ConvergenceCheck(chaos).evaluate(cast(RunContext, ctx))
    assert chaos.final == FinalState(3, {"k": "a"}, ("node-0", "node-1"), digest, kv_whole=False)
    assert all(replica.reads == ["k"] for replica in replicas.values())
    summary = chaos.results["convergence"].summary
    assert summary.startswith(
        f"node-0, node-1 converged on 2 keys at applied index 3, kv_digest {digest}"
    )


async def test_diverged_replicas_fail_the_check_naming_the_node() -> None:
    chaos = chaos_with_history()
    ctx = SettleContext(replicas_of(("a" * 16, "b" * 16), {"k": "a"}))
    async with ctx.observer:
        with pytest.raises(
            ExpectationFailed,
            match="the cluster will not converge: replicas diverged at applied index 3",
        ):
            await ConvergenceCheck(chaos).evaluate(cast(RunContext, ctx))
    assert chaos.final is None and not chaos.results["convergence"].ok
    assert f"node-1 reports kv_digest {'b' * 16}" in chaos.unsettled
