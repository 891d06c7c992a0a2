"""Network partitions: iptables rules between local nodes' loopback addresses, or, for
deployers that can only disconnect a container (compose), isolating one node. Either way a
fault counts only once a probe confirms it (a connection that no longer gets through), and a
heal only once the probe gets through again; otherwise the run fails."""

from __future__ import annotations

import asyncio
import random
import secrets
from typing import Protocol, runtime_checkable

from raftkv.tf.context import RunContext, WorkloadFailed

from . import iptables
from .cuts import plan_cuts
from .events import FaultEvent
from .leader import current_leader
from .probe import can_connect

PROBE_ATTEMPTS = 3
DISCONNECT_PROBE_ATTEMPTS = 10


@runtime_checkable
class Disconnecting(Protocol):
    """Deployers that can take a node off the network (ComposeDeployer), and probe whether
    one node reaches another."""

    async def disconnect_node(self, name: str) -> None: ...

    async def reconnect_node(self, name: str) -> None: ...

    async def can_reach(self, source: str, dest: str) -> bool: ...


def split_addr(addr: str) -> tuple[str, int]:
    host, _, port = addr.rpartition(":")
    return host, int(port)


class IptablesPartition:
    """Cuts links with INPUT rules tagged with this run's tag."""

    kind = "partition"

    def __init__(self, run: iptables.Runner = iptables.run_iptables) -> None:
        self.run = run
        self.tag = iptables.run_tag(secrets.token_hex(4))
        self.active: list[iptables.Cut] = []

    async def prepare(self, ctx: RunContext) -> None:
        removed = await asyncio.to_thread(
            iptables.remove_tagged, self.run, lambda tag: iptables.is_stale(tag, iptables.pid_alive)
        )
        if removed:
            ctx.reporter.note(
                f"nemesis partition: removed {removed} stale iptables rule(s) of an earlier run"
            )

    async def inject(self, ctx: RunContext, variant: str, rng: random.Random) -> FaultEvent:
        leader = await current_leader(ctx)
        plan = plan_cuts(variant, ctx.observer.nodes, leader, rng)
        cuts = [self._cut(ctx, source, dest) for source, dest in plan.links]
        for cut in cuts:
            self.active.append(cut)
            await asyncio.to_thread(self.run, iptables.add_command(cut, self.tag))
        for cut in cuts:
            if not await _probe_until(cut, reachable=False):
                raise WorkloadFailed(
                    f"nemesis partition: {plan.action}: {cut.describe()} still connects"
                )
        targets = tuple(sorted({name for link in plan.links for name in link}))
        detail: dict[str, object] = {
            "variant": variant,
            "links": [c.describe() for c in cuts],
            "tag": self.tag,
        }
        return FaultEvent("partition", plan.action, targets, round(ctx.elapsed(), 3), detail=detail)

    async def heal(self, ctx: RunContext, event: FaultEvent) -> None:
        await self.heal_all(ctx)

    async def heal_all(self, ctx: RunContext) -> None:
        cuts, self.active = self.active, []
        await asyncio.to_thread(iptables.remove_tagged, self.run, lambda tag: tag == self.tag)
        for cut in cuts:
            if not await _probe_until(cut, reachable=True):
                raise WorkloadFailed(f"nemesis partition: {cut.describe()} still cut after heal")

    @staticmethod
    def _cut(ctx: RunContext, source: str, dest: str) -> iptables.Cut:
        source_host, _ = split_addr(ctx.deployer.endpoint(source).public_addr)
        dest_host, dest_port = split_addr(ctx.deployer.endpoint(dest).public_addr)
        return iptables.Cut(source, source_host, dest, dest_host, dest_port)


async def _probe_until(cut: iptables.Cut, *, reachable: bool) -> bool:
    for _ in range(PROBE_ATTEMPTS):
        if await can_connect(cut.source_host, cut.dest_host, cut.dest_port) == reachable:
            return True
        await asyncio.sleep(0.2)
    return False


class DisconnectPartition:
    """Compose: `docker network disconnect` of the leader or a random node, every variant."""

    kind = "partition"

    def __init__(self) -> None:
        self.disconnected: set[str] = set()

    async def prepare(self, ctx: RunContext) -> None:
        return None

    async def inject(self, ctx: RunContext, variant: str, rng: random.Random) -> FaultEvent:
        deployer = ctx.deployer
        assert isinstance(deployer, Disconnecting), "support.py picks this only for such deployers"
        leader = variant == "isolate-leader"
        target = await current_leader(ctx) if leader else rng.choice(sorted(ctx.observer.nodes))
        witness = _witness(ctx, target)
        self.disconnected.add(target)
        await deployer.disconnect_node(target)
        action = f"disconnect {'leader ' if leader else ''}{target}"
        if not await _reach_until(deployer, witness, target, reachable=False):
            raise WorkloadFailed(f"nemesis partition: {action}: {witness} still reaches {target}")
        detail: dict[str, object] = {"variant": variant, "confirmed_from": witness}
        return FaultEvent("partition", action, (target,), round(ctx.elapsed(), 3), detail=detail)

    async def heal(self, ctx: RunContext, event: FaultEvent) -> None:
        await self.heal_all(ctx)

    async def heal_all(self, ctx: RunContext) -> None:
        deployer = ctx.deployer
        assert isinstance(deployer, Disconnecting), "support.py picks this only for such deployers"
        for name in sorted(self.disconnected):
            try:
                await deployer.reconnect_node(name)
            except Exception as error:
                raise WorkloadFailed(
                    f"nemesis partition: could not reconnect {name}: {error}"
                ) from error
            witness = _witness(ctx, name)
            if not await _reach_until(deployer, witness, name, reachable=True):
                raise WorkloadFailed(
                    f"nemesis partition: {witness} still cannot reach {name} after reconnect"
                )
            self.disconnected.discard(name)


def _witness(ctx: RunContext, target: str) -> str:
    """The node whose view confirms `target`'s partition: the first other member."""
    others = sorted(name for name in ctx.observer.nodes if name != target)
    if not others:
        raise WorkloadFailed(f"nemesis partition: no other node to confirm {target}'s isolation")
    return others[0]


async def _reach_until(deployer: Disconnecting, source: str, dest: str, *, reachable: bool) -> bool:
    """Whether `source` reaching `dest` becomes `reachable` within a few probes (Docker
    applies a network change, and its DNS, within a moment)."""
    for _ in range(DISCONNECT_PROBE_ATTEMPTS):
        if await deployer.can_reach(source, dest) == reachable:
            return True
        await asyncio.sleep(0.5)
    return False
