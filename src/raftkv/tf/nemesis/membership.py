"""Membership churn under load: replace a voter by a fresh node under a new id, and hand
leadership over.

Replacing: C_new without the victim commits (the fault: two voters), the victim is killed
and its data wiped, then (heal) a new process with a never-used id joins as a learner,
catches up (blocking add-learner) and is promoted. `ctx.observer.nodes` follows the
members at every step: the clients and the convergence check read it.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable
from typing import Protocol, TypeVar, runtime_checkable

from raftkv.tf.context import RunContext, WorkloadFailed
from raftkv.tf.deployer import NodeEndpoint, node_id_of, node_name

from .events import FaultEvent
from .leader import current_leader

CHANGE_TIMEOUT_S = 20.0

T = TypeVar("T")


@runtime_checkable
class Growing(Protocol):
    """Deployers that can add and remove nodes while the run goes on (LocalDeployer)."""

    async def add_node(self, node_id: int) -> NodeEndpoint: ...

    async def remove_node(self, name: str) -> None: ...


class MembershipNemesis:
    kind = "membership"

    def __init__(self) -> None:
        self.max_id_used = -1
        self.removed: str | None = None

    async def prepare(self, ctx: RunContext) -> None:
        self.max_id_used = max(node_id_of(name) for name in ctx.observer.nodes)

    async def inject(self, ctx: RunContext, variant: str, rng: random.Random) -> FaultEvent:
        if variant == "transfer-leader":
            return await self._transfer(ctx)
        victim = rng.choice(sorted(ctx.observer.nodes))
        remaining = sorted(set(ctx.observer.nodes) - {victim})
        voters = frozenset(node_id_of(name) for name in remaining)
        admin = ctx.clients.node(remaining[0])
        await self._guard(
            f"remove voter {victim}", admin.change_membership(voters, timeout=CHANGE_TIMEOUT_S)
        )
        self.removed = victim
        await ctx.observer.remove_node(victim)
        await self._deployer(ctx).remove_node(victim)
        await ctx.observer.wait_voters(voters, CHANGE_TIMEOUT_S)
        action = f"remove voter {victim} (killed, data wiped)"
        return FaultEvent(
            "membership", action, (victim,), round(ctx.elapsed(), 3), detail={"variant": variant}
        )

    async def heal(self, ctx: RunContext, event: FaultEvent) -> None:
        newcomer = await self._replace(ctx)
        if newcomer is not None:
            event.detail["replaced_by"] = newcomer
            event.action += f", replaced by {newcomer}"

    async def heal_all(self, ctx: RunContext) -> None:
        await self._replace(ctx)

    async def _replace(self, ctx: RunContext) -> str | None:
        """Adds a node under a new id as learner, then promotes it; None when no voter is
        missing."""
        if self.removed is None:
            return None
        self.max_id_used += 1
        new_id = self.max_id_used
        endpoint = await self._guard(f"start node-{new_id}", self._deployer(ctx).add_node(new_id))
        admin = ctx.clients.node(sorted(ctx.observer.nodes)[0])
        await self._guard(
            f"add learner node-{new_id}",
            admin.add_learner(
                new_id, endpoint.public_addr, blocking=True, timeout=CHANGE_TIMEOUT_S
            ),
        )
        await ctx.observer.add_node(endpoint.name)
        voters = frozenset(node_id_of(name) for name in ctx.observer.nodes)
        await self._guard(
            f"promote node-{new_id}", admin.change_membership(voters, timeout=CHANGE_TIMEOUT_S)
        )
        await ctx.observer.wait_voters(voters, CHANGE_TIMEOUT_S)
        self.removed = None
        return node_name(new_id)

    async def _transfer(self, ctx: RunContext) -> FaultEvent:
        leader = await current_leader(ctx)
        admin = ctx.clients.node(leader)
        new_id = await self._guard(
            f"transfer leadership from {leader}", admin.transfer_leader(None)
        )
        new_leader = node_name(new_id)
        action = f"transfer leadership {leader} -> {new_leader}"
        return FaultEvent("transfer", action, (leader, new_leader), round(ctx.elapsed(), 3))

    @staticmethod
    async def _guard(what: str, call: Awaitable[T]) -> T:
        try:
            return await call
        except WorkloadFailed:
            raise
        except Exception as error:
            raise WorkloadFailed(f"nemesis membership: {what} failed: {error}") from error

    @staticmethod
    def _deployer(ctx: RunContext) -> Growing:
        if not isinstance(ctx.deployer, Growing):
            raise WorkloadFailed(
                f"nemesis membership: {type(ctx.deployer).__name__} cannot add nodes"
            )
        return ctx.deployer
