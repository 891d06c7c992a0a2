"""Bootstrap through the admin API: node 0 alone, the others as learners, then all voters.

Every scenario that needs a formed cluster starts with this, whatever the deployer.
"""

from __future__ import annotations

from ..agreement import Leadership
from ..context import RunContext, WorkloadFailed
from ..deployer import node_id_of


async def bootstrap_cluster(ctx: RunContext, *, timeout: float) -> Leadership:
    """Forms a cluster of every node of the topology; returns the agreed leader (node 0)."""
    first, *others = ctx.names
    admin = ctx.clients.node(first)
    async with ctx.step(f"bootstrap {first} as a one-node cluster") as step:
        await admin.init(timeout=timeout)
        leader = await ctx.observer.wait_leader(timeout)
        step.detail = f"leader {leader}"
    if leader.leader_id != node_id_of(first):
        raise WorkloadFailed(f"after /admin/init on {first}, the agreed leader is {leader}")
    if not others:
        return leader
    async with ctx.step(f"add {', '.join(others)} as learners"):
        for name in others:
            addr = ctx.endpoints[name].public_addr
            await admin.add_learner(node_id_of(name), addr, blocking=True, timeout=timeout)
    voters = frozenset(node_id_of(name) for name in ctx.names)
    async with ctx.step(f"promote to voters {sorted(voters)}"):
        await admin.change_membership(voters, timeout=timeout)
        await ctx.observer.wait_voters(voters, timeout)
    return leader
