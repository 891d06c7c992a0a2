"""A hand-made stand-in for `RawNode`: a one-voter cluster that commits what it persists.

It honours the driver-facing contract (one Ready in flight, persist before commit, read states,
snapshots and compaction, boot from durable state) without any replication, so the simulator's
plumbing can be tested apart from the real core. It satisfies `raftkv.core.Core`.
"""

from __future__ import annotations

import random

from raftkv.core import (
    EMPTY_MEMBERSHIP,
    BootState,
    Compacted,
    CoreConfig,
    Entry,
    EntryKind,
    HardState,
    Membership,
    Message,
    NodeId,
    NodeInfo,
    NotInitialized,
    NotLeader,
    ReadState,
    Ready,
    Role,
    SnapshotMeta,
    SoftState,
    Status,
)
from raftkv.core.membership import decode_membership, encode_membership


class SoloCore:
    def __init__(
        self, node_id: int, config: CoreConfig, rng: random.Random, now: int, boot: BootState | None
    ) -> None:
        self.id = node_id
        self.role = Role.FOLLOWER
        self.term = 0
        self.log: list[Entry] = []
        self.snapshot = SnapshotMeta(0, 0, EMPTY_MEMBERSHIP)
        self.membership = EMPTY_MEMBERSHIP
        self.commit = self.applied = self.durable = 0
        self.unstable: list[Entry] = []
        self.hard_dirty = self.soft_dirty = False
        self.reads: list[ReadState] = []
        if boot is not None and not boot.pristine:
            self.term = boot.hard_state.term
            if boot.snapshot is not None:
                self.snapshot = boot.snapshot
                self.membership = boot.snapshot.membership
            self.log = list(boot.entries)
            for e in self.log:
                if e.kind == EntryKind.MEMBERSHIP:
                    self.membership = decode_membership(e.data)
            self.applied = self.snapshot.last_index
            self.commit = self.durable = self.last_index
            self._lead(self.term + 1)

    @property
    def last_index(self) -> int:
        return self.snapshot.last_index + len(self.log)

    def _append(self, kind: EntryKind, data: bytes = b"") -> int:
        entry = Entry(self.term, self.last_index + 1, kind, data)
        self.log.append(entry)
        self.unstable.append(entry)
        return entry.index

    def _lead(self, term: int) -> None:
        self.term, self.role = term, Role.LEADER
        self.hard_dirty = self.soft_dirty = True
        self._append(EntryKind.BLANK)

    def initialize(self, info: NodeInfo, cluster_id: str) -> int:
        self.membership = Membership(
            configs=(frozenset({self.id}),), nodes={self.id: info}, cluster_id=cluster_id
        )
        self.term = 1
        index = self._append(EntryKind.MEMBERSHIP, encode_membership(self.membership))
        self.role, self.hard_dirty, self.soft_dirty = Role.LEADER, True, True
        return index

    def tick(self, now: int) -> None:
        pass

    def step(self, msg: Message) -> None:
        pass

    @property
    def node_id(self) -> NodeId:
        return self.id

    @property
    def leader_id(self) -> NodeId | None:
        return self.id if self.role == Role.LEADER else None

    def connection_lost(self, peer: int) -> bool:
        return False  # one voter: no leader to lose

    def propose(self, data: bytes) -> tuple[int, int]:
        if self.role != Role.LEADER:
            raise NotLeader(None)
        return self.term, self._append(EntryKind.COMMAND, data)

    def read_index(self, ctx: int) -> None:
        ok = self.role == Role.LEADER
        self.reads.append(ReadState(ctx, self.commit, ok, self.id if ok else None))

    def add_learner(self, node_id: NodeId, info: NodeInfo) -> int:
        raise NotInitialized("the solo core changes no membership")

    def change_membership(self, voters: set[NodeId], retain: bool) -> int:
        raise NotInitialized("the solo core changes no membership")

    def transfer_leadership(self, target: NodeId | None) -> NodeId:
        raise NotInitialized("the solo core has no one to hand over to")

    def shutdown(self) -> None:
        self.role, self.soft_dirty = Role.SHUTDOWN, True

    def has_ready(self) -> bool:
        return bool(
            self.unstable
            or self.hard_dirty
            or self.soft_dirty
            or self.reads
            or self.commit > self.applied
        )

    def ready(self) -> Ready:
        first = self.applied - self.snapshot.last_index
        rd = Ready(
            soft_state=SoftState(self.role, self.term, self.id) if self.soft_dirty else None,
            hard_state=HardState(self.term, self.id) if self.hard_dirty else None,
            entries=list(self.unstable),
            committed=self.log[first : self.commit - self.snapshot.last_index],
            read_states=list(self.reads),
        )
        self.unstable, self.reads = [], []
        self.hard_dirty = self.soft_dirty = False
        return rd

    def advance(self, rd: Ready) -> None:
        if rd.committed:
            self.applied = rd.committed[-1].index
        if rd.entries:
            self.durable = rd.entries[-1].index
        self.commit = self.durable

    def status(self) -> Status:
        membership_index = 1 if self.membership.nodes else 0
        return Status(
            node_id=self.id,
            role=self.role,
            term=self.term,
            vote=self.id if self.term else None,
            leader_id=self.leader_id,
            commit_index=self.commit,
            applied_index=self.applied,
            last_index=self.last_index,
            last_term=self.log[-1].term if self.log else self.snapshot.last_term,
            snapshot_index=self.snapshot.last_index,
            membership=self.membership,
            membership_index=membership_index,
            committed_membership=self.membership,
            committed_membership_index=membership_index,
            progress={},
        )

    def snapshot_meta(self, index: int) -> SnapshotMeta:
        if index <= self.snapshot.last_index:
            raise Compacted()
        term = self.log[index - self.snapshot.last_index - 1].term
        return SnapshotMeta(index, term, self.membership, 1)

    def compact(self, meta: SnapshotMeta) -> None:
        del self.log[: meta.last_index - self.snapshot.last_index]
        self.snapshot = meta
