"""What the observer waits for, as pure functions of one view of the cluster.

A view maps each node's name to its latest `/state` (None when the node did not answer).
Each rule returns an `Outcome`: met with a value, pending with a reason that says what is
still missing (a wait that times out reports the last reason), or broken with a reason that
no amount of waiting can mend (a wait ends at once with it).

Leader agreement (DESIGN.md, "Observer agreement"): leader L is agreed in term T when L
reports Leader in T, a majority of the voters in L's configuration (of each configuration
while joint) report (L, T), and no node reports another leader at a term >= T. Nodes that
report no leader (pristine nodes right after `/admin/init`, candidates) do not block.
"A different leader than X" also needs L != X and T > X's term.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from raftkv.client import NodeState

T = TypeVar("T")
View = Mapping[str, "NodeState | None"]


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T]):
    """A rule's answer: `value` when it holds, else `pending` says why not yet, or `broken`
    why never."""

    value: T | None = None
    pending: str = ""
    broken: str = ""

    @property
    def holds(self) -> bool:
        return self.value is not None


def met(value: T) -> Outcome[T]:
    return Outcome(value=value)


def not_yet(reason: str) -> Outcome[T]:
    return Outcome(pending=reason)


def broken(reason: str) -> Outcome[T]:
    """What was seen contradicts the rule for good (replicas diverged)."""
    return Outcome(broken=reason)


@dataclass(frozen=True, slots=True)
class Leadership:
    """A leader agreed by the cluster in `term`."""

    leader_id: int
    term: int

    def __str__(self) -> str:
        return f"node-{self.leader_id} (term {self.term})"


def voter_configs(state: NodeState) -> list[frozenset[int]]:
    """The voter sets a quorum decision of this node needs a majority of: both while
    joint, else the one. Nodes without a `membership` object (the reference) give `voters`."""
    membership = state.membership or {}
    configs = membership.get("configs")
    if membership.get("joint") and isinstance(configs, list) and configs:
        return [frozenset(config) for config in configs]
    return [frozenset(state.voters)]


def reported_leader(state: NodeState) -> int | None:
    """The leader this node vouches for: itself when it leads, else the one it follows."""
    return state.node_id if state.role == "Leader" else state.current_leader


def agreed_leader(view: View, different_from: Leadership | None = None) -> Outcome[Leadership]:
    live = [state for state in view.values() if state is not None]
    claims = sorted(
        (state for state in live if state.role == "Leader"),
        key=lambda state: state.current_term,
        reverse=True,
    )
    if not claims:
        return not_yet("no node reports itself Leader")
    reasons = []
    for claim in claims:
        reason = _why_not_agreed(claim, live, different_from)
        if reason is None:
            return met(Leadership(claim.node_id, claim.current_term))
        reasons.append(reason)
    return not_yet("; ".join(reasons))


def _why_not_agreed(
    claim: NodeState, live: list[NodeState], different_from: Leadership | None
) -> str | None:
    leader, term = claim.node_id, claim.current_term
    if different_from is not None and (
        leader == different_from.leader_id or term <= different_from.term
    ):
        return f"node-{leader} leads in term {term}: not a new leader after {different_from}"
    for state in live:
        other = reported_leader(state)
        if other is not None and other != leader and state.current_term >= term:
            return (
                f"node-{state.node_id} reports leader node-{other} in term "
                f"{state.current_term} (>= {term})"
            )
    backers = {leader} | {
        state.node_id
        for state in live
        if state.current_leader == leader and state.current_term == term
    }
    for voters in voter_configs(claim):
        backing = backers & voters
        if len(backing) * 2 <= len(voters):
            return (
                f"node-{leader} leads in term {term} but only {sorted(backing)} of its "
                f"voters {sorted(voters)} agree"
            )
    return None


def voters_everywhere(view: View, voters: frozenset[int]) -> Outcome[frozenset[int]]:
    """Every node reports exactly `voters`, outside of a joint configuration."""
    for name, state in view.items():
        if state is None:
            return not_yet(f"{name} did not answer")
        joint = bool((state.membership or {}).get("joint"))
        if frozenset(state.voters) != voters or joint:
            shown = f"{sorted(state.voters)}{' (joint)' if joint else ''}"
            return not_yet(f"{name} reports voters {shown}, want {sorted(voters)}")
    return met(voters)


def keys_everywhere(view: View, expected: Mapping[str, str]) -> Outcome[int]:
    """Every node holds every expected key with its value; the value is the key count.
    Needs every node's key/value map (a state too large for `/state` never holds)."""
    for name, state in view.items():
        if state is None:
            return not_yet(f"{name} did not answer")
        if state.kv is None:
            return not_yet(f"{name} {map_missing(state)}")
        missing = [key for key, value in expected.items() if state.kv.get(key) != value]
        if missing:
            return not_yet(f"{name} lacks {len(missing)} expected keys (first: {missing[0]!r})")
    return met(len(expected))


def map_missing(state: NodeState) -> str:
    """Why a state has no key/value map: left out for its size, or not asked for yet."""
    if state.kv_omitted:
        return f"left its key/value map out ({state.kv_omitted})"
    return "was not polled with its key/value map yet"
