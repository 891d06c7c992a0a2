"""Log replication, backtracking, batching, pipelining and the commit rule (§5.3, §5.4.2)."""

from __future__ import annotations

import pytest

from raftkv.core import (
    AppendRequest,
    AppendResponse,
    CoreConfig,
    Entry,
    EntryKind,
    MessageRejected,
    Role,
)

from .harness import Cluster, bootstrap


def appends(msgs: list, to: int | None = None) -> list[AppendRequest]:
    return [m for m in msgs if isinstance(m, AppendRequest) and (to is None or m.to == to)]


def test_proposals_replicate_and_apply_everywhere() -> None:
    cluster = bootstrap([0, 1, 2])
    for i in range(20):
        cluster.nodes[0].propose(b"v%d" % i)
    cluster.run(50)
    for node_id in cluster.ids:
        assert cluster.commands(node_id) == [b"v%d" % i for i in range(20)]


def test_proposals_between_readys_are_batched_into_one_append() -> None:
    cluster = bootstrap([0, 1, 2])
    for i in range(10):
        cluster.nodes[0].propose(b"v%d" % i)
    rd = cluster.handle_ready(0)
    assert [len(m.entries) for m in appends(rd.messages)] == [10, 10]


def test_batches_respect_max_append_entries_and_bytes() -> None:
    config = CoreConfig(
        heartbeat_interval=10,
        election_timeout_min=50,
        election_timeout_max=100,
        max_append_entries=4,
        max_append_bytes=10,
        max_inflight=8,
    )
    cluster = bootstrap([0, 1], config)
    for _ in range(3):
        cluster.nodes[0].propose(b"12345678")  # two of these exceed 10 bytes
    cluster.queue.clear()
    rd = cluster.handle_ready(0)
    assert [len(m.entries) for m in appends(rd.messages, to=1)] == [1, 1, 1]


def test_pipelining_is_bounded_by_max_inflight() -> None:
    config = CoreConfig(
        heartbeat_interval=10,
        election_timeout_min=50,
        election_timeout_max=100,
        max_append_entries=1,
        max_inflight=3,
    )
    cluster = bootstrap([0, 1], config)
    for i in range(6):
        cluster.nodes[0].propose(b"%d" % i)
    rd = cluster.handle_ready(0)
    assert len(appends(rd.messages, to=1)) == 3
    assert cluster.nodes[0].status().progress[1].state == "replicate"


def test_follower_acks_only_after_persisting() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].propose(b"x")
    cluster.handle_ready(0)
    cluster.deliver(keep=lambda m: m.to == 1)
    rd = cluster.readys[1][-1]
    acks = [m for m in rd.persisted_messages if isinstance(m, AppendResponse)]
    assert acks and not [m for m in rd.messages if isinstance(m, AppendResponse)]
    assert rd.entries and acks[0].match_index == rd.entries[-1].index


def test_follower_rejects_with_start_of_conflicting_term() -> None:
    """A follower holding a divergent suffix of an old term names where that term starts."""
    cluster = bootstrap([0, 1, 2])
    cluster.isolate(0)
    for i in range(30):
        cluster.nodes[0].propose(b"stale%d" % i)
    cluster.process()
    old = cluster.nodes[0].status()
    req = AppendRequest(
        term=5,
        frm=1,
        to=0,
        prev_index=old.last_index,
        prev_term=4,
        entries=(),
        leader_commit=0,
        seq=1,
    )
    cluster.nodes[0].step(req)
    [resp] = cluster.nodes[0].ready().persisted_messages
    assert isinstance(resp, AppendResponse) and not resp.success
    assert (resp.hint_term, resp.hint_index) == (1, old.commit_index + 1)


@pytest.mark.parametrize(
    ("hint_index", "hint_term", "expected_next"),
    [(3, 0, 3), (5, 1, 7), (5, 9, 5)],
    ids=["log-too-short", "leader-has-term", "leader-lacks-term"],
)
def test_leader_backtracks_by_hint(hint_index: int, hint_term: int, expected_next: int) -> None:
    cluster = bootstrap([0, 1])  # leader log: 1..6, all of term 1
    leader = cluster.nodes[0]
    leader.propose(b"x")
    leader.step(
        AppendResponse(
            term=1,
            frm=1,
            to=0,
            success=False,
            match_index=0,
            seq=10**6,
            hint_index=hint_index,
            hint_term=hint_term,
        )
    )
    progress = leader.status().progress[1]
    assert progress.state == "probe"
    assert progress.next_index == max(expected_next, progress.match_index + 1)


