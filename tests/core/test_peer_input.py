"""Peer messages no correct peer sends are refused before they change anything (peer_input.py).

Each scenario steps one forged message into a bootstrapped cluster and checks the refusal's
reason, that the node's status is what it was, and that it has nothing to persist or send.
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raftkv.core import (
    MAX_TERM,
    AppendRequest,
    AppendResponse,
    Entry,
    EntryKind,
    Message,
    MessageRejected,
    ReadIndexResponse,
    SnapshotMeta,
    SnapshotRequest,
    SnapshotResponse,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from raftkv.core.membership import encode_membership
from raftkv.core.types import Membership

from .harness import Cluster, bootstrap, info

LEADER, FOLLOWER = 0, 1


def refused(cluster: Cluster, node: int, msg: Message) -> str:
    """Step `msg` into `node`; the refusal's reason, after checking nothing changed."""
    before = cluster.nodes[node].status()
    with pytest.raises(MessageRejected) as caught:
        cluster.nodes[node].step(msg)
    assert cluster.nodes[node].status() == before
    assert not cluster.nodes[node].has_ready()
    return caught.value.reason


def append(
    term: int, prev: tuple[int, int], entries: tuple[Entry, ...], **kw: int
) -> AppendRequest:
    return AppendRequest(
        term=term,
        frm=kw.get("frm", LEADER),
        to=kw.get("to", FOLLOWER),
        prev_index=prev[0],
        prev_term=prev[1],
        entries=entries,
        leader_commit=kw.get("commit", 0),
        seq=1,
    )


def test_a_term_whose_successor_cannot_be_stored_is_refused() -> None:
    cluster = bootstrap([0, 1, 2])
    vote = VoteRequest(term=2**64 - 1, frm=2, to=FOLLOWER, last_log_index=0, last_log_term=0)
    assert refused(cluster, FOLLOWER, vote) == "term_out_of_range"
    assert refused(cluster, LEADER, TimeoutNow(MAX_TERM + 1, 2, LEADER)) == "term_out_of_range"


def test_a_second_leader_in_the_leaders_own_term_is_refused() -> None:
    cluster = bootstrap([0, 1, 2])
    term = cluster.nodes[LEADER].status().term
    last = cluster.nodes[LEADER].status().last_index
    forged = append(term, (last, term), (), frm=2, to=LEADER)
    assert refused(cluster, LEADER, forged) == "second_leader"
    assert cluster.leaders() == [LEADER]


def test_a_second_leader_in_a_followers_term_is_refused() -> None:
    cluster = bootstrap([0, 1, 2])
    status = cluster.nodes[FOLLOWER].status()
    forged = append(status.term, (status.last_index, status.last_term), (), frm=2)
    assert refused(cluster, FOLLOWER, forged) == "second_leader"
    assert cluster.nodes[FOLLOWER].status().leader_id == LEADER


@pytest.mark.parametrize(
    ("entries", "reason"),
    [
        # Entry.index here is the offset after the follower's last index (1: the next one).
        ((Entry(1, 9, EntryKind.BLANK),), "entries_not_consecutive"),
        ((Entry(2, 1, EntryKind.BLANK), Entry(2, 1, EntryKind.BLANK)), "entries_not_consecutive"),
        ((Entry(5, 1, EntryKind.BLANK),), "entry_term_out_of_order"),
        ((Entry(2, 1, EntryKind.BLANK), Entry(1, 2, EntryKind.BLANK)), "entry_term_out_of_order"),
        ((Entry(2, 1, EntryKind.MEMBERSHIP, b"\xc1not msgpack"),), "bad_membership"),
    ],
    ids=["gap", "index-repeats", "term-above-the-senders", "term-goes-back", "bad-membership"],
)
def test_entries_that_no_leader_sends_are_refused(entries: tuple[Entry, ...], reason: str) -> None:
    cluster = bootstrap([0, 1, 2])
    status = cluster.nodes[FOLLOWER].status()
    last = status.last_index
    shifted = tuple(Entry(e.term, last + e.index, e.kind, e.data) for e in entries)
    forged = append(2, (last, status.last_term), shifted)
    assert refused(cluster, FOLLOWER, forged) == reason


def test_a_configuration_without_voters_is_refused() -> None:
    cluster = bootstrap([0, 1, 2])
    status = cluster.nodes[FOLLOWER].status()
    empty = Membership((frozenset(),), {}, "cluster-1")
    entry = Entry(2, status.last_index + 1, EntryKind.MEMBERSHIP, encode_membership(empty))
    forged = append(2, (status.last_index, status.last_term), (entry,))
    assert refused(cluster, FOLLOWER, forged) == "bad_membership"
    meta = SnapshotMeta(status.last_index + 5, 2, empty, 0)
    assert refused(cluster, FOLLOWER, SnapshotRequest(2, 2, FOLLOWER, meta, 1)) == "bad_membership"


def test_a_position_after_the_senders_term_is_refused() -> None:
    cluster = bootstrap([0, 1, 2])
    assert refused(cluster, FOLLOWER, append(2, (3, 7), ())) == "term_out_of_range"
    vote = VoteRequest(term=2, frm=2, to=FOLLOWER, last_log_index=0, last_log_term=1)
    assert refused(cluster, FOLLOWER, vote) == "term_out_of_range"


