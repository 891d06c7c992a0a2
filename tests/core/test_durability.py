"""Persist before you speak (thesis §3.8): what may leave in `messages` and what must wait
for `persisted_messages`."""

from __future__ import annotations

import random

import pytest

from raftkv.core import (
    AppendRequest,
    AppendResponse,
    NotLeader,
    RawNode,
    Ready,
    Role,
    SnapshotResponse,
    VoteRequest,
    VoteResponse,
)

from .harness import FAST, bootstrap
from .test_election import member_boot


def all_readys(cluster) -> list[Ready]:  # type: ignore[no-untyped-def]
    return [rd for readys in cluster.readys.values() for rd in readys]


def test_promises_never_leave_before_persistence() -> None:
    """Over a whole run with elections and a crash: vote grants, append/snapshot
    acknowledgements and real vote requests only ever leave in `persisted_messages`."""
    cluster = bootstrap([0, 1, 2], FAST, seed=11)
    for i in range(10):
        cluster.nodes[0].propose(b"%d" % i)
    cluster.run(50)
    cluster.crash(0)
    cluster.run(400)
    cluster.restart(0)
    cluster.run(300)
    early = [m for rd in all_readys(cluster) for m in rd.messages]
    assert not [m for m in early if isinstance(m, VoteResponse) and m.granted and not m.pre_vote]
    assert not [m for m in early if isinstance(m, AppendResponse | SnapshotResponse)]
    assert not [m for m in early if isinstance(m, VoteRequest) and not m.pre_vote]
    assert any(isinstance(m, AppendRequest) for m in early)  # leaders send before fsync


def test_term_bump_is_persisted_before_the_reply() -> None:
    node = RawNode(1, FAST, random.Random(3), 0, member_boot([0, 1, 2], term=2))
    node.tick(FAST.election_timeout_min)
    node.step(VoteRequest(term=7, frm=2, to=1, last_log_index=0, last_log_term=0))
    rd = node.ready()
    assert rd.hard_state is not None and rd.hard_state.term == 7
    assert rd.messages == [] and len(rd.persisted_messages) == 1


def single_voter_campaigning(cluster) -> RawNode:  # type: ignore[no-untyped-def]
    """Node 0, the only voter (node 1 is a learner), restarted and ticked until it campaigns."""
    node = cluster.nodes[0]
    while not node.has_ready():
        cluster.now += 5
        node.tick(cluster.now)
    return node


def single_voter_with_learner():  # type: ignore[no-untyped-def]
    cluster = bootstrap([0, 1])
    cluster.nodes[0].change_membership({0}, retain=True)
    cluster.stabilize()
    cluster.crash(0)
    cluster.restart(0)
    return cluster


def test_single_voter_leads_only_after_its_vote_is_durable() -> None:
    """A single voter is a quorum by itself, yet its own vote counts only once the Ready
    holding (term, vote) was advanced: no leadership, entry or append of that term before."""
    cluster = single_voter_with_learner()
    node = single_voter_campaigning(cluster)
    rd = node.ready()
    assert rd.hard_state is not None and (rd.hard_state.term, rd.hard_state.vote) == (2, 0)
    assert rd.entries == [] and rd.messages == [] and rd.persisted_messages == []
    assert node.role is Role.CANDIDATE
    cluster.disks[0].persist(rd)
    node.advance(rd)
    assert node.role is Role.LEADER
    rd = node.ready()
    assert [e.term for e in rd.entries] == [2]
    assert any(isinstance(m, AppendRequest) and m.to == 1 for m in rd.messages)


def test_single_voter_crashing_before_its_vote_is_durable_reuses_no_index() -> None:
    """Regression (raftkv-sim --seed 5029 --nodes 1): the voter crashed before the fsync of
    (term 2, vote 0); had it led and appended in term 2 already, the restarted node would win
    term 2 again and write other entries at the same (index, term)."""
    cluster = single_voter_with_learner()
    node = single_voter_campaigning(cluster)
    lost = node.ready()
    assert lost.entries == []
    with pytest.raises(NotLeader):
        node.propose(b"lost")
    cluster.crash(0)  # the Ready is never persisted
    cluster.restart(0)
    assert cluster.disks[0].hard_state.term == 1
    cluster.run(3 * FAST.election_timeout_max)
    assert cluster.leaders() == [0]
    cluster.nodes[0].propose(b"kept")
    cluster.stabilize()
    terms_by_index: dict[int, set[int]] = {}
    for rd in cluster.readys[0]:
        for entry in rd.entries:
            terms_by_index.setdefault(entry.index, set()).add(entry.term)
    assert all(len(terms) == 1 for terms in terms_by_index.values()), terms_by_index
    assert cluster.commands(1)[-1:] == [b"kept"]


def test_committed_entries_are_durable_first() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].propose(b"x")
    cluster.run(50)
    for node_id, readys in cluster.readys.items():
        persisted: set[int] = set()
        for rd in readys:
            for entry in rd.committed:
                assert entry.index in persisted, (node_id, entry.describe())
            persisted.update(e.index for e in rd.entries)
