"""Pre-vote (thesis §9.6), check-quorum (§6.2) and the followers' leader lease (§4.2.3)."""

from __future__ import annotations

import random

from raftkv.core import RawNode, Role, VoteRequest, VoteResponse

from .harness import FAST, bootstrap
from .test_election import member_boot


def test_pre_vote_persists_nothing_and_keeps_the_term() -> None:
    node = RawNode(0, FAST, random.Random(7), 0, member_boot([0, 1, 2], term=3))
    node.tick(1000)
    rd = node.ready()
    assert node.term == 3 and rd.hard_state is None
    assert rd.persisted_messages == []
    assert {(m.to, m.term, m.pre_vote) for m in rd.messages if isinstance(m, VoteRequest)} == {
        (1, 4, True),
        (2, 4, True),
    }


def test_pre_vote_win_starts_real_election() -> None:
    node = RawNode(0, FAST, random.Random(7), 0, member_boot([0, 1, 2], term=3))
    node.tick(1000)
    node.advance(node.ready())
    node.step(VoteResponse(term=4, frm=1, to=0, granted=True, pre_vote=True))
    rd = node.ready()
    assert node.term == 4 and rd.hard_state is not None and rd.hard_state.vote == 0
    assert all(not m.pre_vote for m in rd.persisted_messages if isinstance(m, VoteRequest))


def test_pre_vote_grant_does_not_change_voter_state() -> None:
    node = RawNode(1, FAST, random.Random(7), 0, member_boot([0, 1, 2], term=3))
    node.tick(FAST.election_timeout_min)  # the boot lease is over
    node.step(VoteRequest(term=4, frm=0, to=1, last_log_index=1, last_log_term=1, pre_vote=True))
    rd = node.ready()
    assert node.term == 3 and rd.hard_state is None
    assert rd.messages == [VoteResponse(term=4, frm=1, to=0, granted=True, pre_vote=True)]


def test_transfer_flag_bypasses_the_lease() -> None:
    node = RawNode(1, FAST, random.Random(7), 0, member_boot([0, 1, 2], term=3))
    node.step(VoteRequest(term=4, frm=0, to=1, last_log_index=1, last_log_term=1, transfer=True))
    rd = node.ready()
    assert rd.persisted_messages == [VoteResponse(term=4, frm=1, to=0, granted=True)]


def test_partitioned_follower_cannot_disrupt_a_healthy_cluster() -> None:
    cluster = bootstrap([0, 1, 2], FAST, seed=4)
    cluster.isolate(2)
    cluster.run(500)
    assert cluster.nodes[2].term == 1  # pre-vote never succeeded: no term inflation
    cluster.heal()
    cluster.run(200)
    assert cluster.leader() == 0 and cluster.nodes[0].term == 1


def test_follower_in_lease_ignores_higher_term_vote() -> None:
    cluster = bootstrap([0, 1, 2], FAST, seed=4)
    cluster.nodes[1].step(VoteRequest(term=9, frm=2, to=1, last_log_index=99, last_log_term=9))
    assert cluster.nodes[1].term == 1 and not cluster.nodes[1].has_ready()


def test_check_quorum_leader_steps_down_when_isolated() -> None:
    cluster = bootstrap([0, 1, 2], FAST, seed=5)
    cluster.isolate(0)
    cluster.run(FAST.election_timeout_min + 3 * FAST.heartbeat_interval)
    assert cluster.nodes[0].role is Role.FOLLOWER
    cluster.run(300)
    assert cluster.leaders() and cluster.leaders()[0] != 0
