"""Leadership transfer (thesis §3.10) and the boot rule after a restart."""

from __future__ import annotations

import pytest

from raftkv.core import (
    InvalidMembership,
    NotLeader,
    ProposalDropped,
    Role,
    TimeoutNow,
    VoteRequest,
)

from .harness import FAST, bootstrap


def test_transfer_to_up_to_date_target() -> None:
    cluster = bootstrap([0, 1, 2])
    assert cluster.nodes[0].transfer_leadership(2) == 2
    rd = cluster.handle_ready(0)
    assert TimeoutNow(1, 0, 2) in rd.messages
    cluster.stabilize()
    assert cluster.leader() == 2 and cluster.nodes[2].term == 2
    votes = [m for m in cluster.sent if isinstance(m, VoteRequest) and m.frm == 2]
    assert votes and all(m.transfer and not m.pre_vote for m in votes)
    assert cluster.nodes[0].role is Role.FOLLOWER


def test_proposals_dropped_during_transfer() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.isolate(2)
    cluster.nodes[0].transfer_leadership(2)
    with pytest.raises(ProposalDropped):
        cluster.nodes[0].propose(b"x")


def test_transfer_brings_lagging_target_up_to_date_first() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.crash(2)
    for i in range(5):
        cluster.nodes[0].propose(b"x%d" % i)
    cluster.run(30)
    cluster.restart(2)
    cluster.nodes[0].transfer_leadership(2)
    cluster.run(100)
    assert cluster.leader() == 2
    assert cluster.commands(2) == [b"x%d" % i for i in range(5)]


def test_transfer_abandoned_after_election_timeout() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.isolate(2)
    cluster.nodes[0].transfer_leadership(2)
    cluster.run(FAST.election_timeout_max + 10)
    assert cluster.leader() == 0
    cluster.nodes[0].propose(b"ok again")


def test_transfer_picks_most_up_to_date_voter() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.crash(1)
    cluster.nodes[0].propose(b"x")
    cluster.run(30)
    assert cluster.nodes[0].transfer_leadership(None) == 2


def test_transfer_errors() -> None:
    cluster = bootstrap([0, 1])
    with pytest.raises(NotLeader):
        cluster.nodes[1].transfer_leadership(0)
    with pytest.raises(InvalidMembership):
        cluster.nodes[0].transfer_leadership(7)
    single = bootstrap([0])
    with pytest.raises(InvalidMembership):
        single.nodes[0].transfer_leadership(None)
