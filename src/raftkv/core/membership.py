"""Cluster configurations: which one is in effect, which is committed, and how to change them.

OpenRaft semantics (thesis §4.3): a configuration takes effect as soon as its entry is
appended, not when it commits; truncating the log or installing a snapshot rolls back to the
latest configuration that remains. Changes follow "compute, validate, then swap": the
builders below return a new `Membership` that has passed `check_invariants`, or raise.
"""

from __future__ import annotations

import msgspec

from .errors import InvalidMembership, InvariantViolation
from .types import EMPTY_MEMBERSHIP, Membership, NodeId, NodeInfo

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Membership)


def encode_membership(membership: Membership) -> bytes:
    return _encoder.encode(membership)


def decode_membership(data: bytes) -> Membership:
    return _decoder.decode(data)


def check_invariants(membership: Membership) -> None:
    """Raise InvalidMembership unless 1 or 2 non-empty configs whose voters all have an address."""
    if not 1 <= len(membership.configs) <= 2:
        raise InvalidMembership(f"{len(membership.configs)} configs (must be 1 or 2)")
    for config in membership.configs:
        if not config:
            raise InvalidMembership("a configuration needs at least one voter")
        missing = config - membership.nodes.keys()
        if missing:
            raise InvalidMembership(f"voters without an address: {sorted(missing)}")


def with_node(membership: Membership, node_id: NodeId, info: NodeInfo) -> Membership:
    """Add a learner, or update a member's address."""
    nodes = dict(membership.nodes)
    nodes[node_id] = info
    new = msgspec.structs.replace(membership, nodes=nodes)
    check_invariants(new)
    return new


def joint(membership: Membership, voters: frozenset[NodeId], retain: bool) -> Membership:
    """C_old,new from a uniform configuration."""
    if membership.joint:
        raise InvariantViolation("a joint change started from a joint configuration")
    new = msgspec.structs.replace(
        membership,
        configs=(membership.configs[0], voters),
        nodes=dict(membership.nodes),
        retain=retain,
    )
    check_invariants(new)
    return new


def final(membership: Membership) -> Membership:
    """C_new from C_old,new: removed voters are dropped unless the change retains them."""
    if not membership.joint:
        raise InvariantViolation("finishing a change from a uniform configuration")
    new_voters = membership.configs[1]
    nodes = dict(membership.nodes)
    if not membership.retain:
        for removed in membership.configs[0] - new_voters:
            del nodes[removed]
    new = msgspec.structs.replace(membership, configs=(new_voters,), nodes=nodes, retain=False)
    check_invariants(new)
    return new


class MembershipState:
    """The configurations found in the log, latest last.

    Invariant: `history` is non-empty and sorted by index; `history[0]` is the base (the
    snapshot's configuration, or the empty one at index 0); the others are MEMBERSHIP entries
    present in the log.
    """

    __slots__ = ("history", "version")

    def __init__(self, index: int = 0, membership: Membership = EMPTY_MEMBERSHIP) -> None:
        self.history: list[tuple[int, Membership]] = [(index, membership)]
        self.version = 0
        """Bumped whenever the effective configuration may have changed (for caches)."""

    @property
    def effective(self) -> Membership:
        """The configuration in effect: the latest appended."""
        return self.history[-1][1]

    @property
    def effective_index(self) -> int:
        return self.history[-1][0]

    def at(self, index: int) -> tuple[int, Membership]:
        """The latest configuration at or before `index` (committed if `index` is)."""
        for entry_index, membership in reversed(self.history):
            if entry_index <= index:
                return entry_index, membership
        return self.history[0]

    def append(self, index: int, membership: Membership) -> None:
        if index <= self.history[-1][0]:
            raise InvariantViolation(f"configuration at {index} is not after {self.history[-1][0]}")
        self.history.append((index, membership))
        self.version += 1

    def truncate_from(self, index: int) -> bool:
        """Forget the configurations at `index` and after; True if the effective one changed."""
        before = len(self.history)
        while len(self.history) > 1 and self.history[-1][0] >= index:
            self.history.pop()
        self.version += 1
        return len(self.history) != before

    def reset(self, index: int, membership: Membership) -> None:
        """Start over from a snapshot's configuration."""
        self.history = [(index, membership)]
        self.version += 1

    def compact(self, through: int) -> None:
        """Drop what a snapshot through `through` no longer needs: all but the latest
        configuration at or before it."""
        keep = 0
        for pos, (entry_index, _) in enumerate(self.history):
            if entry_index <= through:
                keep = pos
        del self.history[:keep]
