"""Plain data of the Raft core: log entries, hard state, membership and snapshot metadata.

Everything here is immutable and msgspec-encodable, so the node can put it on the wire and on
disk with one codec and the simulator can compare it by value.
"""

from __future__ import annotations

from enum import IntEnum

import msgspec

NodeId = int


class Role(IntEnum):
    FOLLOWER = 0
    CANDIDATE = 1
    LEADER = 2
    LEARNER = 3
    SHUTDOWN = 4

    @property
    def title(self) -> str:
        """The name the HTTP contract uses ("Leader", "Follower", ...)."""
        return self.name.capitalize()


class EntryKind(IntEnum):
    BLANK = 0
    """Appended by every new leader so that it can commit an entry of its own term (§5.4.2)."""
    COMMAND = 1
    """An opaque application command (`raftkv.kv` encodes them)."""
    MEMBERSHIP = 2
    """`data` is an encoded `Membership`; it takes effect when appended, not when committed."""


class Entry(msgspec.Struct, frozen=True, array_like=True):
    term: int
    index: int
    kind: EntryKind
    data: bytes = b""

    def describe(self) -> str:
        return f"{self.term}/{self.index}:{self.kind.name.lower()}"


class HardState(msgspec.Struct, frozen=True):
    """What must be durable before any message that depends on it leaves the node."""

    term: int = 0
    vote: NodeId | None = None


class NodeInfo(msgspec.Struct, frozen=True):
    """How to reach a member and which incarnation of its storage is the member."""

    addr: str
    storage_id: str = ""


class Membership(msgspec.Struct, frozen=True):
    """A cluster configuration: one voter set (uniform) or two (joint, C_old then C_new).

    Invariant: 1 <= len(configs) <= 2; every voter is a key of `nodes`; learners are the
    members of `nodes` that are in no config.
    """

    configs: tuple[frozenset[NodeId], ...]
    nodes: dict[NodeId, NodeInfo]
    cluster_id: str = ""
    retain: bool = False
    """Only while joint: whether the voters that C_new removes stay on as learners when the
    leader appends C_new (a new leader finishing the change must know it too)."""
    max_sessions: int = 0
    """Client sessions the state machine keeps: fixed when the cluster is created and carried
    by every later configuration, so every replica evicts the same ones (0: a cluster created
    before it was replicated, where each node's config still decides)."""

    @property
    def joint(self) -> bool:
        return len(self.configs) > 1

    @property
    def voters(self) -> frozenset[NodeId]:
        """Every node that votes in any config (the union while joint)."""
        if len(self.configs) == 1:
            return self.configs[0]
        return self.configs[0] | self.configs[1]

    @property
    def learners(self) -> frozenset[NodeId]:
        return frozenset(self.nodes) - self.voters

    def is_member(self, node_id: NodeId) -> bool:
        return node_id in self.nodes

    def describe(self) -> str:
        confs = " & ".join("{" + ",".join(map(str, sorted(c))) + "}" for c in self.configs)
        learners = ",".join(map(str, sorted(self.learners)))
        return confs + (f" learners {{{learners}}}" if learners else "")


class SnapshotMeta(msgspec.Struct, frozen=True):
    """Describes a snapshot of the state machine taken after applying `last_index`.

    `membership` is the latest configuration at or before `last_index` and
    `membership_index` the index of the entry that carried it (0 for none).
    """

    last_index: int
    last_term: int
    membership: Membership
    membership_index: int = 0


EMPTY_MEMBERSHIP = Membership(configs=(frozenset(),), nodes={})


class BootState(msgspec.Struct, frozen=True):
    """What storage recovered at start: the durable hard state, the latest snapshot's
    metadata (if any), the log entries after it (contiguous, in index order), and the state
    machine's applied index.

    `applied_index` is a commit floor: the state machine applied only committed entries, so
    the core starts with commit and applied there and hands out only what comes after. Without
    it a restarted core could not describe (`snapshot_meta`) the state it serves until it
    learns the commit again, which it may never do if committing needs a snapshot first.
    """

    hard_state: HardState = HardState()
    snapshot: SnapshotMeta | None = None
    entries: list[Entry] = msgspec.field(default_factory=list)
    applied_index: int = 0

    @property
    def pristine(self) -> bool:
        return self.hard_state.term == 0 and self.snapshot is None and not self.entries
