"""The convergence expectation against a real local 3-node cluster: it passes on equal digests,
and fails naming the node whose state was altered on disk while it was stopped.

Two sizes of state: small (`/state` carries the map; an altered `meta.digest` is caught by
the digests) and large (`state_kv_max_keys: 4`, so `/state` leaves the map out; an altered
value, under an unchanged digest, is caught by reading the acknowledged keys on every node).
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from tf_cluster import WAIT_S, Body, run_scripted

from raftkv.kv import STATE_FILE
from raftkv.tf.context import ExpectationFailed, RunContext
from raftkv.tf.deployer import NodeSettings
from raftkv.tf.expectations import ConvergenceExpectation
from raftkv.tf.local import LocalDeployer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

KEYS = 10


async def run_on_cluster(tmp_path: Path, body: Body, **extra: object) -> None:
    """Writes KEYS acknowledged keys on a bootstrapped cluster, then runs `body`."""

    async def written_then_body(ctx: RunContext) -> None:
        writer = ctx.clients.cluster(ctx.names)
        for i in range(KEYS):
            await writer.write(f"key-{i}", f"value-{i}")
            ctx.acknowledged[f"key-{i}"] = f"value-{i}"
        await body(ctx)

    settings = NodeSettings(extra=dict(extra))
    await run_scripted(tmp_path, written_then_body, name="convergence-e2e", settings=settings)


async def a_follower(ctx: RunContext) -> str:
    leader = await ctx.observer.wait_leader(WAIT_S)
    return next(name for name in ctx.names if name != f"node-{leader.leader_id}")


async def alter_stopped(ctx: RunContext, name: str, sql: str) -> None:
    """Stops `name`, runs `sql` on its state file, starts it again."""
    deployer = ctx.deployer
    assert isinstance(deployer, LocalDeployer) and deployer.run_dir is not None
    await deployer.stop_node(name, "graceful")
    with contextlib.closing(sqlite3.connect(deployer.run_dir / name / "data" / STATE_FILE)) as db:
        assert db.execute(sql).rowcount == 1, sql
        db.commit()
    await deployer.start_node(name)


async def test_an_altered_digest_is_named_with_its_node(tmp_path: Path) -> None:
    expectation = ConvergenceExpectation(timeout=WAIT_S)

    async def body(ctx: RunContext) -> None:
        await expectation.evaluate(ctx)
        digest = ctx.report.facts["converged"]["digest"]
        assert isinstance(digest, str) and len(digest) == 16
        victim = await a_follower(ctx)
        await alter_stopped(ctx, victim, "UPDATE meta SET digest=digest+1 WHERE id=0")
        with pytest.raises(ExpectationFailed) as caught:
            await expectation.evaluate(ctx)
        message = str(caught.value)
        assert "replicas diverged at applied index" in message, message
        assert f"{victim} reports kv_digest " in message, message
        assert f"report kv_digest {digest}" in message, message

    await run_on_cluster(tmp_path, body)


async def test_a_large_state_is_checked_by_reads_and_an_altered_value_named(
    tmp_path: Path,
) -> None:
    expectation = ConvergenceExpectation(timeout=WAIT_S)

    async def body(ctx: RunContext) -> None:
        state = await ctx.clients.node("node-0").state()
        assert state.kv is None and state.kv_keys == KEYS and state.kv_omitted
        await expectation.evaluate(ctx)
        victim = await a_follower(ctx)
        await alter_stopped(ctx, victim, "UPDATE kv SET value='tampered' WHERE key='key-3'")
        with pytest.raises(ExpectationFailed) as caught:
            await expectation.evaluate(ctx)
        message = str(caught.value)
        assert "disagree on 'key-3'" in message and "'tampered'" in message, message
        assert victim in message.split(" disagree")[0], message

    await run_on_cluster(tmp_path, body, state_kv_max_keys=4)
