"""The failover workload: form the cluster, write a batch, restart the leader, wait for a
different leader, write another batch.

Keys are `<prefix>-<i>` with values `value-<i>`, numbered across both batches. Each write
goes through a cluster client that retries the same (client_id, serial) until the write's
deadline, so a spurious election or the restart itself never fails a write that the
cluster would accept a little later. The failover time is measured from the moment the
restart is issued: to the new leader's agreement, and to the first acknowledged write.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from raftkv.client import ClusterClient

from ..agreement import Leadership
from ..concurrency import first_failure
from ..context import RunContext
from ..deployer import NodeSettings, RestartMode, node_name
from .bootstrap import bootstrap_cluster

#: Time allowed for a restarted node to come back, on top of 3 election timeouts.
RESTART_ALLOWANCE_S = 10.0


@dataclass(frozen=True, slots=True)
class FailoverWorkload:
    first_batch: int = 8
    second_batch: int = 8
    key_prefix: str = "raft-key"
    restart_mode: RestartMode = "kill"
    """kill (the seed's): SIGKILL and respawn; graceful: SIGTERM, leadership handed over."""
    write_timeout: float | None = None
    """Deadline of one write (retries included); default 3 x election max + restart time."""
    wait_timeout: float = 30.0
    """Deadline of each wait for the cluster (leader, membership)."""
    name: str = "failover"

    def __post_init__(self) -> None:
        if self.first_batch < 1 or self.second_batch < 1:
            raise ValueError("failover batches need at least one write each")
        if self.restart_mode not in ("graceful", "kill"):
            raise ValueError(f"restart mode must be graceful or kill, not {self.restart_mode!r}")

    def write_deadline(self, settings: NodeSettings) -> float:
        if self.write_timeout is not None:
            return self.write_timeout
        return 3 * settings.election_timeout_max_ms / 1000 + RESTART_ALLOWANCE_S

    async def run(self, ctx: RunContext) -> None:
        await bootstrap_cluster(ctx, timeout=self.wait_timeout)
        writer = ctx.clients.cluster(ctx.names)
        first = range(self.first_batch)
        async with ctx.step(f"write {len(first)} keys through the leader"):
            await self._write_all(ctx, writer, first)
        old = await ctx.observer.wait_leader(self.wait_timeout)
        await self._fail_over(ctx, writer, old)
        rest = range(self.first_batch + 1, self.first_batch + self.second_batch)
        async with ctx.step(f"write {len(rest)} more keys") as step:
            await self._write_all(ctx, writer, rest)
            step.detail = f"{self.first_batch + self.second_batch} keys acknowledged in all"

    async def _fail_over(self, ctx: RunContext, writer: ClusterClient, old: Leadership) -> None:
        """Restarts the leader; meanwhile waits for a different leader and a first write."""
        old_name = node_name(old.leader_id)
        issued = time.monotonic()
        with first_failure():
            async with asyncio.TaskGroup() as group:
                group.create_task(self._restart(ctx, old_name))
                async with ctx.step(f"wait for a leader other than {old}") as step:
                    new = await ctx.observer.wait_leader(self.wait_timeout, different_from=old)
                    agreed = time.monotonic() - issued
                    step.detail = f"new leader {new}"
                async with ctx.step("first write after the restart"):
                    await self._write_all(ctx, writer, [self.first_batch])
                    acknowledged = time.monotonic() - issued
        ctx.measure("failover_leader_agreed_s", agreed)
        ctx.measure("failover_first_write_s", acknowledged)
        ctx.fact("old_leader", {"node": old_name, "term": old.term})
        ctx.fact("new_leader", {"node": node_name(new.leader_id), "term": new.term})
        ctx.reporter.note(
            f"leader {old} -> {new}; failover: restart issued -> new leader agreed "
            f"{agreed:.2f} s -> first write acknowledged {acknowledged:.2f} s"
        )

    async def _restart(self, ctx: RunContext, name: str) -> None:
        async with ctx.step(f"restart leader {name} ({self.restart_mode})"):
            await ctx.deployer.restart_node(name, self.restart_mode)

    async def _write_all(
        self, ctx: RunContext, writer: ClusterClient, indexes: range | list[int]
    ) -> None:
        deadline = self.write_deadline(ctx.topology.settings)
        for index in indexes:
            key, value = f"{self.key_prefix}-{index}", f"value-{index}"
            await writer.write(key, value, deadline=deadline)  # recorded in ctx.writes
