"""One incarnation of a simulated node: a core driven exactly as the real node drives it.

Each `Ready` is carried out by running `plan_ready(rd, PRODUCTION)` (`raftkv/core/plan.py`), the
plan the node's driver runs: the commands before `Persist` at once (the leader's appends leave,
entries an earlier `Ready` made durable are applied), then the write goes to storage and
completes after a random delay (the model of fsync), and the commands after it run when it
completes. One `Ready` is in flight at a time.

The key-value state lives in the node's state store (`state_store.py`), as in production: it
syncs now and then, an installed snapshot swaps it (which takes time, like the write), and a
snapshot of its own is a copy taken when it starts and saved (then the log compacted) when it
finishes, later. A snapshot to send is attached as production does (`snapshot_send.py`: often
a copy of the store, at a later index than the core named, that leaves later). A crash throws
this object away, with the write in flight and the rest of its plan, the swap, the snapshot and
the copies under way and what the store did not sync; its `SimStorage` lives on and boots the
next incarnation, which first restores a store behind the log's base from the snapshot, then
replays the log after the store's applied index.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from raftkv.core import (
    PRODUCTION,
    Advance,
    Apply,
    BootState,
    Compacted,
    Core,
    CoreConfig,
    Entry,
    EntryKind,
    HandReads,
    InstallSnapshot,
    InstallState,
    Message,
    NodeId,
    NoteSoftState,
    Persist,
    ReadyCommand,
    Role,
    Send,
    SnapshotRequest,
    SoftState,
    plan_ready,
)
from raftkv.kv import KvStateMachine

from .clients import Clients
from .log import SimLog
from .snapshot_send import SendHost, SnapshotSender
from .state_store import SimStateStore
from .storage import SimStorage


class Host(SendHost, Protocol):
    """What a node needs from the cluster around it."""

    step_no: int

    def persist_delay(self) -> int: ...
    def store_syncs(self) -> bool: ...
    def snapshot_delay(self) -> int: ...
    def install_delay(self) -> int: ...

    @property
    def clients(self) -> Clients: ...


def make_core(
    node_id: NodeId, config: CoreConfig, rng: random.Random, now: int, boot: BootState | None
) -> Core:
    """Build the real core (imported late: the simulator's other parts do not need it)."""
    from raftkv.core import RawNode

    return RawNode(node_id, config, rng, now, boot)


@dataclass(slots=True)
class Waiting:
    """What the disk is carrying out for a plan (a write, or the swap of an install), done at
    virtual time `done_at` (ms), and the commands of the plan that run once it is done."""

    command: ReadyCommand
    done_at: int
    rest: list[ReadyCommand]


@dataclass(slots=True)
class SnapshotJob:
    """A snapshot of the node's own state store: `data` is the state at `index`, copied when
    the job started; it is saved and the log compacted at `done_at` (ms)."""

    index: int
    data: bytes
    done_at: int


class SimNode:
    """A running node: core, state machine, volatile log view, and its disk."""

    def __init__(
        self,
        node_id: NodeId,
        incarnation: int,
        core: Core,
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
        self.store: SimStateStore = storage.state
        self.log: SimLog = storage.log.copy()
        self.role = Role.FOLLOWER
        self.term = storage.hard_state.term
        self.waiting: Waiting | None = None
        self.snapshot_job: SnapshotJob | None = None
        self.sender = SnapshotSender(node_id, core, storage, host)
        self.handed_out = self.log.snapshot_index
        """The last committed index the core handed out (it restarts from the log's base)."""
        self.recover_store()

    @property
    def sm(self) -> KvStateMachine:
        """The state the node serves and applies to (the state store's, volatile)."""
        return self.store.sm

    @property
    def writing(self) -> bool:
        """Whether a write of this node is in flight (not durable yet)."""
        return self.waiting is not None and isinstance(self.waiting.command, Persist)

    @property
    def applied(self) -> int:
        return self.store.applied_index

    def recover_store(self) -> None:
        """At start, before serving: a store behind the log's base (its syncs past the snapshot
        were lost, or an install was cut short) is restored from the snapshot; the log after
        the store's applied index is replayed by `Apply` as the core hands it out again."""
        storage, store = self.storage, self.store
        snapshot = storage.snapshot
        if snapshot is not None and store.applied_index < snapshot.last_index:
            self.host.record(
                self.id,
                "store-restore",
                f"store at {store.applied_index}, snapshot {snapshot.last_term}/{snapshot.last_index}",
            )
            store.install(storage.snapshot_data)
        self.host.checkers.on_state_store(self.id, store.durable_index, storage.log)
        self.host.checkers.on_restore(self.id, store.applied_index)

    # -- carrying out Readies -----------------------------------------------------------------

    def process(self) -> None:
        """Hand out Readies until one must wait for its write (or there is nothing to do)."""
        core = self.core
        while self.waiting is None:
            self.maybe_start_snapshot()
            if not core.has_ready():
                return
            rd = core.ready()
            self.host.record(self.id, "ready", rd)
            self.run_plan(plan_ready(rd, PRODUCTION))

    def run_plan(self, plan: Sequence[ReadyCommand]) -> None:
        """Run the commands in order until one must wait for the disk; the rest run once it
        is done."""
        for pos, command in enumerate(plan):
            delay = self.start(command)
            if delay > 0:
                self.waiting = Waiting(command, self.host.now + delay, list(plan[pos + 1 :]))
                return

    def complete_due(self, now: int) -> None:
        """Finish what the disk has done by `now`: the wait of a plan (then run the rest of
        the plan), a snapshot of the node's own, and copies of the state store to send."""
        waiting = self.waiting
        if waiting is not None and waiting.done_at <= now:
            self.waiting = None
            self.finish(waiting.command)
            self.run_plan(waiting.rest)
        job = self.snapshot_job
        if job is not None and job.done_at <= now:
            self.finish_snapshot(job)
        self.sender.complete_due(now)

    def start(self, command: ReadyCommand) -> int:
        """Carry out `command`, or start it if the disk takes time: returns how long (ms)."""
        match command:
            case Persist():
                return self.start_write(command)
            case InstallState(snapshot):
                return self.start_install(snapshot)
            case _:
                self.run(command)
                return 0

    def finish(self, command: ReadyCommand) -> None:
        """The disk is done with the command `start` began."""
        match command:
            case Persist():
                self.storage.complete()
            case InstallState(snapshot):
                self.finish_install(snapshot)

    def run(self, command: ReadyCommand) -> None:
        """Carry out a command that needs no wait."""
        match command:
            case NoteSoftState(soft_state):
                self.note_soft_state(soft_state)
            case Send(messages):
                for msg in messages:
                    self.send(msg)
            case Apply(entries):
                self.apply(entries)
            case HandReads(read_states):
                for read_state in read_states:
                    self.host.clients.on_read_state(self, read_state)
            case Advance(ready):
                self.core.advance(ready)
                self.observe()

    def start_write(self, write: Persist) -> int:
        """Hand `write` to the disk; returns the persistence delay in ms (0: an instant disk).
        The log view and the checkers see the write at once: it is what the core handed out."""
        if write.hard_state is not None:
            self.term = max(self.term, write.hard_state.term)
        if write.snapshot is not None:
            self.log.install_snapshot(write.snapshot.meta)
        if write.entries:
            entries = list(write.entries)
            removed = self.log.append(entries)
            self.host.checkers.on_log_write(self.id, self.log, entries, removed)
        delay = self.host.persist_delay()
        if delay > 0:
            self.storage.submit(write)
        else:
            self.storage.persist(write)
        return delay

    def note_soft_state(self, soft: SoftState) -> None:
        self.role = soft.role
        self.term = max(self.term, soft.term)
        self.host.checkers.on_role(self.id, soft.term, self.role, self.log)

    def apply(self, entries: Sequence[Entry]) -> None:
        """Apply committed entries to the state store; those at or below its applied index
        are skipped (it holds them already: the log is replayed after a restart)."""
        checkers = self.host.checkers
        clients = self.host.clients
        sm = self.sm
        skipped = 0
        for entry in entries:
            if entry.index <= sm.applied_index:
                skipped += 1
                continue
            result = None
            if entry.kind == EntryKind.COMMAND:
                result = sm.apply(entry.index, entry.data)
            else:
                sm.mark_applied(entry.index)
            checkers.on_apply(self.id, self.term, entry)
            clients.on_applied(self, entry, result)
        self.handed_out = max(self.handed_out, entries[-1].index)
        if skipped:
            self.host.tally("replay-skip", skipped)
        if skipped < len(entries):
            clients.on_progress(self)
            if self.host.store_syncs():
                self.sync_store()

    def sync_store(self) -> bytes:
        """The state store syncs: what it applied is durable now; returns that state."""
        data = self.store.sync()
        self.host.tally("store-sync")
        self.host.checkers.on_state_store(self.id, self.store.durable_index, self.storage.log)
        return data

    def start_install(self, snapshot: InstallSnapshot) -> int:
        """Start swapping the state store for the snapshot `Persist` made the log's base;
        returns how long (ms) the swap takes (0: done)."""
        delay = self.host.install_delay()
        if delay > 0:
            self.store.begin_swap()
        else:
            self.finish_install(snapshot)
        return delay

    def finish_install(self, snapshot: InstallSnapshot) -> None:
        host = self.host
        meta = snapshot.meta
        host.record(self.id, "install", f"snapshot {meta.last_term}/{meta.last_index}")
        host.checkers.on_snapshot(self.id, meta, snapshot.data)
        self.store.install(snapshot.data)
        if self.applied != meta.last_index:
            raise RuntimeError(
                f"snapshot {meta.last_term}/{meta.last_index} holds the state at {self.applied}"
            )
        self.handed_out = meta.last_index
        host.checkers.on_state_store(self.id, self.store.durable_index, self.storage.log)
        host.checkers.on_restore(self.id, self.applied)
        host.clients.on_snapshot(self, self.applied)
        host.clients.on_progress(self)

    # -- observation --------------------------------------------------------------------------

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
            self.sender.send(msg)  # the runtime attaches the state (snapshot_send.py)
        else:
            self.host.send(msg)

    # -- snapshots of its own ------------------------------------------------------------------

    def maybe_start_snapshot(self) -> None:
        """Every `snapshot_every` applied entries, start a snapshot: the store syncs and its
        state is copied (at the applied index now); saving it and compacting come later."""
        if self.snapshot_every <= 0 or self.snapshot_job is not None:
            return
        index = self.applied
        base = self.storage.snapshot.last_index if self.storage.snapshot is not None else 0
        # NB: after a restart the store may be ahead of what the core handed out again; the
        # core can describe (snapshot_meta) only an index it has handed out.
        if index - base < self.snapshot_every or index > self.handed_out:
            return
        data = self.sync_store()
        delay = self.host.snapshot_delay()
        self.snapshot_job = job = SnapshotJob(index, data, self.host.now + delay)
        self.host.record(self.id, "snapshot-start", f"at {index}")
        if delay == 0:
            self.finish_snapshot(job)

    def finish_snapshot(self, job: SnapshotJob) -> None:
        """The copy is done: save it durably, then compact the log through it; dropped if the
        log moved past it meanwhile (a snapshot was installed)."""
        self.snapshot_job = None
        try:
            meta = self.core.snapshot_meta(job.index)
        except Compacted:
            self.host.record(self.id, "snapshot-dropped", f"at {job.index}: the log moved past it")
            return
        self.host.checkers.on_snapshot(self.id, meta, job.data)
        self.storage.save_snapshot(meta, job.data)
        self.log.compact(meta)
        self.core.compact(meta)
        self.host.checkers.on_state_store(self.id, self.store.durable_index, self.storage.log)
        self.host.record(self.id, "snapshot", f"{meta.last_term}/{meta.last_index}")

    def record_losses(self) -> None:
        """The node crashes: record what it loses besides memory and the write in flight."""
        store, host = self.store, self.host
        if store.swapping:
            host.record(self.id, "install-torn", "the store swap was cut short")
        elif store.unsynced:
            lost = f"applied {store.applied_index}, synced {store.durable_index}"
            host.record(self.id, "store-lost", lost)
        if self.snapshot_job is not None:
            host.record(self.id, "snapshot-lost", f"at {self.snapshot_job.index}")
        self.sender.record_losses()
