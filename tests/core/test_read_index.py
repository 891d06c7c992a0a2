"""ReadIndex (thesis §6.4): a fresh quorum round after registration, batched reads,
follower reads through the leader, and failures that are definite."""

from __future__ import annotations

from raftkv.core import (
    AppendRequest,
    AppendResponse,
    ReadIndexRequest,
    ReadState,
)

from .harness import Cluster, bootstrap, info


def test_single_voter_confirms_at_once() -> None:
    cluster = bootstrap([0])
    cluster.nodes[0].read_index(5)
    cluster.process()
    commit = cluster.nodes[0].status().commit_index
    assert cluster.reads[0] == [ReadState(5, commit, True, 0)]


def test_leader_read_needs_a_round_sent_after_registration() -> None:
    cluster = bootstrap([0, 1, 2])
    leader = cluster.nodes[0]
    # An ack of a request sent BEFORE the read must not confirm it.
    leader.propose(b"x")
    cluster.handle_ready(0)
    early = list(cluster.queue)
    cluster.queue.clear()
    leader.read_index(1)
    rd = cluster.handle_ready(0)
    round_ = [m for m in rd.messages if isinstance(m, AppendRequest)]
    assert sorted(m.to for m in round_) == [1, 2]
    for msg in early:
        cluster.nodes[msg.to].step(msg)
    cluster.process()
    old_acks = [m for m in cluster.queue if isinstance(m, AppendResponse)]
    cluster.queue = [m for m in cluster.queue if m not in old_acks]
    for ack in old_acks:
        leader.step(ack)
    cluster.process()
    assert cluster.reads[0] == []
    cluster.stabilize()
    assert [(r.ctx, r.ok) for r in cluster.reads[0]] == [(1, True)]


def test_one_round_serves_every_read_registered_before_it() -> None:
    cluster = bootstrap([0, 1, 2])
    for ctx in (1, 2, 3):
        cluster.nodes[0].read_index(ctx)
    rd = cluster.handle_ready(0)
    assert len([m for m in rd.messages if isinstance(m, AppendRequest)]) == 2
    cluster.stabilize()
    assert [(r.ctx, r.ok) for r in cluster.reads[0]] == [(1, True), (2, True), (3, True)]


def test_read_index_is_the_commit_index() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].propose(b"x")
    cluster.stabilize()
    commit = cluster.nodes[0].status().commit_index
    cluster.nodes[0].read_index(9)
    cluster.stabilize()
    assert cluster.reads[0] == [ReadState(9, commit, True, 0)]


def test_new_leader_waits_for_its_blank_entry() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.crash(0)
    while not cluster.leaders():
        cluster.tick(5)
        cluster.deliver()
    new = cluster.leader()
    blank_index = cluster.nodes[new].status().last_index
    assert cluster.nodes[new].status().commit_index < blank_index
    cluster.nodes[new].read_index(4)
    cluster.process()
    assert cluster.reads[new] == []
    cluster.stabilize()
    assert cluster.reads[new] == [ReadState(4, blank_index, True, new)]


def test_read_before_blank_commits_is_delayed_not_answered() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.isolate(0)
    cluster.run(500)
    new = cluster.leader()
    cluster.heal()
    cluster.isolate(new)
    # `new` cannot commit anything now; a read must wait, then fail when it steps down.
    cluster.nodes[new].read_index(3)
    cluster.process()
    assert cluster.reads[new] == []
    cluster.run(500)
    assert [(r.ctx, r.ok) for r in cluster.reads[new]] == [(3, False)]


def test_follower_read_goes_through_the_leader() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[1].read_index(8)
    rd = cluster.handle_ready(1)
    assert rd.messages == [ReadIndexRequest(1, 1, 0, 8)]
    cluster.stabilize()
    commit = cluster.nodes[0].status().commit_index
    assert cluster.reads[1] == [ReadState(8, commit, True, 0)]


def test_read_without_leader_fails_at_once() -> None:
    cluster = Cluster([0, 1])
    cluster.nodes[1].read_index(2)
    cluster.process()
    assert cluster.reads[1] == [ReadState(2, 0, False, None)]


def test_leader_stepping_down_fails_pending_reads() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.isolate(0)
    cluster.nodes[0].read_index(6)
    cluster.nodes[1].read_index(7)  # asked of 0, which is cut off
    cluster.run(300)
    assert [(r.ctx, r.ok) for r in cluster.reads[0]] == [(6, False)]
    assert [(r.ctx, r.ok) for r in cluster.reads[1]] == [(7, False)]


def test_learner_can_read_through_leader() -> None:
    cluster = bootstrap([0, 1, 2], voters=[0, 1])
    cluster.nodes[0].add_learner(2, info(2))
    cluster.run(30)
    cluster.nodes[2].read_index(1)
    cluster.stabilize()
    assert [(r.ctx, r.ok) for r in cluster.reads[2]] == [(1, True)]
