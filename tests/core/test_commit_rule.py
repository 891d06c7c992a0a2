"""The commit rule (Raft §5.4.2, thesis §3.6.2): a (joint) quorum of durable matches, only
entries of the leader's term by counting, and the follower's bounded commit."""

from __future__ import annotations

import random

from raftkv.core import (
    AppendRequest,
    AppendResponse,
    BootState,
    Entry,
    EntryKind,
    HardState,
    Membership,
    RawNode,
    Role,
    VoteResponse,
)
from raftkv.core.membership import encode_membership

from .harness import bootstrap, info
from .test_election import NO_PREVOTE


def test_leader_counts_itself_only_after_advance() -> None:
    cluster = bootstrap([0])
    node = cluster.nodes[0]
    _, index = node.propose(b"x")
    rd = node.ready()
    assert node.status().commit_index < index
    node.advance(rd)
    assert node.status().commit_index == index


def test_commit_needs_a_quorum_of_durable_matches() -> None:
    cluster = bootstrap([0, 1, 2])
    _, index = cluster.nodes[0].propose(b"x")
    cluster.handle_ready(0)
    # Nothing delivered yet: the leader alone is not a quorum.
    assert cluster.nodes[0].status().commit_index < index
    cluster.deliver(keep=lambda m: m.to == 1 or m.frm == 1)
    cluster.deliver(keep=lambda m: m.to == 1 or m.frm == 1)
    assert cluster.nodes[0].status().commit_index == index


def test_old_term_entry_is_not_committed_by_counting_replicas() -> None:
    """Raft §5.4.2 (figure 8): an entry of an older term on a majority is not committed until
    an entry of the leader's own term is."""
    membership = Membership((frozenset({0, 1, 2}),), {i: info(i) for i in range(3)}, "c1")
    entries = [
        Entry(1, 1, EntryKind.MEMBERSHIP, encode_membership(membership)),
        Entry(2, 2, EntryKind.COMMAND, b"old"),
    ]
    node = RawNode(0, NO_PREVOTE, random.Random(1), 0, BootState(HardState(term=2), None, entries))
    node.tick(1000)
    node.advance(node.ready())
    node.step(VoteResponse(term=3, frm=1, to=0, granted=True))
    assert node.role is Role.LEADER
    node.advance(node.ready())  # the blank entry (3/3) is durable locally
    node.step(AppendResponse(term=3, frm=1, to=0, success=True, match_index=2, seq=1))
    assert node.status().commit_index == 0  # 2/2 is on a majority, but of an older term
    node.step(AppendResponse(term=3, frm=1, to=0, success=True, match_index=3, seq=2))
    assert node.status().commit_index == 3
    rd = node.ready()
    assert [e.describe() for e in rd.committed] == ["1/1:membership", "2/2:command", "3/3:blank"]


def test_follower_commit_bounded_by_last_new_entry() -> None:
    cluster = bootstrap([0, 1])
    status = cluster.nodes[1].status()
    last = status.last_index
    req = AppendRequest(
        term=1,
        frm=0,
        to=1,
        prev_index=last,
        prev_term=1,
        entries=(Entry(1, last + 1, EntryKind.BLANK),),
        leader_commit=last + 10,
        seq=999,
    )
    cluster.nodes[1].step(req)
    assert cluster.nodes[1].status().commit_index == last + 1


def test_rejected_append_does_not_move_commit() -> None:
    cluster = bootstrap([0, 1])
    before = cluster.nodes[1].status().commit_index
    req = AppendRequest(
        term=1, frm=0, to=1, prev_index=50, prev_term=1, entries=(), leader_commit=60, seq=999
    )
    cluster.nodes[1].step(req)
    assert cluster.nodes[1].status().commit_index == before
    rd = cluster.nodes[1].ready()
    [resp] = rd.persisted_messages
    assert isinstance(resp, AppendResponse) and not resp.success
    assert resp.hint_index == cluster.nodes[1].status().last_index + 1
