"""A simulated cluster: nodes, their disks, the network and the virtual clock.

`step()` is the unit of simulation (see the package docstring). Faults, the operator and the
clients act on the cluster through the methods here; checkers watch every node.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import msgspec

from raftkv.core import BootState, Core, CoreConfig, NodeId, NodeInfo, Role

from .checkers import CheckerSet
from .clients import Clients
from .events import EventLog
from .hints import Hints
from .network import Network
from .node import SimNode, make_core
from .options import TICK_MS, SimOptions
from .storage import SimStorage

CoreFactory = Callable[[NodeId, CoreConfig, random.Random, int, BootState | None], Core]


def _happens(rng: random.Random, chance: float) -> bool:
    """Draw an event of probability `chance` (no draw when it is certain or impossible)."""
    return chance >= 1.0 or (chance > 0.0 and rng.random() < chance)


def node_info(node_id: NodeId) -> NodeInfo:
    return NodeInfo(addr=f"sim-{node_id}:80", storage_id=f"disk-{node_id}")


class Cluster:
    """Every node of one run, alive or crashed, and what connects them."""

    def __init__(
        self,
        options: SimOptions,
        core_factory: CoreFactory = make_core,
        storage_factory: Callable[[], SimStorage] = SimStorage,
    ) -> None:
        seeds = options.sub_seeds
        self.options = options
        self.config = options.config
        self.core_factory = core_factory
        self.storage_factory = storage_factory
        self.network = Network(random.Random(seeds[0]), options.network)
        self.storage_rng = random.Random(seeds[1])
        self.clients = Clients(random.Random(seeds[2]), options.workload)
        self.core_rng = random.Random(seeds[5])
        self.hints = Hints(random.Random(seeds[6]), options.network)
        self.store_rng = random.Random(seeds[7])
        self.send_rng = random.Random(seeds[8])
        self.checkers = CheckerSet()
        self.events = EventLog()
        self.now = 0
        self.step_no = 0
        self.node_steps = 0
        self.nodes: dict[NodeId, SimNode] = {}
        self.storages: dict[NodeId, SimStorage] = {}
        self.incarnations: dict[NodeId, int] = {}
        self.next_id = 0
        self.attempts = 1
        """How many times the cluster was initialized (see `reinitialize`)."""
        self.paused: set[NodeId] = set()
        """Running nodes that are paused: no tick, no input, no output, no disk completion."""
        self.held: dict[NodeId, list[tuple[Any, Any]]] = {}
        """What reached a paused node, by source (a peer's id, or a client's id for a read), in
        arrival order: handled at resume, before its first tick."""
        self.clients.hold = self.hold_read

    # -- the Host protocol of SimNode ------------------------------------------------------

    def send(self, msg: Any) -> None:
        self.events.add(self.step_no, msg.frm, "send", msg)
        self.network.send(msg, self.now)

    def record(self, node: NodeId, kind: str, payload: Any = None) -> None:
        self.events.add(self.step_no, node, kind, payload)

    def tally(self, kind: str, count: int = 1) -> None:
        self.events.tally(kind, count)

    def persist_delay(self) -> int:
        faults = self.options.faults
        rng = self.storage_rng
        if faults.slow_write and rng.random() < faults.slow_write:
            return rng.randint(faults.persist_max + 1, faults.slow_write_max)
        if faults.persist_max == 0 or rng.random() < faults.persist_instant:
            return 0
        return rng.randint(1, faults.persist_max)

    def store_syncs(self) -> bool:
        """Whether the state store syncs after this apply batch."""
        return _happens(self.store_rng, self.options.faults.store_sync)

    def snapshot_delay(self) -> int:
        """How long (ms) the copy of the state store for a snapshot takes."""
        most = self.options.faults.snapshot_max
        return self.store_rng.randint(0, most) if most else 0

    def install_delay(self) -> int:
        """How long (ms) swapping the state store for an installed snapshot takes."""
        most = self.options.faults.install_max
        return self.store_rng.randint(0, most) if most else 0

    def fresh_copy(self) -> bool:
        """Whether this snapshot to send is a copy of the state store, as in production."""
        return _happens(self.send_rng, self.options.faults.fresh_copy)

    def copy_delay(self) -> int:
        """How long (ms) copying the state store for a snapshot to send takes."""
        most = self.options.faults.copy_max
        return self.send_rng.randint(0, most) if most else 0

    # -- lifecycle of nodes -----------------------------------------------------------------

    def new_node(self) -> SimNode:
        """Start a fresh, pristine node under a never-used id."""
        node_id = self.next_id
        self.next_id += 1
        self.storages[node_id] = self.storage_factory()
        return self.start(node_id)

    def start(self, node_id: NodeId) -> SimNode:
        """Boot `node_id` from what its disk holds (pristine if nothing)."""
        storage = self.storages[node_id]
        storage.crash()
        boot = msgspec.structs.replace(
            storage.boot_state(), applied_index=storage.state.applied_index
        )
        incarnation = self.incarnations.get(node_id, 0) + 1
        self.incarnations[node_id] = incarnation
        rng = random.Random(self.core_rng.getrandbits(63))
        core = self.core_factory(
            node_id, self.config, rng, self.now, None if boot.pristine else boot
        )
        node = SimNode(node_id, incarnation, core, storage, self, self.options.snapshot_every)
        self.nodes[node_id] = node
        self.record(node_id, "start", f"incarnation {incarnation}")
        node.observe()
        return node

    def crash(self, node_id: NodeId) -> None:
        """Kill the incarnation: memory, the write in flight, a snapshot being taken and what
        the state store did not sync are lost; the rest of the disk stays."""
        node = self.nodes.pop(node_id)
        self.paused.discard(node_id)
        self.held.pop(node_id, None)
        self.record(node_id, "crash")
        node.record_losses()
        node.storage.crash()
        self.hints.on_crash(node_id, self.nodes, self.network.blocked, self.now)
        self.checkers.on_crash(node_id, node.storage.hard_state.term)
        self.clients.on_crash(node_id)

    def pause(self, node_id: NodeId) -> None:
        """Stop the process (SIGSTOP, a long GC pause): its clock, input, output and disk wait."""
        self.paused.add(node_id)
        self.held[node_id] = []
        self.record(node_id, "pause")

    def hold_read(self, node_id: NodeId, client_id: str, ctx: int) -> bool:
        """A client's read reaching a paused node waits with its other inputs."""
        if node_id not in self.paused:
            return False
        self.held[node_id].append((client_id, ctx))
        return True

    def resume(self, node_id: NodeId, rng: random.Random) -> None:
        """The process runs again and drains what queued up, one connection after another in
        an order nobody controls (`rng`), each in arrival order; its first tick comes after."""
        if node_id not in self.paused:
            return
        self.paused.discard(node_id)
        held = self.held.pop(node_id, [])
        node = self.nodes[node_id]
        self.record(node_id, "resume", f"{len(held)} inputs queued")
        sources = list(dict.fromkeys(source for source, _ in held))
        rng.shuffle(sources)
        for source in sources:
            for frm, item in held:
                if frm != source:
                    continue
                if isinstance(frm, str):
                    node.core.read_index(item)
                else:
                    self.events.add(self.step_no, node_id, "recv", item)
                    node.core.step(item)
                node.watch_role()

    def destroy(self, node_id: NodeId) -> None:
        """Remove a node for good (it left the cluster): its disk is wiped."""
        if node_id in self.nodes:
            self.crash(node_id)
        self.storages.pop(node_id, None)
        self.record(node_id, "destroy")

    def initialize(self, node: SimNode) -> None:
        node.core.initialize(node_info(node.id), f"sim-{self.options.seed}")
        self.record(node.id, "initialize")

    def reinitialize(self, node: SimNode) -> None:
        """The operator retries /admin/init: the first attempt left nothing on any disk and
        nothing in any running node. The retry founds a new cluster under a new cluster id,
        so nothing of the lost attempt counts any more: its messages still in flight would be
        refused (they are dropped here), and the checkers start over (what it handed out was
        never durable, and nobody else saw it)."""
        self.network.clear()
        self.checkers = CheckerSet()
        self.attempts += 1
        node.core.initialize(node_info(node.id), f"sim-{self.options.seed}-{self.attempts}")
        self.record(node.id, "initialize", f"attempt {self.attempts}")

    # -- the step ---------------------------------------------------------------------------

    def advance_clock(self) -> None:
        self.step_no += 1
        self.now += TICK_MS

    def deliver(self) -> None:
        nodes = self.nodes
        events = self.events
        step_no = self.step_no
        held = self.held
        for msg in self.network.due(self.now):
            node = nodes.get(msg.to)
            if held and msg.to in held:
                held[msg.to].append((msg.frm, msg))
            elif node is not None:
                events.add(step_no, msg.to, "recv", msg)
                node.core.step(msg)
                node.watch_role()
        for to, peer in self.hints.due(self.now):
            node = nodes.get(to)
            if node is not None and to not in held and node.core.connection_lost(peer):
                events.add(step_no, to, "disconnect", f"leader {peer}'s connection closed")

    def complete_writes(self) -> None:
        """The disk completes every write, store swap and snapshot due by now."""
        now = self.now
        paused = self.paused
        for node in list(self.nodes.values()):
            if node.id not in paused:
                node.complete_due(now)

    def tick(self) -> None:
        now = self.now
        paused = self.paused
        for node in self.nodes.values():
            if node.id not in paused:
                node.core.tick(now)
                node.watch_role()
        self.node_steps += len(self.nodes)

    def process(self) -> None:
        paused = self.paused
        for node in list(self.nodes.values()):
            if node.id not in paused:
                node.process()

    # -- queries ----------------------------------------------------------------------------

    def leader(self) -> SimNode | None:
        """The live node that is leader in the highest term, if any."""
        best: SimNode | None = None
        for node in self.nodes.values():
            if node.role == Role.LEADER and (best is None or node.term > best.term):
                best = node
        return best
