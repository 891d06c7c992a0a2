"""Replica convergence as a pure rule of one view: every node at one applied index, holding
one state.

State Machine Safety (Raft paper §5.4.3): "if a server has applied a log entry at a given
index to its state machine, no other server will ever apply a different log entry for the
same index", so two replicas at the same applied index hold the same state. A raftkv node reports `kv_digest`, a hash of its whole state, with
`last_applied_index` from one moment, so nodes are compared by one number each, however much
they hold: once they report one applied index, their digests must agree, and a difference is
a divergence that waiting cannot mend. The key/value maps are compared as well when every
node sent its map (a node leaves it out of `/state` when it is large).

A node without `kv_digest` (the reference node) is compared by its map alone, and a
difference only delays the verdict: such a node may read its index and its map at two
moments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .agreement import Outcome, View, broken, map_missing, met, not_yet, voters_everywhere

if TYPE_CHECKING:
    from raftkv.client import NodeState


@dataclass(frozen=True, slots=True)
class Replicas:
    """What every node reported alike, one poll each."""

    applied: int
    digest: str | None
    """None: the nodes report no digest (the reference node)."""
    keys: int | None
    """How many keys each node holds; None when unknown."""
    nodes: tuple[str, ...]
    kv: dict[str, str] | None
    """The whole key/value map, when every node sent it."""

    def describe(self) -> str:
        digest = "" if self.digest is None else f", kv_digest {self.digest}"
        return f"{', '.join(self.nodes)} at applied index {self.applied}{digest}"


def converged(view: View, voters: frozenset[int] | None = None) -> Outcome[Replicas]:
    """Holds when every node answered at one applied index with one digest (when they report
    digests) and one map (when every node sent its map), and reports `voters` when given."""
    outcome = _converged(view)
    if voters is not None and not outcome.broken:
        members = voters_everywhere(view, voters)
        if not members.holds:
            return not_yet(members.pending)
    return outcome


def _converged(view: View) -> Outcome[Replicas]:
    states: dict[str, NodeState] = {}
    for name, state in view.items():
        if state is None:
            return not_yet(f"{name} did not answer")
        states[name] = state
    if not states:
        return not_yet("no nodes to compare")
    unapplied = [name for name, state in states.items() if state.last_applied_index is None]
    if unapplied:
        return not_yet(f"{', '.join(unapplied)} applied nothing yet (null applied index)")
    if len({state.last_applied_index for state in states.values()}) > 1:
        indexes = ", ".join(f"{name} {state.last_applied_index}" for name, state in states.items())
        return not_yet(f"applied index differs: {indexes}")
    sample = next(iter(states.values()))
    applied = sample.last_applied_index
    assert applied is not None, "checked above"
    with_digests = all(state.kv_digest is not None for state in states.values())
    if with_digests and len({state.kv_digest for state in states.values()}) > 1:
        return broken(f"replicas diverged at applied index {applied}: {_by_digest(states)}")
    without_map = [(name, state) for name, state in states.items() if state.kv is None]
    if without_map and not with_digests:
        name, state = without_map[0]
        return not_yet(f"{name} {map_missing(state)}")
    difference = "" if without_map else _map_difference(states)
    if difference:
        return broken(difference) if with_digests else not_yet(difference)
    kv = None if without_map else sample.kv
    return met(Replicas(applied, sample.kv_digest, sample.key_count, tuple(states), kv))


def _map_difference(states: dict[str, NodeState]) -> str:
    """How the first map that differs from the first node's does ('' when none does)."""
    (first_name, first), *others = states.items()
    assert first.kv is not None, "every node sent its map"
    for name, state in others:
        other = state.kv
        assert other is not None, "every node sent its map"
        if other != first.kv:
            key = first_difference(first.kv, other)
            return (
                f"key/value maps differ at applied index {first.last_applied_index} between "
                f"{first_name} and {name} (first key: {key!r}: {first.kv.get(key)!r} vs "
                f"{other.get(key)!r})"
            )
    return ""


def first_difference(one: Mapping[str, str], other: Mapping[str, str]) -> str:
    """The smallest key whose value (or presence) differs between two unequal maps."""
    return min(set(one.items()) ^ set(other.items()))[0]


def _by_digest(states: dict[str, NodeState]) -> str:
    """`node-0, node-2 report kv_digest A; node-1 reports kv_digest B`, largest group first."""
    groups: dict[str, list[str]] = {}
    for name, state in states.items():
        groups.setdefault(state.kv_digest or "", []).append(name)
    ordered = sorted(groups.items(), key=lambda group: -len(group[1]))
    return "; ".join(
        f"{', '.join(names)} report{'s' if len(names) == 1 else ''} kv_digest {digest}"
        for digest, names in ordered
    )
