"""A tiny deterministic network and storage for message-level tests of the core.

`Cluster` owns RawNodes, a model of each node's durable storage (what a crash keeps), and a
queue of messages in flight. Readys are carried out by running `plan_ready(rd)` (the
production plan, `raftkv/core/plan.py`) command by command, as the node and the simulator do.
Links can be cut; messages can be held, dropped or delivered selectively.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import msgspec

from raftkv.core import (
    Advance,
    Apply,
    BootState,
    CoreConfig,
    Entry,
    EntryKind,
    HandReads,
    HardState,
    InstallState,
    Message,
    NodeInfo,
    NoteSoftState,
    Persist,
    RawNode,
    ReadState,
    Ready,
    ReadyCommand,
    Role,
    Send,
    SnapshotMeta,
    SnapshotRequest,
    plan_ready,
)

FAST = CoreConfig(
    heartbeat_interval=10,
    election_timeout_min=50,
    election_timeout_max=100,
    max_append_entries=64,
    max_inflight=4,
)


@dataclass
class Disk:
    """What survives a crash: everything a Ready persisted and the node advanced."""

    hard_state: HardState = field(default_factory=HardState)
    snapshot: SnapshotMeta | None = None
    snapshot_data: bytes = b""
    entries: list[Entry] = field(default_factory=list)

    def first_index(self) -> int:
        return (self.snapshot.last_index if self.snapshot else 0) + 1

    def term_at(self, index: int) -> int | None:
        if self.snapshot and index == self.snapshot.last_index:
            return self.snapshot.last_term
        pos = index - self.first_index()
        return self.entries[pos].term if 0 <= pos < len(self.entries) else None

    def persist(self, rd: Ready | Persist) -> None:
        """Write what `rd` (a whole Ready, or its `Persist` command) asks to make durable."""
        if rd.snapshot is not None:
            meta = rd.snapshot.meta
            keep = self.term_at(meta.last_index) == meta.last_term
            suffix = [e for e in self.entries if e.index > meta.last_index] if keep else []
            self.snapshot, self.snapshot_data, self.entries = meta, rd.snapshot.data, suffix
        if rd.entries:
            first = rd.entries[0].index
            assert first >= self.first_index(), "rewrites compacted entries"
            assert first <= self.first_index() + len(self.entries), "gap in the log"
            del self.entries[first - self.first_index() :]
            self.entries.extend(rd.entries)
        if rd.hard_state is not None:
            self.hard_state = rd.hard_state

    def compact(self, meta: SnapshotMeta, data: bytes) -> None:
        self.entries = [e for e in self.entries if e.index > meta.last_index]
        self.snapshot, self.snapshot_data = meta, data

    def boot(self) -> BootState:
        return BootState(self.hard_state, self.snapshot, list(self.entries))


class Cluster:
    def __init__(
        self,
        ids: Iterable[int],
        config: CoreConfig = FAST,
        seed: int = 1,
    ) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.now = 0
        self.ids = sorted(ids)
        self.disks = {i: Disk() for i in self.ids}
        self.nodes = {i: self._make(i) for i in self.ids}
        self.queue: list[Message] = []
        self.cut: set[tuple[int, int]] = set()
        self.applied: dict[int, list[Entry]] = {i: [] for i in self.ids}
        self.reads: dict[int, list[ReadState]] = {i: [] for i in self.ids}
        self.readys: dict[int, list[Ready]] = {i: [] for i in self.ids}
        self.sent: list[Message] = []
        self.crashed: set[int] = set()

    def _make(self, node_id: int) -> RawNode:
        rng = random.Random(self.rng.random())
        return RawNode(node_id, self.config, rng, self.now, self.disks[node_id].boot())

    # -- Ready handling ------------------------------------------------------------------

    def handle_ready(self, node_id: int) -> Ready:
        node = self.nodes[node_id]
        rd = node.ready()
        self.readys[node_id].append(rd)
        for command in plan_ready(rd):
            self._run(node_id, command)
        node.check_invariants()
        return rd

    def _run(self, node_id: int, command: ReadyCommand) -> None:
        """Carry out one command of a Ready's plan (the harness's disk is instant)."""
        match command:
            case NoteSoftState():
                pass  # tests read roles from the core itself
            case Send(messages):
                self._send(messages)
            case Apply(entries):
                self.applied[node_id].extend(entries)
            case Persist():
                self.disks[node_id].persist(command)
            case InstallState(snapshot):
                self.applied[node_id] = restore_commands(snapshot.data)
            case HandReads(read_states):
                self.reads[node_id].extend(read_states)
            case Advance(ready):
                self.nodes[node_id].advance(ready)

    def _send(self, msgs: Sequence[Message]) -> None:
        for msg in msgs:
            if isinstance(msg, SnapshotRequest):
                # The runtime attaches the bytes of the latest stored snapshot.
                disk = self.disks[msg.frm]
                assert disk.snapshot == msg.meta, "a SnapshotRequest names the latest snapshot"
                msg = msgspec.structs.replace(msg, data=disk.snapshot_data)
            self.sent.append(msg)
            self.queue.append(msg)

    def take_snapshot(self, node_id: int) -> SnapshotMeta:
        """What the runtime does: snapshot the state machine at applied, store it, compact."""
        node = self.nodes[node_id]
        meta = node.snapshot_meta(node.status().applied_index)
        data = b"|".join(self.commands(node_id))
        self.disks[node_id].compact(meta, data)
        node.compact(meta)
        return meta

    def process(self) -> None:
        """Carry out every pending Ready (nodes may produce new ones as they advance)."""
        busy = True
        while busy:
            busy = False
            for node_id in self.ids:
                if node_id not in self.crashed and self.nodes[node_id].has_ready():
                    self.handle_ready(node_id)
                    busy = True

    # -- network -------------------------------------------------------------------------

    def deliver(self, keep: Callable[[Message], bool] | None = None) -> int:
        """Deliver what is queued now (not what it causes); `keep` filters (False = drop)."""
        batch, self.queue = self.queue, []
        count = 0
        for msg in batch:
            if (msg.frm, msg.to) in self.cut or msg.to in self.crashed:
                continue
            if keep is not None and not keep(msg):
                continue
            if msg.to in self.nodes:
                self.nodes[msg.to].step(msg)
                count += 1
        self.process()
        return count

    def stabilize(self, max_rounds: int = 200) -> None:
        self.process()
        for _ in range(max_rounds):
            if not self.queue:
                return
            self.deliver()
        raise AssertionError("did not stabilize")

    def tick(self, ms: int) -> None:
        self.now += ms
        for node_id in self.ids:
            if node_id not in self.crashed:
                self.nodes[node_id].tick(self.now)
        self.process()

    def run(self, ms: int, step: int = 5) -> None:
        """Let time pass, delivering everything as it happens."""
        for _ in range(ms // step):
            self.tick(step)
            self.stabilize()

    def isolate(self, node_id: int) -> None:
        for other in self.ids:
            if other != node_id:
                self.cut.add((node_id, other))
                self.cut.add((other, node_id))

    def heal(self) -> None:
        self.cut.clear()

    # -- faults --------------------------------------------------------------------------

    def crash(self, node_id: int) -> None:
        self.crashed.add(node_id)
        self.queue = [m for m in self.queue if m.to != node_id]

    def restart(self, node_id: int) -> None:
        self.crashed.discard(node_id)
        self.nodes[node_id] = self._make(node_id)
        disk = self.disks[node_id]
        self.applied[node_id] = restore_commands(disk.snapshot_data)

    # -- queries -------------------------------------------------------------------------

    def leaders(self) -> list[int]:
        return [i for i in self.ids if i not in self.crashed and self.nodes[i].role is Role.LEADER]

    def leader(self) -> int:
        leaders = self.leaders()
        assert len(leaders) == 1, f"leaders: {leaders}"
        return leaders[0]

    def commands(self, node_id: int) -> list[bytes]:
        return [e.data for e in self.applied[node_id] if e.kind is EntryKind.COMMAND]


def restore_commands(data: bytes) -> list[Entry]:
    """The state machine of these tests is the list of applied commands."""
    return [Entry(0, 0, EntryKind.COMMAND, c) for c in data.split(b"|") if c]


def info(node_id: int) -> NodeInfo:
    return NodeInfo(addr=f"127.0.0.1:{8000 + node_id}", storage_id=f"s{node_id}")


def bootstrap(
    ids: Iterable[int],
    config: CoreConfig = FAST,
    seed: int = 1,
    voters: Iterable[int] | None = None,
) -> Cluster:
    """A cluster of `voters` (default: all `ids`) with the first as leader: init, add learners,
    promote (the TF flow). Other ids exist as pristine nodes."""
    cluster = Cluster(ids, config, seed)
    members = sorted(cluster.ids if voters is None else voters)
    first, *rest = members
    cluster.nodes[first].initialize(info(first), "cluster-1")
    cluster.stabilize()
    for node_id in rest:
        cluster.nodes[first].add_learner(node_id, info(node_id))
        cluster.stabilize()
    if rest:
        cluster.nodes[first].change_membership(set(members), retain=False)
        cluster.stabilize()
    return cluster
