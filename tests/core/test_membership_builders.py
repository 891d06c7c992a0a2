"""Membership builders: compute, validate, then swap (STYLE "Invariants")."""

from __future__ import annotations

import pytest

from raftkv.core import InvalidMembership, Membership, NodeInfo
from raftkv.core.membership import (
    MembershipState,
    check_invariants,
    decode_membership,
    encode_membership,
    final,
    joint,
    with_node,
)


def info(node_id: int) -> NodeInfo:
    return NodeInfo(f"h:{node_id}")


def uniform(*voters: int, learners: tuple[int, ...] = ()) -> Membership:
    nodes = {n: info(n) for n in (*voters, *learners)}
    return Membership((frozenset(voters),), nodes, "c")


@pytest.mark.parametrize(
    "membership",
    [
        Membership((), {}, "c"),
        Membership((frozenset(),), {}, "c"),
        Membership((frozenset({1}),), {}, "c"),
        Membership((frozenset({1}), frozenset({1}), frozenset({1})), {1: info(1)}, "c"),
    ],
    ids=["no-config", "empty-config", "voter-without-address", "three-configs"],
)
def test_check_invariants_rejects(membership: Membership) -> None:
    with pytest.raises(InvalidMembership):
        check_invariants(membership)


@pytest.mark.parametrize(
    ("retain", "nodes"),
    [(False, {1, 2, 4}), (True, {1, 2, 3, 4})],
    ids=["drop-removed", "retain-removed"],
)
def test_joint_then_final(retain: bool, nodes: set[int]) -> None:
    start = uniform(1, 2, 3, learners=(4,))
    mid = joint(start, frozenset({1, 2, 4}), retain)
    assert mid.configs == (frozenset({1, 2, 3}), frozenset({1, 2, 4})) and mid.joint
    end = final(mid)
    assert end.configs == (frozenset({1, 2, 4}),)
    assert set(end.nodes) == nodes and end.cluster_id == "c"


def test_with_node_adds_learner_or_updates_address() -> None:
    start = uniform(1)
    added = with_node(start, 2, info(2))
    assert added.learners == {2} and added.voters == {1}
    moved = with_node(added, 1, NodeInfo("elsewhere"))
    assert moved.nodes[1].addr == "elsewhere" and moved.voters == {1}


def test_encoding_round_trips_with_retain() -> None:
    mid = joint(uniform(1, 2, learners=(3,)), frozenset({2, 3}), True)
    decoded = decode_membership(encode_membership(mid))
    assert decoded == mid and decoded.retain


def test_state_tracks_effective_and_rolls_back() -> None:
    state = MembershipState()
    state.append(1, uniform(1))
    state.append(5, uniform(1, 2))
    state.append(9, uniform(1, 2, 3))
    assert state.effective_index == 9
    assert state.at(6) == (5, uniform(1, 2))
    state.truncate_from(7)
    assert state.effective_index == 5
    state.compact(6)
    assert state.history == [(5, uniform(1, 2))]