def test_an_append_conflicting_with_the_commit_is_refused_even_from_a_higher_term() -> None:
    cluster = bootstrap([0, 1, 2])
    status = cluster.nodes[FOLLOWER].status()
    commit = status.commit_index
    forged = append(5, (commit - 1, 1), (Entry(4, commit, EntryKind.BLANK),), frm=2)
    assert refused(cluster, FOLLOWER, forged) == "conflicts_with_commit"
    assert cluster.nodes[FOLLOWER].status().term == status.term  # the term did not move


def test_acknowledgements_beyond_the_leaders_log_are_refused() -> None:
    cluster = bootstrap([0, 1, 2])
    leader = cluster.nodes[LEADER].status()
    term, last = leader.term, leader.last_index
    beyond = AppendResponse(term, FOLLOWER, LEADER, True, last + 1, seq=1)
    assert refused(cluster, LEADER, beyond) == "match_beyond_log"
    hint = AppendResponse(term, FOLLOWER, LEADER, False, 0, seq=1, hint_index=last + 2)
    assert refused(cluster, LEADER, hint) == "hint_beyond_log"
    snap = SnapshotResponse(term, FOLLOWER, LEADER, last + 1, seq=1)
    assert refused(cluster, LEADER, snap) == "match_beyond_log"
    read = ReadIndexResponse(term, LEADER, FOLLOWER, ctx=1, index=2**63, ok=True)
    assert refused(cluster, FOLLOWER, read) == "index_out_of_range"


def test_a_stale_message_is_answered_not_refused() -> None:
    """Below the receiver's term, only the shape is checked: the sender learns the term."""
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[FOLLOWER].step(append(0, (0, 0), (Entry(0, 1, EntryKind.BLANK),), frm=2))
    [answer] = cluster.nodes[FOLLOWER].ready().messages
    assert isinstance(answer, AppendResponse) and not answer.success


def test_the_cluster_still_commits_after_refusals() -> None:
    cluster = bootstrap([0, 1, 2])
    forged = [
        VoteRequest(term=2**64 - 1, frm=2, to=0, last_log_index=0, last_log_term=0),
        AppendResponse(1, 2, 0, True, 10**9, seq=1),
        append(cluster.nodes[0].status().term, (0, 0), (), frm=2, to=0),
    ]
    for msg in forged:
        with pytest.raises(MessageRejected):
            cluster.nodes[0].step(msg)
    cluster.nodes[0].propose(b"after")
    cluster.stabilize()
    assert all(b"after" in cluster.commands(node) for node in (0, 1, 2))


_ints = st.one_of(
    st.integers(min_value=-3, max_value=12), st.integers(min_value=-(2**64), max_value=2**64)
)
_node = st.integers(min_value=-1, max_value=3)
_entries = st.lists(
    st.builds(
        Entry,
        term=_ints,
        index=_ints,
        kind=st.sampled_from(EntryKind),
        data=st.one_of(
            st.just(b""),
            st.binary(max_size=8),
            st.just(
                encode_membership(
                    Membership(
                        (frozenset({0, 1, 2}),), {n: info(n) for n in (0, 1, 2)}, "cluster-1"
                    )
                )
            ),
        ),
    ),
    max_size=4,
).map(tuple)
_messages = st.one_of(
    st.builds(
        VoteRequest,
        term=_ints,
        frm=_node,
        to=_node,
        last_log_index=_ints,
        last_log_term=_ints,
        pre_vote=st.booleans(),
        transfer=st.booleans(),
    ),
    st.builds(
        VoteResponse, term=_ints, frm=_node, to=_node, granted=st.booleans(), pre_vote=st.booleans()
    ),
    st.builds(
        AppendRequest,
        term=_ints,
        frm=_node,
        to=_node,
        prev_index=_ints,
        prev_term=_ints,
        entries=_entries,
        leader_commit=_ints,
        seq=_ints,
    ),
    st.builds(
        AppendResponse,
        term=_ints,
        frm=_node,
        to=_node,
        success=st.booleans(),
        match_index=_ints,
        seq=_ints,
        hint_index=_ints,
        hint_term=_ints,
    ),
    st.builds(SnapshotResponse, term=_ints, frm=_node, to=_node, last_index=_ints, seq=_ints),
    st.builds(TimeoutNow, term=_ints, frm=_node, to=_node),
    st.builds(
        ReadIndexResponse, term=_ints, frm=_node, to=_node, ctx=_ints, index=_ints, ok=st.booleans()
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_messages, min_size=1, max_size=6))
def test_no_peer_message_breaks_a_nodes_invariants(messages: list[Message]) -> None:
    """Whatever a peer sends, each node either refuses it or stays consistent: no forged
    message reaches an invariant check (that would stop the node). A forged message that is
    believable (a higher term, say) may mislead a node, and the real peers' next messages may
    then be refused in turn; that is a refusal too, never a crash."""
    cluster = bootstrap([0, 1, 2])
    for msg in messages:
        node = cluster.nodes[msg.to] if msg.to in cluster.nodes else cluster.nodes[0]
        with contextlib.suppress(MessageRejected):
            node.step(msg)
        node.check_invariants()
        with contextlib.suppress(MessageRejected):
            cluster.process()
        for each in cluster.nodes.values():
            each.check_invariants()
