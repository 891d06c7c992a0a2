"""Nemeses against a real local 3-node cluster: the fault has its effect, heal restores it."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import pytest
from tf_cluster import WAIT_S, run_scripted

from raftkv.tf.agreement import Outcome, View, met, not_yet
from raftkv.tf.context import RunContext
from raftkv.tf.deployer import NodeSettings, node_id_of
from raftkv.tf.expectations import ConvergenceExpectation
from raftkv.tf.nemesis import KINDS, NemesisWorkload, iptables
from raftkv.tf.nemesis.kill import KillNemesis
from raftkv.tf.nemesis.membership import MembershipNemesis
from raftkv.tf.nemesis.partition import IptablesPartition
from raftkv.tf.nemesis.pause import PauseNemesis, min_pause_s

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


async def run_on_cluster(
    tmp_path: Path,
    body: Callable[[RunContext], Awaitable[None]],
    *,
    fixed_members: bool = True,
    seed: int = 1,
) -> str:
    """Runs `body` on a bootstrapped cluster. With `fixed_members`, the stock convergence
    expectation (voters 0, 1, 2) checks the end; else `body` checks convergence itself."""
    return await run_scripted(
        tmp_path,
        body,
        name="nemesis-e2e",
        settings=NodeSettings(election_timeout_min_ms=300, election_timeout_max_ms=600),
        expectations=[ConvergenceExpectation()] if fixed_members else [],
        seed=seed,
    )


async def test_kill_leader_elects_a_new_leader_and_the_node_rejoins(tmp_path: Path) -> None:
    async def body(ctx: RunContext) -> None:
        old = await ctx.observer.wait_leader(WAIT_S)
        nemesis = KillNemesis()
        event = await nemesis.inject(ctx, "leader", random.Random(1))
        assert event.targets == (f"node-{old.leader_id}",)
        new = await ctx.observer.wait_leader(WAIT_S, different_from=old)
        assert new.leader_id != old.leader_id
        await nemesis.heal(ctx, event)
        assert not nemesis.down
        await ctx.observer.wait_voters(frozenset({0, 1, 2}), WAIT_S)

    await run_on_cluster(tmp_path, body)


async def test_pause_leader_is_replaced_and_rejoins_after_resume(tmp_path: Path) -> None:
    async def body(ctx: RunContext) -> None:
        old = await ctx.observer.wait_leader(WAIT_S)
        nemesis = PauseNemesis()
        event = await nemesis.inject(ctx, "leader", random.Random(1))
        paused = event.targets[0]
        assert node_id_of(paused) == old.leader_id
        others = {name: ctx.observer.view()[name] for name in ctx.observer.nodes if name != paused}
        new = await ctx.observer.wait_for(
            lambda view: _leader_among(view, others.keys(), old.leader_id),
            WAIT_S + min_pause_s(ctx),
            "a new leader among the running nodes",
        )
        assert new != old.leader_id
        await nemesis.heal(ctx, event)
        assert not nemesis.paused
        # The resumed node follows the new leader (its state answers again, in a later term).
        await ctx.observer.wait_leader(WAIT_S, different_from=old)

    await run_on_cluster(tmp_path, body)


def _leader_among(view: View, names: Iterable[str], old_leader: int) -> Outcome[int]:
    for name in names:
        state = view.get(name)
        if state is not None and state.role == "Leader" and state.node_id != old_leader:
            return met(state.node_id)
    return not_yet("no running node leads yet")


@pytest.mark.skipif(iptables.why_no_iptables() is not None, reason=str(iptables.why_no_iptables()))
async def test_isolated_leader_is_replaced_on_the_majority_side(tmp_path: Path) -> None:
    async def body(ctx: RunContext) -> None:
        old = await ctx.observer.wait_leader(WAIT_S)
        nemesis = IptablesPartition()
        await nemesis.prepare(ctx)
        event = await nemesis.inject(ctx, "isolate-leader", random.Random(1))
        assert event.action == f"isolate leader node-{old.leader_id}"
        assert nemesis.tag in _input_rules()
        majority = [name for name in ctx.observer.nodes if node_id_of(name) != old.leader_id]
        await ctx.observer.wait_for(
            lambda view: _leader_among(view, majority, old.leader_id),
            WAIT_S,
            "a new leader on the majority side",
        )
        await nemesis.heal(ctx, event)
        assert nemesis.tag not in _input_rules()
        await ctx.observer.wait_leader(WAIT_S, different_from=old)

    await run_on_cluster(tmp_path, body)


def _input_rules() -> str:
    return iptables.run_iptables(["iptables", "-w", "-S", "INPUT"])


async def test_membership_churn_replaces_a_voter_under_a_new_id(tmp_path: Path) -> None:
    async def body(ctx: RunContext) -> None:
        nemesis = MembershipNemesis()
        await nemesis.prepare(ctx)
        event = await nemesis.inject(ctx, "replace-voter", random.Random(2))
        (victim,) = event.targets
        assert victim not in ctx.observer.nodes and len(ctx.observer.nodes) == 2
        await nemesis.heal(ctx, event)
        assert event.detail["replaced_by"] == "node-3"
        assert sorted(ctx.observer.nodes) == sorted(
            {"node-0", "node-1", "node-2", "node-3"} - {victim}
        )
        voters = frozenset(node_id_of(name) for name in ctx.observer.nodes)
        await ctx.observer.wait_voters(voters, WAIT_S)
        transfer = await nemesis.inject(ctx, "transfer-leader", random.Random(3))
        assert transfer.nemesis == "transfer" and transfer.targets[0] != transfer.targets[1]
        await ctx.observer.wait_converged(WAIT_S)

    await run_on_cluster(tmp_path, body, fixed_members=False)


@pytest.mark.parametrize("seed", [1, 2])
async def test_every_kind_for_a_few_seconds_heals_and_converges(tmp_path: Path, seed: int) -> None:
    workload = NemesisWorkload(list(KINDS), duration=12.0, quiet=(0.3, 0.8), hold=(0.5, 1.0))

    async def body(ctx: RunContext) -> None:
        await workload.run(ctx)
        assert len(ctx.observer.nodes) == 3
        await ctx.observer.wait_voters(frozenset(node_id_of(n) for n in ctx.observer.nodes), WAIT_S)
        await ctx.observer.wait_converged(WAIT_S)

    output = await run_on_cluster(tmp_path, body, fixed_members=False, seed=seed)
    assert workload.events, output
    assert all(event.healed_s is not None for event in workload.events)
    assert not workload.skipped or iptables.why_no_iptables() is not None
    assert "raftkv-chaos-" not in _input_rules() if iptables.why_no_iptables() is None else True
