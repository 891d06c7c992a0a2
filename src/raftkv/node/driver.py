"""The driver: the one asyncio task that feeds the core and carries out its `Ready`s.

Inputs (ticks, peer messages, proposals, admin calls) queue in an inbox; between two `Ready`s
the loop steps all of them into the core at once. A persist in flight therefore batches every
event that arrives meanwhile into the next one (group commit), and there is no linger timer.
Each `Ready` is carried out by running the commands of `plan_ready` (core/plan.py) in order,
the same plan the simulator runs: send `messages` (a leader sends entries before its own
fsync), apply what was durable already, persist, install a snapshot, send
`persisted_messages`, apply the rest, hand out reads, `advance`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import msgspec

from raftkv.core import (
    Advance,
    Apply,
    Compacted,
    Core,
    Entry,
    EntryKind,
    HandReads,
    InstallSnapshot,
    InstallState,
    Membership,
    Message,
    MessageRejected,
    NodeInfo,
    NoteSoftState,
    Persist,
    Ready,
    Role,
    Send,
    SnapshotMeta,
    SnapshotRequest,
    SoftState,
    Status,
    plan_ready,
)
from raftkv.kv import KvResult, StateStore
from raftkv.storage import DurableStore

from .logs import event
from .peer_rejections import PeerRejections
from .state_snapshots import SnapshotToSend, StateFiles
from .transport import PeerBook, PeerTransport
from .waiters import ProposalWaiters, ReadWaiters
from .wire import ApiFailure

T = TypeVar("T")
Action = Callable[[Core], None]
TICK_S = 0.01
_membership_decoder = msgspec.msgpack.Decoder(Membership)


def now_ms() -> int:
    """The injected monotonic clock of the core, in milliseconds."""
    return time.monotonic_ns() // 1_000_000


@dataclass
class DriverStats:
    readies: int = 0
    persists: int = 0
    applied_commands: int = 0
    messages_in: int = 0
    messages_out: int = 0
    snapshots_taken: int = 0
    snapshots_installed: int = 0
    snapshots_refused: int = 0
    state_checkpoints: int = 0


class Driver:
    """Owns the core; everything else talks to the core through `step`, `submit`, `call`."""

    def __init__(
        self,
        *,
        node_id: int,
        core: Core,
        store: DurableStore,
        state_files: StateFiles,
        transport: PeerTransport,
        peers: PeerBook,
        snapshot_threshold: int,
        log: logging.Logger,
    ) -> None:
        self.node_id = node_id
        self.core = core
        self.store = store
        self.files = state_files
        self.sm: StateStore = state_files.store
        self.transport = transport
        self.peers = peers
        self.log = log
        self.stats = DriverStats()
        self.rejections = PeerRejections(log)
        self.proposals = ProposalWaiters()
        self.reads = ReadWaiters()
        status = core.status()
        self.role: Role = status.role
        self.term: int = status.term
        self.leader_id: int | None = status.leader_id
        self._snapshot_threshold = snapshot_threshold
        self._snapshot_index = status.snapshot_index
        self._snapshot_task: asyncio.Task[None] | None = None
        self._inbox: list[Message | Action] = []
        self._wake = asyncio.Event()
        self._watchers: list[tuple[Callable[[Status], bool], asyncio.Future[Status]]] = []
        self._last_tick = now_ms()
        self._stopping = False
        self._fatal: BaseException | None = None
        self._ticker: asyncio.TimerHandle | None = None
        self.refresh_peers()

    # --- inputs ---------------------------------------------------------------------------

    def step(self, msg: Message) -> None:
        """A peer's message; stepped in the next batch."""
        self.stats.messages_in += 1
        self._inbox.append(msg)
        self._wake.set()

    def connection_lost(self, peer: int) -> None:
        """`peer`'s stream ended without a close handshake; if it led, campaign early."""

        def action(core: Core) -> None:
            if core.connection_lost(peer):
                event(
                    self.log,
                    "leader's connection closed abruptly; campaigning early",
                    logging.WARNING,
                    leader=peer,
                )

        self.submit(action)

    def submit(self, action: Action) -> None:
        """Run `action(core)` in the driver task, in order with every other input."""
        self._inbox.append(action)
        self._wake.set()

    async def call(self, fn: Callable[[Core], T]) -> T:
        """Run `fn(core)` in the driver task and return its result (or raise its error)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()

        def action(core: Core) -> None:
            try:
                result = fn(core)
            except AssertionError:
                raise  # InvariantViolation: a bug in the core stops the node, never a request
            except Exception as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        self.submit(action)
        return await future

    def propose(self, data: bytes) -> asyncio.Future[KvResult]:
        """Propose a command; the future resolves when it is applied (or fails)."""
        future: asyncio.Future[KvResult] = asyncio.get_running_loop().create_future()

        def action(core: Core) -> None:
            try:
                term, index = core.propose(data)
            except AssertionError:
                raise
            except Exception as exc:
                future.set_exception(exc)
            else:
                self.proposals.add(index, term, future)

        self.submit(action)
        return future

    def read_index(self) -> tuple[int, asyncio.Future[None]]:
        """Start a linearizable read; the future resolves once applied >= its read index."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ctx = self.reads.register(future)
        self.submit(lambda core: core.read_index(ctx))
        return ctx, future

    def watch(self, predicate: Callable[[Status], bool]) -> asyncio.Future[Status]:
        """A future that resolves with the core's status once `predicate(status)` holds."""
        future: asyncio.Future[Status] = asyncio.get_running_loop().create_future()
        self.submit(lambda core: self._add_watcher(predicate, future))
        return future

    # --- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        """Drive the core until `stop`; a storage failure ends it with that error."""
        self._schedule_tick()
        try:
            while not self._stopping:
                if not self._inbox and not self.core.has_ready():
                    await self._wake.wait()
                self._wake.clear()
                if self._fatal is not None:
                    raise self._fatal
                self._drain()
                self._tick_if_due()
                if self.core.has_ready():
                    await self._handle_ready(self.core.ready())
                    # Let handlers and senders run even when a Ready needed no persist, so
                    # inputs keep batching and the loop never starves the server.
                    await asyncio.sleep(0)
        finally:
            if self._ticker is not None:
                self._ticker.cancel()
            shutting = ApiFailure(503, "no_leader", "the node is shutting down")
            self.reads.fail_all(shutting)
            self.proposals.fail_all(
                ApiFailure(504, "timeout", "the node shut down", indeterminate=True)
            )
            for _, future in self._watchers:
                if not future.done():
                    future.set_exception(shutting)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def wait_snapshot_task(self) -> None:
        """After `run` ended: stop a compaction (it would wait on the driver forever)."""
        if self._snapshot_task is not None:
            self._snapshot_task.cancel()
            await asyncio.gather(self._snapshot_task, return_exceptions=True)

    def _schedule_tick(self) -> None:
        self._wake.set()
        self._ticker = asyncio.get_running_loop().call_later(TICK_S, self._schedule_tick)

    def _drain(self) -> None:
        inbox, self._inbox = self._inbox, []
        core = self.core
        for item in inbox:
            if callable(item):
                item(core)
                continue
            try:
                core.step(item)
            except MessageRejected as refused:
                self.rejections.refused(refused.reason, item.frm, item.describe())

    def _tick_if_due(self) -> None:
        now = now_ms()
        if now - self._last_tick >= TICK_S * 1000:
            self._last_tick = now
            self.core.tick(now)

    async def _handle_ready(self, rd: Ready) -> None:
        self.stats.readies += 1
        for command in plan_ready(rd):
            match command:
                case NoteSoftState(soft_state):
                    self._on_soft_state(soft_state)
                case Send(messages):
                    self._send(messages)
                case Apply(entries):
                    self._apply(entries)
                case Persist(hard_state, entries, snapshot):
                    self.stats.persists += 1
                    await self.store.persist(hard_state, entries, snapshot)
                    if snapshot is not None or any(e.kind == EntryKind.MEMBERSHIP for e in entries):
                        self.refresh_peers()
                case InstallState(snapshot):
                    await self._install_snapshot(snapshot)
                case HandReads(read_states):
                    applied = self.sm.applied_index
                    for rs in read_states:
                        self.reads.read_state(rs.ctx, rs.index, rs.ok, applied, rs.leader_id)
                case Advance(ready):
                    self.core.advance(ready)
        if self._watchers:
            self._check_watchers()
        await self._maybe_compact()

    # --- carrying out a Ready -------------------------------------------------------------

    def _send(self, messages: Sequence[Message]) -> None:
        for msg in messages:
            self.transport.send(msg)
        self.stats.messages_out += len(messages)

    def _on_soft_state(self, soft: SoftState) -> None:
        self.role, self.term, self.leader_id = soft.role, soft.term, soft.leader_id
        event(self.log, "raft state", role=soft.role.title, term=soft.term, leader=soft.leader_id)

    async def _install_snapshot(self, snapshot: InstallSnapshot) -> None:
        meta = snapshot.meta
        await self.files.install(snapshot.data)
        if self.sm.applied_index != meta.last_index:
            raise StateInstallError(
                f"installed snapshot {meta.last_term}/{meta.last_index} holds the state at "
                f"{self.sm.applied_index}"
            )
        self.proposals.snapshot_installed(meta.last_index)
        self.reads.applied(meta.last_index)
        self._snapshot_index = max(self._snapshot_index, meta.last_index)
        self.files.remove_stale_installs(meta.last_index)
        self.stats.snapshots_installed += 1
        event(
            self.log,
            "snapshot installed",
            last_index=meta.last_index,
            last_term=meta.last_term,
            keys=self.sm.key_count,
        )

    def _apply(self, committed: Sequence[Entry]) -> None:
        for entry, result in self.sm.apply_entries(committed):
            if entry.kind == EntryKind.COMMAND:
                self.stats.applied_commands += 1
            elif entry.kind == EntryKind.MEMBERSHIP:
                self._log_membership(entry)
            self.proposals.applied(entry.index, entry.term, result)
        if committed:
            self.reads.applied(self.sm.applied_index)

    def _log_membership(self, entry: Entry) -> None:
        try:
            config = _membership_decoder.decode(entry.data).describe()
        except msgspec.DecodeError:
            config = "(undecodable)"
        event(self.log, "membership committed", index=entry.index, config=config)

    def refresh_peers(self) -> None:
        """Peer addresses and storage ids follow the latest appended membership."""
        membership: Membership = self.core.status().membership
        nodes: dict[int, NodeInfo] = dict(membership.nodes)
        nodes.pop(self.node_id, None)
        self.peers.set_members(nodes, membership.cluster_id)
        self.transport.forget_unaddressable()

    # --- admin watchers -------------------------------------------------------------------

    def _add_watcher(
        self, predicate: Callable[[Status], bool], future: asyncio.Future[Status]
    ) -> None:
        self._watchers.append((predicate, future))
        self._check_watchers()

    def _check_watchers(self) -> None:
        status = self.core.status()
        remaining = []
        for predicate, future in self._watchers:
            if future.done():
                continue
            if predicate(status):
                future.set_result(status)
            else:
                remaining.append((predicate, future))
        self._watchers = remaining

    # --- snapshots ------------------------------------------------------------------------

    async def _maybe_compact(self) -> None:
        """Between two Readies (nothing applies meanwhile): checkpoint the state store once
        enough was written, and every `snapshot_threshold` applied entries compact the log
        through what the checkpoint made durable (never further: the log is the source of
        truth). The checkpoint's cost is bounded by what was written since the last one."""
        threshold = self._snapshot_threshold
        # NB: not while a compaction is in flight: until it lands, every Ready would see the
        # compaction still due and checkpoint again (measured: write-8 at 60% of its speed).
        compaction_due = (
            self._snapshot_task is None
            and self.sm.applied_index - self._snapshot_index >= threshold
        )
        if self.files.checkpoint_due(compaction_due):
            self.stats.state_checkpoints += 1
            await self.files.checkpoint()
        durable = self.files.durable_index
        if not compaction_due or durable - self._snapshot_index < threshold:
            return
        try:
            meta = self.core.snapshot_meta(durable)
        except (Compacted, ValueError):
            # Described by the next compaction instead (the log moved past `durable`).
            self._snapshot_index = max(self._snapshot_index, durable)
            return
        self._snapshot_task = asyncio.create_task(self._compact(meta))

    async def _compact(self, meta: SnapshotMeta) -> None:
        try:
            await self.store.save_snapshot(meta, b"")
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fatal = exc
            self._wake.set()
            raise
        else:
            self.submit(lambda core: core.compact(meta))
            self._snapshot_index = max(self._snapshot_index, meta.last_index)
            self.files.remove_stale_installs(self.sm.applied_index)
            self.stats.snapshots_taken += 1
            event(self.log, "log compacted", through=meta.last_index, keys=self.sm.key_count)
        finally:
            self._snapshot_task = None

    async def meta_at(self, index: int) -> SnapshotMeta | None:
        """The core's snapshot meta for the state at `index`, or None if the core cannot
        describe it (compacted past it meanwhile, or not applied that far yet after a
        restart whose state store was ahead of the log's commit)."""

        def describe(core: Core) -> SnapshotMeta | None:
            try:
                meta: SnapshotMeta = core.snapshot_meta(index)
            except (Compacted, ValueError):
                return None
            return meta

        return await self.call(describe)

    async def snapshot_to_send(self, msg: SnapshotRequest) -> SnapshotToSend | None:
        """The state file to send for `msg` (at its snapshot's index or later), or None when
        the follower no longer waits for one (a retry queued behind a long transfer that
        already caught it up must not send the whole state again)."""

        if not await self.call(lambda core: core.status().awaits_snapshot(msg.to, msg.term)):
            return None
        return await self.files.file_to_send(msg.meta.last_index, self.meta_at)


class StateInstallError(Exception):
    """An installed state file does not hold the state its snapshot names (a bug or a damaged
    file that passed verification): the node stops rather than serve it."""
