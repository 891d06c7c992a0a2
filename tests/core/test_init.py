"""`initialize`, the pristine rules and `status()`."""

from __future__ import annotations

import random

import pytest

from raftkv.core import (
    AlreadyInitialized,
    BootState,
    EntryKind,
    HardState,
    NotLeader,
    RawNode,
    Role,
    VoteRequest,
)
from raftkv.core.membership import decode_membership

from .harness import FAST, Cluster, info


def fresh(node_id: int = 0) -> RawNode:
    return RawNode(node_id, FAST, random.Random(1), 0)


def test_initialize_appends_membership_then_blank_and_leads() -> None:
    node = fresh()
    assert node.initialize(info(0), "c1") == 1
    assert node.role is Role.LEADER and node.term == 1 and node.leader_id == 0
    rd = node.ready()
    assert [(e.term, e.index, e.kind) for e in rd.entries] == [
        (1, 1, EntryKind.MEMBERSHIP),
        (1, 2, EntryKind.BLANK),
    ]
    membership = decode_membership(rd.entries[0].data)
    assert membership.configs == (frozenset({0}),)
    assert membership.cluster_id == "c1" and membership.nodes == {0: info(0)}
    assert rd.hard_state == HardState(term=1, vote=0)
    assert rd.committed == []  # not durable yet: nothing is committed before advance
    node.advance(rd)
    rd = node.ready()
    assert [e.index for e in rd.committed] == [1, 2]
    assert node.status().commit_index == 2


@pytest.mark.parametrize(
    "boot",
    [
        BootState(HardState(term=3)),
        BootState(HardState(term=1, vote=0), entries=[]),
    ],
    ids=["has-term", "has-vote"],
)
def test_initialize_refused_unless_pristine(boot: BootState) -> None:
    node = RawNode(0, FAST, random.Random(1), 0, boot)
    with pytest.raises(AlreadyInitialized):
        node.initialize(info(0), "c1")


def test_initialize_twice_refused() -> None:
    node = fresh()
    node.initialize(info(0), "c1")
    with pytest.raises(AlreadyInitialized):
        node.initialize(info(0), "c1")


def test_pristine_node_never_campaigns_or_votes() -> None:
    node = fresh(1)
    for now in range(0, 2000, 10):
        node.tick(now)
    assert not node.has_ready()
    assert node.role is Role.FOLLOWER and node.term == 0
    node.step(VoteRequest(term=5, frm=2, to=1, last_log_index=10, last_log_term=5))
    assert not node.has_ready() and node.term == 0


def test_propose_on_follower_names_the_leader() -> None:
    cluster = Cluster([0, 1])
    cluster.nodes[0].initialize(info(0), "c1")
    cluster.stabilize()
    cluster.nodes[0].add_learner(1, info(1))
    cluster.stabilize()
    with pytest.raises(NotLeader) as err:
        cluster.nodes[1].propose(b"x")
    assert err.value.leader_id == 0
    assert cluster.nodes[1].role is Role.LEARNER


def test_status_reports_progress_only_on_leader() -> None:
    cluster = Cluster([0, 1])
    cluster.nodes[0].initialize(info(0), "c1")
    cluster.stabilize()
    cluster.nodes[0].add_learner(1, info(1))
    cluster.stabilize()
    leader, learner = cluster.nodes[0].status(), cluster.nodes[1].status()
    assert leader.progress[1].match_index == leader.last_index == 3
    assert leader.progress[1].state == "replicate"
    assert learner.progress == {} and learner.role is Role.LEARNER
    assert learner.membership.learners == {1} and learner.commit_index == 3
