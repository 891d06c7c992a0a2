"""Persist before you speak (thesis §3.8): what may leave in `messages` and what must wait
for `persisted_messages`."""

from __future__ import annotations

import random

from raftkv.core import (
    AppendRequest,
    AppendResponse,
    RawNode,
    Ready,
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


def test_leader_with_unpersisted_term_holds_its_appends() -> None:
    """A single voter wins its election at once; its appends carry a term not yet durable."""
    cluster = bootstrap([0, 1])
    cluster.nodes[0].change_membership({0}, retain=True)
    cluster.stabilize()
    cluster.crash(0)
    cluster.restart(0)
    node = cluster.nodes[0]
    while not node.has_ready():
        cluster.now += 5
        node.tick(cluster.now)
    rd = node.ready()
    assert rd.hard_state is not None and rd.hard_state.term == 2
    assert rd.messages == []
    assert any(isinstance(m, AppendRequest) and m.to == 1 for m in rd.persisted_messages)


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
