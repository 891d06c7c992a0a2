"""One incarnation of a simulated node: a `RawNode` driven exactly as the real node drives it.

The `Ready` contract (`raftkv/core/ready.py`), step by step: `messages` go on the wire at once;
the write goes to storage and completes after a random delay (the model of fsync); only then
are `persisted_messages` sent, `committed` applied to the `KvStateMachine`, read states handed
to the waiting readers and `advance(rd)` called. One `Ready` is in flight at a time. A crash
throws this object away; its `SimStorage` lives on and boots the next incarnation.
"""

from __future__ import annotations

import random
from typing import Any, Protocol

import msgspec

from raftkv.core import (
    BootState,
    Compacted,
    CoreConfig,
    EntryKind,
    Message,
    NodeId,
    Ready,
    Role,
    SnapshotRequest,
)
from raftkv.kv import KvStateMachine

from .checkers import CheckerSet
from .clients import Clients
from .log import SimLog
from .storage import SimStorage


class Host(Protocol):
    """What a node needs from the cluster around it."""

    now: int
    step_no: int

    def send(self, msg: Message) -> None: ...
    def record(self, node: NodeId, kind: str, payload: Any = None) -> None: ...
    def persist_delay(self) -> int: ...

    @property
    def checkers(self) -> CheckerSet: ...
    @property
    def clients(self) -> Clients: ...


def make_core(
    node_id: NodeId, config: CoreConfig, rng: random.Random, now: int, boot: BootState | None
) -> Any:
    """Build the real core (imported late: the simulator's other parts do not need it)."""
    from raftkv.core import RawNode

    return RawNode(node_id, config, rng, now, boot)


class SimNode:
    """A running node: core, state machine, volatile log view, and its disk."""

    def __init__(
        self,
        node_id: NodeId,
        incarnation: int,
        core: Any,
        storage: SimStorage,
        host: Host,
        snapshot_every: int,
    ) -> None:
        self.id = node_id
        self.incarnation = incarnation
        self.core = core
        self.storage = storage
        self.host = host
        self.snapshot_every = snapshot_every
        self.sm = KvStateMachine()
        self.log: SimLog = storage.log.copy()
        self.role = Role.FOLLOWER
        self.term = storage.hard_state.term
        self.applied = 0
        if storage.snapshot is not None:
            self.sm.restore(storage.snapshot_data)
            self.applied = storage.snapshot.last_index
        host.checkers.on_restore(node_id, self.applied)

    def process(self) -> None:
        """Hand out Readies until one must wait for its write (or there is nothing to do)."""
        storage = self.storage
        core = self.core
        while storage.pending is None:
            self.maybe_snapshot()
            if not core.has_ready():
                return
            rd = core.ready()
            delay = self.start(rd)
            if delay > 0:
                storage.submit(rd, self.host.now + delay)
                return
            if rd.must_persist():
                storage.persist(rd)
            self.finish(rd)

    def start(self, rd: Ready) -> int:
        """Steps 1 of the contract (and the bookkeeping of what the core handed out); returns
        the persistence delay in ms (0: nothing to persist, or an instant disk)."""
        host = self.host
        host.record(self.id, "ready", rd)
        if rd.hard_state is not None:
            self.term = rd.hard_state.term
        if rd.snapshot is not None:
            self.log.install_snapshot(rd.snapshot.meta)
        if rd.entries:
            removed = self.log.append(rd.entries)
            host.checkers.on_log_write(self.id, self.log, rd.entries, removed)
        if rd.soft_state is not None:
            self.role = rd.soft_state.role
            self.term = max(self.term, rd.soft_state.term)
            host.checkers.on_role(self.id, rd.soft_state.term, self.role, self.log)
        for msg in rd.messages:
            self.send(msg)
        return host.persist_delay() if rd.must_persist() else 0

    def complete_write(self) -> None:
        """The write in flight is durable now: carry out the rest of its `Ready`."""
        self.finish(self.storage.complete())

    def finish(self, rd: Ready) -> None:
        """Steps 3 to 6 of the contract, after the write of `rd` is durable."""
        host = self.host
        for msg in rd.persisted_messages:
            self.send(msg)
        if rd.snapshot is not None:
            meta = rd.snapshot.meta
            host.record(self.id, "install", f"snapshot {meta.last_term}/{meta.last_index}")
            self.sm.restore(rd.snapshot.data)
            self.applied = rd.snapshot.meta.last_index
            host.checkers.on_restore(self.id, self.applied)
            host.clients.on_snapshot(self, self.applied)
            host.clients.on_progress(self)
        if rd.committed:
            self.apply(rd)
        for read_state in rd.read_states:
            host.clients.on_read_state(self, read_state)
        self.core.advance(rd)
        self.observe()

    def apply(self, rd: Ready) -> None:
        checkers = self.host.checkers
        clients = self.host.clients
        sm = self.sm
        for entry in rd.committed:
            result = None
            if entry.kind == EntryKind.COMMAND:
                result = sm.apply(entry.index, entry.data)
            else:
                sm.mark_applied(entry.index)
            self.applied = entry.index
            checkers.on_apply(self.id, self.term, entry)
            clients.on_applied(self, entry, result)
        clients.on_progress(self)

    def watch_role(self) -> None:
        """After an input: report a new leadership at once, before any other node can react
        to it (the core's own assertions would otherwise see a double leader first)."""
        core = self.core
        if core.role is Role.LEADER and (self.role is not Role.LEADER or self.term != core.term):
            self.role = Role.LEADER
            self.term = core.term
            self.host.checkers.on_role(self.id, self.term, Role.LEADER, self.log)

    def observe(self) -> None:
        check_invariants = getattr(self.core, "check_invariants", None)
        if check_invariants is not None:
            check_invariants()
        status = self.core.status()
        self.role = status.role
        self.term = status.term
        checkers = self.host.checkers
        checkers.on_status(self.id, self.incarnation, status, self.storage.purged_index)
        if status.role is Role.LEADER:
            checkers.on_leader_commit(self.id, status.term, status.commit_index, self.log)

    def send(self, msg: Message) -> None:
        if isinstance(msg, SnapshotRequest) and not msg.data:
            msg = msgspec.structs.replace(msg, data=self.storage.snapshot_bytes_for(msg.meta))
        self.host.send(msg)

    def maybe_snapshot(self) -> None:
        """Snapshot the state machine and compact the log every `snapshot_every` applied
        entries (the snapshot is durable before `compact`, as the contract requires)."""
        base = self.storage.snapshot.last_index if self.storage.snapshot is not None else 0
        if self.snapshot_every <= 0 or self.applied - base < self.snapshot_every:
            return
        try:
            meta = self.core.snapshot_meta(self.applied)
        except Compacted:
            return
        self.storage.save_snapshot(meta, self.sm.snapshot())
        self.log.compact(meta)
        self.core.compact(meta)
        self.host.record(self.id, "snapshot", f"{meta.last_term}/{meta.last_index}")
