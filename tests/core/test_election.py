"""Elections: timeouts, votes, terms, the up-to-date rule (§5.2, §5.4.1)."""

from __future__ import annotations

import random

import pytest

from raftkv.core import (
    BootState,
    CoreConfig,
    Entry,
    EntryKind,
    HardState,
    RawNode,
    Role,
    VoteRequest,
    VoteResponse,
)
from raftkv.core.membership import encode_membership
from raftkv.core.types import Membership

from .harness import FAST, bootstrap, info

NO_PREVOTE = CoreConfig(
    heartbeat_interval=10, election_timeout_min=50, election_timeout_max=100, pre_vote=False
)


def member_boot(
    ids: list[int], term: int = 1, last_term: int = 1, last_index: int = 1
) -> BootState:
    """A node restarted with a membership of `ids` in its log (so it is not pristine)."""
    membership = Membership((frozenset(ids),), {i: info(i) for i in ids}, "c1")
    entries = [Entry(1, 1, EntryKind.MEMBERSHIP, encode_membership(membership))]
    entries += [Entry(last_term, i, EntryKind.BLANK) for i in range(2, last_index + 1)]
    return BootState(HardState(term=term), None, entries)


def boot_node(node_id: int, config: CoreConfig = NO_PREVOTE, **kw: int) -> RawNode:
    return RawNode(node_id, config, random.Random(7), 0, member_boot([0, 1, 2], **kw))


def test_candidate_persists_term_and_vote_before_vote_requests() -> None:
    node = boot_node(0)
    node.tick(1000)
    rd = node.ready()
    assert rd.hard_state == HardState(term=2, vote=0)
    assert rd.messages == []
    assert sorted(m.to for m in rd.persisted_messages) == [1, 2]
    assert all(isinstance(m, VoteRequest) and not m.pre_vote for m in rd.persisted_messages)


def test_candidate_wins_with_majority_and_appends_blank() -> None:
    node = boot_node(0)
    node.tick(1000)
    node.advance(node.ready())
    node.step(VoteResponse(term=2, frm=1, to=0, granted=True))
    assert node.role is Role.LEADER and node.leader_id == 0
    rd = node.ready()
    assert [(e.term, e.kind) for e in rd.entries] == [(2, EntryKind.BLANK)]
    assert sorted(m.to for m in rd.messages) == [1, 2]


def test_candidate_loses_on_majority_rejection() -> None:
    node = boot_node(0)
    node.tick(1000)
    node.step(VoteResponse(term=2, frm=1, to=0, granted=False))
    assert node.role is Role.CANDIDATE
    node.step(VoteResponse(term=2, frm=2, to=0, granted=False))
    assert node.role is Role.FOLLOWER and node.term == 2


@pytest.mark.parametrize(
    ("req_last_term", "req_last_index", "granted"),
    [
        (1, 3, True),  # same last term, same length
        (1, 5, True),  # same last term, longer
        (1, 2, False),  # same last term, shorter
        (2, 1, True),  # higher last term wins regardless of length
        (0, 9, False),  # lower last term loses regardless of length
    ],
    ids=["equal", "longer", "shorter", "higher-term", "lower-term"],
)
def test_vote_up_to_date_rule(req_last_term: int, req_last_index: int, granted: bool) -> None:
    node = boot_node(1, last_index=3)
    node.tick(NO_PREVOTE.election_timeout_min)  # boot lease over
    node.step(
        VoteRequest(term=5, frm=2, to=1, last_log_index=req_last_index, last_log_term=req_last_term)
    )
    rd = node.ready()
    assert rd.hard_state is not None and rd.hard_state.term == 5
    assert rd.messages == []
    [resp] = rd.persisted_messages
    assert isinstance(resp, VoteResponse) and resp.granted is granted and resp.term == 5
    assert (rd.hard_state.vote == 2) is granted


def test_one_vote_per_term() -> None:
    node = boot_node(1)
    node.tick(NO_PREVOTE.election_timeout_min)
    node.step(VoteRequest(term=5, frm=2, to=1, last_log_index=1, last_log_term=1))
    node.step(VoteRequest(term=5, frm=0, to=1, last_log_index=1, last_log_term=1))
    node.step(VoteRequest(term=5, frm=2, to=1, last_log_index=1, last_log_term=1))
    rd = node.ready()
    assert [
        (m.frm, m.to, m.granted) for m in rd.persisted_messages if isinstance(m, VoteResponse)
    ] == [
        (1, 2, True),
        (1, 0, False),
        (1, 2, True),
    ]


def test_stale_vote_request_rejected_with_our_term() -> None:
    node = boot_node(1, term=4)
    node.step(VoteRequest(term=3, frm=2, to=1, last_log_index=9, last_log_term=3))
    rd = node.ready()
    assert rd.hard_state is None
    assert rd.messages == [VoteResponse(term=4, frm=1, to=2, granted=False)]


def test_election_in_cluster_after_leader_crash() -> None:
    cluster = bootstrap([0, 1, 2], FAST, seed=3)
    cluster.crash(0)
    cluster.run(400)
    new = cluster.leader()
    assert new != 0 and cluster.nodes[new].term > 1
    for node_id in (1, 2):
        assert cluster.nodes[node_id].leader_id == new


def test_randomized_timeouts_come_from_injected_rng() -> None:
    def first_campaign(seed: int) -> int:
        node = RawNode(0, NO_PREVOTE, random.Random(seed), 0, member_boot([0, 1, 2]))
        for now in range(0, 1000):
            node.tick(now)
            if node.role is Role.CANDIDATE:
                return now
        raise AssertionError("never campaigned")

    assert first_campaign(5) == first_campaign(5)
    assert len({first_campaign(s) for s in range(8)}) > 1
    assert all(100 - 50 + 50 <= first_campaign(s) < 100 - 50 + 100 for s in range(8))