def test_divergent_follower_is_repaired() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.isolate(0)
    for i in range(30):
        cluster.nodes[0].propose(b"stale%d" % i)
    cluster.process()
    cluster.run(400)
    new = cluster.leader()
    for i in range(5):
        cluster.nodes[new].propose(b"fresh%d" % i)
    cluster.run(50)
    cluster.heal()
    cluster.run(200)
    assert cluster.commands(0) == [b"fresh%d" % i for i in range(5)]
    assert cluster.nodes[0].status().last_index == cluster.nodes[new].status().last_index


@pytest.mark.parametrize("duplicate", [False, True], ids=["reordered", "duplicated"])
def test_follower_handles_reordered_and_duplicated_appends(duplicate: bool) -> None:
    cluster = bootstrap([0, 1])
    for i in range(3):
        cluster.nodes[0].propose(b"a%d" % i)
        cluster.handle_ready(0)
    batch = [m for m in cluster.queue if isinstance(m, AppendRequest) and m.to == 1]
    cluster.queue.clear()
    order = batch + batch if duplicate else list(reversed(batch))
    for msg in order:
        cluster.nodes[1].step(msg)
        cluster.process()
    cluster.stabilize()
    cluster.run(30)
    assert cluster.commands(1) == [b"a0", b"a1", b"a2"]


def test_append_conflicting_with_a_committed_entry_is_refused() -> None:
    """No correct leader holds another term at a committed index: the append is refused
    before anything changes (the follower's own truncation check stays an invariant)."""
    cluster = bootstrap([0, 1])
    status = cluster.nodes[1].status()
    bad = AppendRequest(
        term=2,
        frm=0,
        to=1,
        prev_index=status.commit_index - 1,
        prev_term=1,
        entries=(Entry(2, status.commit_index, EntryKind.BLANK),),
        leader_commit=0,
        seq=1,
    )
    with pytest.raises(MessageRejected) as refused:
        cluster.nodes[1].step(bad)
    assert refused.value.reason == "conflicts_with_commit"
    assert cluster.nodes[1].status() == status
    assert not cluster.nodes[1].has_ready()


def test_append_response_from_unknown_node_is_ignored() -> None:
    cluster = bootstrap([0, 1])
    leader = cluster.nodes[0]
    leader.step(AppendResponse(term=1, frm=7, to=0, success=True, match_index=1, seq=1))
    assert 7 not in leader.status().progress


def test_stale_responses_do_not_move_match_back() -> None:
    cluster = bootstrap([0, 1])
    leader = cluster.nodes[0]
    match = leader.status().progress[1].match_index
    leader.step(AppendResponse(term=1, frm=1, to=0, success=True, match_index=1, seq=1))
    leader.step(
        AppendResponse(term=1, frm=1, to=0, success=False, match_index=0, seq=1, hint_index=1)
    )
    progress = leader.status().progress[1]
    assert progress.match_index == match and progress.next_index >= match + 1


def test_lost_appends_are_resent_after_a_stall() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].propose(b"lost")
    cluster.handle_ready(0)
    cluster.queue.clear()  # the appends vanish
    cluster.run(100)
    assert all(cluster.commands(i) == [b"lost"] for i in cluster.ids)


def test_new_leader_has_all_committed_entries() -> None:
    cluster = bootstrap([0, 1, 2], seed=9)
    for i in range(5):
        cluster.nodes[0].propose(b"c%d" % i)
    cluster.run(50)
    cluster.crash(0)
    cluster.run(400)
    new = cluster.leader()
    cluster.nodes[new].propose(b"after")
    cluster.run(50)
    assert cluster.commands(new) == [b"c%d" % i for i in range(5)] + [b"after"]
    assert cluster.nodes[new].role is Role.LEADER


def test_restarted_node_catches_up() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.crash(2)
    for i in range(10):
        cluster.nodes[0].propose(b"x%d" % i)
    cluster.run(50)
    cluster.restart(2)
    cluster.run(200)
    assert cluster.commands(2)[-10:] == [b"x%d" % i for i in range(10)]


def test_unknown_message_target_ignored() -> None:
    cluster = Cluster([0])
    cluster.nodes[0].step(AppendResponse(term=1, frm=1, to=5, success=True, match_index=1, seq=1))
    assert not cluster.nodes[0].has_ready()
