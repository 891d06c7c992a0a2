"""A reference model of the durable store and a seeded generator of valid writes.

The model is a plain in-memory restatement of the store's contract (DurableStore.persist and
save_snapshot docstrings), written independently of the implementation; tests apply the same
writes to both and compare what `recover` returns with the model's boot state.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from raftkv.core.ready import InstallSnapshot
from raftkv.core.types import (
    BootState,
    Entry,
    EntryKind,
    HardState,
    Membership,
    NodeInfo,
    SnapshotMeta,
)

MEMBERSHIP = Membership(
    configs=(frozenset({1, 2, 3}),),
    nodes={i: NodeInfo(addr=f"127.0.0.1:{9000 + i}", storage_id=f"s{i}") for i in (1, 2, 3)},
    cluster_id="c1",
)


@dataclass(frozen=True)
class PersistOp:
    hard_state: HardState | None
    entries: list[Entry]
    snapshot: InstallSnapshot | None = None


@dataclass(frozen=True)
class SaveSnapshotOp:
    meta: SnapshotMeta
    data: bytes


Op = PersistOp | SaveSnapshotOp


@dataclass
class StoreModel:
    hard_state: HardState = field(default_factory=HardState)
    snapshot: SnapshotMeta | None = None
    snapshot_data: bytes | None = None
    log: dict[int, Entry] = field(default_factory=dict)

    @property
    def snapshot_index(self) -> int:
        return self.snapshot.last_index if self.snapshot else 0

    @property
    def last_index(self) -> int:
        return max(self.log) if self.log else self.snapshot_index

    def term_at(self, index: int) -> int | None:
        if self.snapshot is not None and index == self.snapshot.last_index:
            return self.snapshot.last_term
        entry = self.log.get(index)
        return entry.term if entry else None

    def apply(self, op: Op) -> None:
        if isinstance(op, SaveSnapshotOp):
            if op.meta.last_index > self.snapshot_index:
                self._compact(op.meta, op.data, keep_suffix=True)
            return
        if op.snapshot is not None:
            meta = op.snapshot.meta
            keep = self.term_at(meta.last_index) == meta.last_term
            self._compact(meta, op.snapshot.data, keep_suffix=keep)
        if op.entries:
            first = op.entries[0].index
            self.log = {i: e for i, e in self.log.items() if i < first}
            self.log.update((e.index, e) for e in op.entries)
        if op.hard_state is not None:
            self.hard_state = op.hard_state

    def _compact(self, meta: SnapshotMeta, data: bytes, keep_suffix: bool) -> None:
        kept = self.log.items() if keep_suffix else ()
        self.log = {i: e for i, e in kept if i > meta.last_index}
        self.snapshot, self.snapshot_data = meta, data

    def boot(self) -> tuple[BootState, bytes | None]:
        entries = [self.log[i] for i in sorted(self.log)]
        return BootState(self.hard_state, self.snapshot, entries), self.snapshot_data


def random_op(rng: random.Random, model: StoreModel) -> Op:
    """A write that keeps the log well formed, given the model's current state."""
    roll = rng.random()
    if roll < 0.6:
        return _append(rng, model)
    if roll < 0.75:
        return _conflict(rng, model)
    if roll < 0.82:
        term = model.hard_state.term + rng.randint(0, 1)
        return PersistOp(HardState(term, rng.choice([None, 1, 2, 3])), [])
    if roll < 0.92 and model.last_index > model.snapshot_index:
        index = rng.randint(model.snapshot_index + 1, model.last_index)
        stored_term = model.term_at(index)
        assert stored_term is not None
        return SaveSnapshotOp(_meta(index, stored_term), rng.randbytes(rng.randint(0, 64)))
    return _install(rng, model)


def _entries(rng: random.Random, first: int, count: int, term: int) -> list[Entry]:
    kinds = (EntryKind.COMMAND, EntryKind.COMMAND, EntryKind.BLANK, EntryKind.MEMBERSHIP)
    return [
        Entry(term, first + i, rng.choice(kinds), rng.randbytes(rng.randint(0, 40)))
        for i in range(count)
    ]


def _append(rng: random.Random, model: StoreModel) -> PersistOp:
    term = max(model.hard_state.term, 1)
    hard_state = None if model.hard_state.term else HardState(term, 1)
    return PersistOp(hard_state, _entries(rng, model.last_index + 1, rng.randint(1, 5), term))


def _conflict(rng: random.Random, model: StoreModel) -> PersistOp:
    term = model.hard_state.term + 1
    first = rng.randint(model.snapshot_index + 1, model.last_index + 1)
    return PersistOp(HardState(term, 2), _entries(rng, first, rng.randint(1, 4), term))


def _install(rng: random.Random, model: StoreModel) -> PersistOp:
    index = rng.randint(model.snapshot_index, model.last_index + 3)
    stored_term = model.term_at(index)
    matching = stored_term is not None and rng.random() < 0.5
    term = stored_term if matching and stored_term is not None else model.hard_state.term + 1
    snapshot = InstallSnapshot(_meta(max(index, 1), term), rng.randbytes(rng.randint(0, 64)))
    return PersistOp(HardState(max(term, model.hard_state.term), 3), [], snapshot)


def _meta(index: int, term: int) -> SnapshotMeta:
    return SnapshotMeta(last_index=index, last_term=term, membership=MEMBERSHIP, membership_index=1)
