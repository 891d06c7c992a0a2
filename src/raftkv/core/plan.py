"""How a runtime carries out a `Ready`: one pure function turns it into an ordered list of typed
commands (OpenRaft's Engine/Command split), and every runtime (the node's driver, the
simulator, the core's test harness) runs that list. The order is data, so the simulator tests
the ordering that runs in production, and a test can assert on it.

The rules the plan keeps (see `ready.py` for why each matters):

- `messages` leave before the persist: they promise nothing unpersisted.
- `persisted_messages` leave only after `Persist` (vote grants, append acknowledgements).
- An entry is applied only once it is committed and durable locally. With
  `apply_before_persist`, committed entries that an earlier `Ready` already made durable are
  applied before this `Ready`'s persist (a client then need not wait for an unrelated fsync);
  entries this `Ready` writes, and everything after a snapshot it installs, come after it.
- A snapshot is installed into the state machine after its `Persist` made it the log's base.
- `Advance` is last: the leader counts itself toward commit only after its own fsync.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .messages import Message
from .ready import InstallSnapshot, ReadState, Ready, SoftState
from .status import Status
from .types import Entry, HardState, NodeId, NodeInfo, Role, SnapshotMeta


@dataclass(frozen=True, slots=True)
class NoteSoftState:
    """Role, term or leader changed: update what the runtime reports and logs."""

    soft_state: SoftState


@dataclass(frozen=True, slots=True)
class Send:
    messages: Sequence[Message]
    after_persist: bool
    """Whether these promise what `Persist` made durable (for descriptions and tests)."""


@dataclass(frozen=True, slots=True)
class Persist:
    """Durably (fsync) write, in this order: the snapshot as the log's new base, the entries
    (truncating from the first one's index), the hard state."""

    hard_state: HardState | None
    entries: Sequence[Entry]
    snapshot: InstallSnapshot | None


@dataclass(frozen=True, slots=True)
class InstallState:
    """Replace the state machine with the snapshot's (already durable as the log's base)."""

    snapshot: InstallSnapshot


@dataclass(frozen=True, slots=True)
class Apply:
    """Apply committed, locally durable entries in order; entries at or below the state
    machine's applied index are skipped (a snapshot or the state store already holds them)."""

    entries: Sequence[Entry]


@dataclass(frozen=True, slots=True)
class HandReads:
    """Give each read state to its waiting reader (served once applied >= its index)."""

    read_states: Sequence[ReadState]


@dataclass(frozen=True, slots=True)
class Advance:
    """Tell the core the `Ready` is carried out; always the last command."""

    ready: Ready


ReadyCommand = NoteSoftState | Send | Persist | InstallState | Apply | HandReads | Advance


@dataclass(frozen=True, slots=True)
class ApplyPolicy:
    """How a runtime applies: production applies already-durable entries before the persist."""

    apply_before_persist: bool = True


PRODUCTION = ApplyPolicy()


def plan_ready(rd: Ready, policy: ApplyPolicy = PRODUCTION) -> list[ReadyCommand]:
    """The commands that carry out `rd`, in the order they must run."""
    plan: list[ReadyCommand] = []
    if rd.soft_state is not None:
        plan.append(NoteSoftState(rd.soft_state))
    if rd.messages:
        plan.append(Send(rd.messages, after_persist=False))
    early, late = split_committed(rd) if policy.apply_before_persist else ([], rd.committed)
    if early:
        plan.append(Apply(early))
    if rd.must_persist():
        plan.append(Persist(rd.hard_state, rd.entries, rd.snapshot))
    if rd.snapshot is not None:
        plan.append(InstallState(rd.snapshot))
    if rd.persisted_messages:
        plan.append(Send(rd.persisted_messages, after_persist=True))
    if late:
        plan.append(Apply(late))
    if rd.read_states:
        plan.append(HandReads(rd.read_states))
    plan.append(Advance(rd))
    return plan


def split_committed(rd: Ready) -> tuple[list[Entry], list[Entry]]:
    """Committed entries already durable before this Ready's persist, and the rest.

    Entries this Ready writes, and everything after a snapshot it installs, are durable only
    after its persist. NB: `RawNode` hands out only entries an earlier Ready made durable (its
    `take_committed` stops at the durable index), so for it the rest is empty; the split keeps
    the rule for any core that would commit what the Ready writes.
    """
    if rd.snapshot is not None:
        return [], rd.committed
    if not rd.entries:
        return rd.committed, []
    first_new = rd.entries[0].index
    cut = len(rd.committed)
    while cut and rd.committed[cut - 1].index >= first_new:
        cut -= 1
    return rd.committed[:cut], rd.committed[cut:]


def describe_plan(plan: Sequence[ReadyCommand]) -> list[str]:
    """One line per command, for tests and traces."""
    lines: list[str] = []
    for cmd in plan:
        match cmd:
            case NoteSoftState(soft):
                lines.append(f"soft {soft.role.title} term={soft.term} leader={soft.leader_id}")
            case Send(messages, after_persist):
                verb = "send-after-persist" if after_persist else "send"
                lines.extend(f"{verb} {m.describe()}" for m in messages)
            case Persist(hard_state, entries, snapshot):
                parts: list[str] = []
                if snapshot is not None:
                    parts.append(f"snapshot {snapshot.meta.last_term}/{snapshot.meta.last_index}")
                if entries:
                    parts.append(f"entries {entries[0].index}..{entries[-1].index}")
                if hard_state is not None:
                    parts.append(f"hard term={hard_state.term} vote={hard_state.vote}")
                lines.append("persist " + " ".join(parts))
            case InstallState(snapshot):
                lines.append(f"install {snapshot.meta.last_term}/{snapshot.meta.last_index}")
            case Apply(entries):
                lines.append(f"apply {entries[0].index}..{entries[-1].index}")
            case HandReads(read_states):
                lines.extend(f"read ctx={r.ctx} index={r.index} ok={r.ok}" for r in read_states)
            case Advance():
                lines.append("advance")
    return lines


class Core(Protocol):
    """What a runtime may call on a core (`RawNode` is the implementation)."""

    @property
    def node_id(self) -> NodeId: ...
    @property
    def role(self) -> Role: ...
    @property
    def term(self) -> int: ...
    @property
    def leader_id(self) -> NodeId | None: ...

    def status(self) -> Status: ...
    def tick(self, now: int) -> None: ...
    def step(self, msg: Message) -> None: ...
    def connection_lost(self, peer: NodeId) -> bool: ...
    def initialize(self, info: NodeInfo, cluster_id: str, max_sessions: int = 0) -> int: ...
    def propose(self, data: bytes) -> tuple[int, int]: ...
    def add_learner(self, node_id: NodeId, info: NodeInfo) -> int: ...
    def change_membership(self, voters: set[NodeId], retain: bool) -> int: ...
    def read_index(self, ctx: int) -> None: ...
    def transfer_leadership(self, target: NodeId | None) -> NodeId: ...
    def snapshot_meta(self, index: int) -> SnapshotMeta: ...
    def compact(self, meta: SnapshotMeta) -> None: ...
    def shutdown(self) -> None: ...
    def has_ready(self) -> bool: ...
    def ready(self) -> Ready: ...
    def advance(self, rd: Ready) -> None: ...
