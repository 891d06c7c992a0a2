"""Finding the current leader and the live members through the observer."""

from __future__ import annotations

import asyncio

from raftkv.tf.agreement import agreed_leader
from raftkv.tf.context import RunContext, WorkloadFailed
from raftkv.tf.deployer import node_name


async def current_leader(ctx: RunContext, timeout: float = 10.0) -> str:
    """The name of the leader the cluster agrees on, waiting up to `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        outcome = agreed_leader(ctx.observer.view())
        if outcome.value is not None:
            return node_name(outcome.value.leader_id)
        if asyncio.get_running_loop().time() >= deadline:
            raise WorkloadFailed(
                f"nemesis: no agreed leader within {timeout:.0f} s ({outcome.pending})"
            )
        await asyncio.sleep(0.05)


def minority_size(members: int) -> int:
    """The largest group that is never a majority: 1 of 3, 2 of 5."""
    return max(1, (members - 1) // 2)
