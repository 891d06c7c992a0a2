"""The output of the core: what the runtime must do, and in which order.

NB: the order is the whole point. Raft's safety rests on "persist before you speak": a vote grant
or an append acknowledgement that leaves before the state it promises is durable can elect two
leaders or lose a committed entry after a crash (Raft thesis §3.8, "Servers must persist
currentTerm, votedFor and the log before responding to RPCs").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from .messages import Message
from .types import Entry, HardState, NodeId, Role, SnapshotMeta


class SoftState(msgspec.Struct, frozen=True):
    """Volatile state worth logging when it changes."""

    role: Role
    term: int
    leader_id: NodeId | None


class ReadState(msgspec.Struct, frozen=True):
    """The answer to `RawNode.read_index(ctx)`.

    When `ok`, the read may be served once the local applied index is >= `index`. When not
    `ok`, leadership could not be confirmed (or there is no leader) and the read must fail
    with a definite error; `leader_id` is a hint.
    """

    ctx: int
    index: int
    ok: bool
    leader_id: NodeId | None = None


class InstallSnapshot(msgspec.Struct, frozen=True):
    meta: SnapshotMeta
    data: bytes


@dataclass(slots=True)
class Ready:
    """One batch of work for the runtime. Runtimes carry it out by running
    `plan.plan_ready(rd)`, which orders these rules into commands:

    1. send `messages`: they do not depend on anything unpersisted (a leader's appends and
       heartbeats, pre-votes, responses that promise nothing new);
    2. persist, atomically and durably (fsync): `snapshot` if any (reset the log to it),
       then `entries` (first truncate the log from `entries[0].index`, then append), then
       `hard_state` if any; then install the snapshot's state into the state machine;
    3. send `persisted_messages`: they promise what step 2 made durable (vote grants, append
       and snapshot acknowledgements, a candidate's vote requests);
    4. apply `committed` entries to the state machine in order, each only once it is durable
       locally (entries an earlier Ready made durable may be applied before step 2);
    5. hand `read_states` to the waiting readers (each waits until applied >= its index);
    6. `advance(rd)`: the core learns that step 2 is done (a leader counts itself toward
       commit only from here).
    """

    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    snapshot: InstallSnapshot | None = None
    entries: list[Entry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    persisted_messages: list[Message] = field(default_factory=list)
    committed: list[Entry] = field(default_factory=list)
    read_states: list[ReadState] = field(default_factory=list)

    def must_persist(self) -> bool:
        return bool(self.hard_state is not None or self.snapshot is not None or self.entries)

    def describe(self) -> str:
        parts: list[str] = []
        if self.soft_state is not None:
            s = self.soft_state
            parts.append(f"soft {s.role.title} term={s.term} leader={s.leader_id}")
        if self.hard_state is not None:
            parts.append(f"hard term={self.hard_state.term} vote={self.hard_state.vote}")
        if self.snapshot is not None:
            m = self.snapshot.meta
            parts.append(f"snapshot {m.last_term}/{m.last_index}")
        if self.entries:
            parts.append("entries " + ",".join(e.describe() for e in self.entries))
        parts.extend("send " + m.describe() for m in self.messages)
        parts.extend("send-after-persist " + m.describe() for m in self.persisted_messages)
        if self.committed:
            parts.append("commit " + ",".join(e.describe() for e in self.committed))
        parts.extend(f"read ctx={r.ctx} index={r.index} ok={r.ok}" for r in self.read_states)
        return "\n".join(parts)
