"""Pure quorum arithmetic: majorities of one voter set, and the joint rule over two.

While a configuration is joint (C_old,new), every decision needs a majority of C_old AND a
majority of C_new (thesis §4.3: "agreement (for elections and entry commitment) requires
separate majorities from both the old and new configurations").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from enum import Enum

from .types import NodeId

UNBOUNDED = 1 << 62
"""What an empty voter set agrees to: it never limits a joint decision."""


class VoteResult(Enum):
    PENDING = 0
    WON = 1
    LOST = 2


def majority_value(voters: Collection[NodeId], value: Callable[[NodeId], int]) -> int:
    """The largest v such that a majority of `voters` have value >= v."""
    n = len(voters)
    if n == 0:
        return UNBOUNDED
    if n == 1:
        for voter in voters:
            return value(voter)
    values = sorted([value(v) for v in voters], reverse=True)
    return values[n // 2]


def joint_value(configs: Sequence[Collection[NodeId]], value: Callable[[NodeId], int]) -> int:
    """The largest v that a majority of every config has reached."""
    if len(configs) == 1:
        return majority_value(configs[0], value)
    return min(majority_value(c, value) for c in configs)


def vote_result(
    voters: Collection[NodeId], granted: Collection[NodeId], rejected: Collection[NodeId]
) -> VoteResult:
    """WON once a majority granted, LOST once a majority can no longer grant."""
    if not voters:
        return VoteResult.WON
    yes = sum(1 for v in voters if v in granted)
    no = sum(1 for v in voters if v in rejected)
    need = len(voters) // 2 + 1
    if yes >= need:
        return VoteResult.WON
    if len(voters) - no < need:
        return VoteResult.LOST
    return VoteResult.PENDING


def joint_vote_result(
    configs: Sequence[Collection[NodeId]],
    granted: Collection[NodeId],
    rejected: Collection[NodeId],
) -> VoteResult:
    """WON only if every config is won; LOST as soon as any config is lost."""
    results = [vote_result(c, granted, rejected) for c in configs]
    if VoteResult.LOST in results:
        return VoteResult.LOST
    if all(r is VoteResult.WON for r in results):
        return VoteResult.WON
    return VoteResult.PENDING


def has_quorum(configs: Sequence[Collection[NodeId]], members: Collection[NodeId]) -> bool:
    """Whether `members` include a majority of every config."""
    return joint_vote_result(configs, members, ()) is VoteResult.WON
