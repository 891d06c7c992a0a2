"""Membership by joint consensus, OpenRaft semantics (thesis §4.3, DESIGN "Membership")."""

from __future__ import annotations

import pytest

from raftkv.core import (
    AppendRequest,
    CoreConfig,
    Entry,
    EntryKind,
    InvalidMembership,
    LearnerLagging,
    LearnerNotFound,
    MembershipChangeInProgress,
    NodeInfo,
    NotLeader,
    Role,
)
from raftkv.core.membership import decode_membership

from .harness import FAST, Cluster, bootstrap, info


def voters(cluster: Cluster, node_id: int) -> tuple[frozenset[int], ...]:
    return cluster.nodes[node_id].status().membership.configs


def test_bootstrap_flow_reaches_uniform_three_voters() -> None:
    cluster = bootstrap([0, 1, 2])
    for node_id in cluster.ids:
        status = cluster.nodes[node_id].status()
        assert status.membership.configs == (frozenset({0, 1, 2}),)
        assert status.committed_membership == status.membership
        assert status.membership.nodes[2] == info(2)
        assert status.membership.cluster_id == "cluster-1"
    kinds = [e.kind for e in cluster.applied[1]]
    assert kinds.count(EntryKind.MEMBERSHIP) == 5  # init, 2 learners, joint, final


def test_change_appends_joint_then_final_by_itself() -> None:
    cluster = bootstrap([0, 1, 2], voters=[0, 1])
    cluster.nodes[0].add_learner(2, info(2))
    cluster.stabilize()
    index = cluster.nodes[0].change_membership({0, 1, 2}, retain=False)
    joint = decode_membership(cluster.handle_ready(0).entries[0].data)
    assert joint.configs == (frozenset({0, 1}), frozenset({0, 1, 2}))
    assert cluster.nodes[0].status().membership_index == index
    cluster.run(50)
    status = cluster.nodes[0].status()
    assert status.membership.configs == (frozenset({0, 1, 2}),)
    assert status.membership_index == index + 1 and status.commit_index >= index + 1


def test_configuration_takes_effect_when_appended() -> None:
    cluster = bootstrap([0, 1, 2], voters=[0, 1])
    cluster.nodes[0].add_learner(2, info(2))
    cluster.stabilize()
    cluster.nodes[0].change_membership({0, 1, 2}, retain=False)
    cluster.handle_ready(0)
    cluster.deliver(keep=lambda m: m.to == 1)  # follower 1 appends the joint entry
    status = cluster.nodes[1].status()
    assert status.membership.joint
    assert not status.committed_membership.joint


def test_truncation_rolls_back_configuration() -> None:
    cluster = bootstrap([0, 1, 2, 3], voters=[0, 1, 2])
    cluster.nodes[0].add_learner(3, info(3))
    [req] = [m for m in cluster.handle_ready(0).messages if m.to == 1]
    assert isinstance(req, AppendRequest)
    follower = cluster.nodes[1]
    follower.step(req)  # the learner entry, uncommitted
    assert 3 in follower.status().membership.nodes
    # A leader of term 2 that never had it overwrites that index.
    blank = Entry(2, req.prev_index + 1, EntryKind.BLANK)
    follower.step(AppendRequest(2, 2, 1, req.prev_index, req.prev_term, (blank,), 0, 1))
    status = follower.status()
    assert 3 not in status.membership.nodes
    assert status.membership_index < req.prev_index + 1


def test_readd_same_address_is_noop_and_new_address_updates() -> None:
    cluster = bootstrap([0, 1])
    leader = cluster.nodes[0]
    index = leader.status().membership_index
    assert leader.add_learner(1, info(1)) == index
    moved = NodeInfo(addr="127.0.0.1:9999", storage_id="s1")
    new_index = leader.add_learner(1, moved)
    assert new_index > index
    cluster.stabilize()
    assert cluster.nodes[1].status().membership.nodes[1] == moved
    assert cluster.nodes[1].status().membership.voters == {0, 1}


def test_change_to_committed_config_is_noop() -> None:
    cluster = bootstrap([0, 1, 2])
    status = cluster.nodes[0].status()
    assert cluster.nodes[0].change_membership({0, 1, 2}, retain=False) == status.membership_index
    assert not cluster.nodes[0].has_ready()


@pytest.mark.parametrize(
    ("voters_", "error"),
    [
        (set(), InvalidMembership),
        ({0, 7}, LearnerNotFound),
    ],
    ids=["empty", "unknown-node"],
)
def test_change_membership_errors(voters_: set[int], error: type[Exception]) -> None:
    cluster = bootstrap([0, 1])
    with pytest.raises(error):
        cluster.nodes[0].change_membership(voters_, retain=False)


def test_one_change_in_flight() -> None:
    cluster = bootstrap([0, 1])
    cluster.nodes[0].add_learner(2, info(2))
    with pytest.raises(MembershipChangeInProgress):
        cluster.nodes[0].add_learner(3, info(3))
    with pytest.raises(MembershipChangeInProgress):
        cluster.nodes[0].change_membership({0, 1, 2}, retain=False)


def test_membership_change_on_follower_is_not_leader() -> None:
    cluster = bootstrap([0, 1])
    with pytest.raises(NotLeader):
        cluster.nodes[1].add_learner(2, info(2))


def test_lagging_learner_cannot_be_promoted() -> None:
    config = CoreConfig(
        heartbeat_interval=10, election_timeout_min=50, election_timeout_max=100, max_promote_lag=5
    )
    cluster = bootstrap([0, 1, 2], config, voters=[0, 1])
    cluster.nodes[0].add_learner(2, info(2))
    cluster.stabilize()
    cluster.crash(2)
    for i in range(10):
        cluster.nodes[0].propose(b"%d" % i)
    cluster.run(30)
    with pytest.raises(LearnerLagging) as err:
        cluster.nodes[0].change_membership({0, 1, 2}, retain=False)
    assert err.value.node_id == 2 and err.value.lag > 5
    cluster.restart(2)
    cluster.run(100)
    cluster.nodes[0].change_membership({0, 1, 2}, retain=False)


@pytest.mark.parametrize("retain", [False, True], ids=["drop", "retain"])
def test_removed_voter_dropped_or_kept_as_learner(retain: bool) -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].change_membership({0, 1}, retain=retain)
    cluster.run(50)
    status = cluster.nodes[0].status()
    assert status.membership.configs == (frozenset({0, 1}),)
    assert (2 in status.membership.nodes) is retain
    if retain:
        assert cluster.nodes[2].role is Role.LEARNER
        assert 2 in status.progress


@pytest.mark.parametrize("retain", [False, True], ids=["drop", "retain"])
def test_removed_leader_steps_down_after_final_commits(retain: bool) -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].change_membership({1, 2}, retain=retain)
    cluster.run(300)
    new = cluster.leader()
    assert new in (1, 2)
    assert cluster.nodes[0].role is (Role.LEARNER if retain else Role.FOLLOWER)
    cluster.nodes[new].propose(b"after")
    cluster.run(50)
    assert cluster.commands(new) == [b"after"]
    cluster.run(1000)
    assert cluster.leader() == new and cluster.nodes[0].term <= cluster.nodes[new].term


def test_leader_outside_new_config_does_not_count_itself() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].change_membership({1, 2}, retain=True)
    cluster.crash(2)
    cluster.run(100)
    status = cluster.nodes[0].status()
    # C_old,new commits with {0,1}; C_new = {1,2} needs 2 too, so it cannot commit yet.
    assert not status.committed_membership.joint or status.membership.joint
    assert status.committed_membership.configs != (frozenset({1, 2}),)


def test_new_leader_finishes_a_joint_change() -> None:
    cluster = bootstrap([0, 1, 2, 3], voters=[0, 1, 2])
    cluster.nodes[0].add_learner(3, info(3))
    cluster.run(30)
    cluster.nodes[0].change_membership({0, 1, 2, 3}, retain=False)
    cluster.handle_ready(0)
    # Followers get the joint entry, the leader never hears back.
    cluster.deliver(keep=lambda m: isinstance(m, AppendRequest))
    cluster.crash(0)
    cluster.run(600)
    new = cluster.leader()
    status = cluster.nodes[new].status()
    assert status.membership.configs == (frozenset({0, 1, 2, 3}),)
    assert status.committed_membership == status.membership


def test_a_removed_node_disturbs_nobody() -> None:
    """A removed node that never learns that its removal committed may pre-campaign (it might
    be needed, see the next test), but pre-votes move no term and the voters, in their
    leader's lease, refuse it: the leader and every term stay as they are."""
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].change_membership({0, 1}, retain=False)
    cluster.run(50)
    removed = cluster.nodes[2]
    terms = [node.term for node in cluster.nodes.values()]
    cluster.isolate(2)
    cluster.run(1000)
    cluster.heal()
    cluster.run(1000)
    assert [node.term for node in cluster.nodes.values()] == terms
    assert cluster.leaders() == [0]
    assert not removed.status().membership.is_member(2)


def test_a_node_that_knows_its_removal_committed_never_campaigns() -> None:
    cluster = bootstrap([0, 1, 2])
    cluster.nodes[0].change_membership({0, 1}, retain=False)
    cluster.run(50)
    removed = cluster.nodes[2]
    status = removed.status()
    leader = cluster.nodes[0].status()
    # The leader's heartbeat that tells node 2 the commit (sent before its tracker went).
    removed.step(
        AppendRequest(
            leader.term, 0, 2, status.last_index, status.last_term, (), leader.commit_index, 10**6
        )
    )
    cluster.process()
    assert removed.status().commit_index == status.last_index
    term = removed.term
    cluster.isolate(2)
    cluster.run(1000)
    assert removed.term == term and removed.role is Role.FOLLOWER


def test_elections_use_the_joint_rule() -> None:
    """While joint, a candidate needs a majority of C_old and of C_new."""
    cluster = bootstrap([0, 1, 2, 3, 4], voters=[0, 1, 2])
    for node_id in (3, 4):
        cluster.nodes[0].add_learner(node_id, info(node_id))
        cluster.run(30)
    cluster.nodes[0].change_membership({0, 3, 4}, retain=False)
    cluster.handle_ready(0)
    cluster.deliver(keep=lambda m: isinstance(m, AppendRequest) and m.to in (1, 2))
    # 1 and 2 hold the joint config; 3 and 4 are cut off: no majority of C_new is reachable.
    cluster.crash(0)
    cluster.isolate(3)
    cluster.isolate(4)
    cluster.run(800)
    assert cluster.leaders() == []
    cluster.heal()
    cluster.run(800)
    assert cluster.leader() in (1, 2, 3, 4)


def test_fast_config_has_no_pre_vote_surprises() -> None:
    assert FAST.pre_vote and FAST.check_quorum


def test_learner_without_current_config_cannot_be_promoted() -> None:
    """A learner that never received its own membership is pristine and would never vote."""
    cluster = bootstrap([0, 1, 2], voters=[0, 1])
    cluster.crash(2)
    cluster.nodes[0].add_learner(2, info(2))
    cluster.run(30)
    with pytest.raises(LearnerLagging) as err:
        cluster.nodes[0].change_membership({0, 1, 2}, retain=False)
    assert err.value.lag < cluster.config.max_promote_lag


def test_a_leader_that_appended_a_configuration_without_itself_can_still_lead() -> None:
    """Seed 100589's stuck cluster: leader 0 of the joint {0,2} & {1,2} appends C_new {1,2}
    and loses leadership before anyone else has it. Nodes 1 and 2 (still joint) need node 0's
    vote for {0,2}, which it refuses, its log being longer; so node 0, a voter of the
    committed configuration while C_new is not committed, must be able to campaign."""
    cluster = bootstrap([0, 1, 2], voters=[0, 2])
    leader = cluster.nodes[0]
    leader.add_learner(1, info(1))
    cluster.stabilize()
    joint_index = leader.change_membership({1, 2}, retain=False)

    def before_c_new(msg: object) -> bool:
        entries = getattr(msg, "entries", ())
        return not any(entry.index > joint_index for entry in entries)

    for _ in range(50):
        cluster.deliver(keep=before_c_new)
        if not leader.status().membership.joint:
            break
    assert voters(cluster, 0) == (frozenset({1, 2}),), "leader 0 appended C_new"
    assert all(cluster.nodes[n].status().membership.joint for n in (1, 2))
    cluster.isolate(0)
    cluster.run(3000)  # 0 steps down (check-quorum); 1 and 2 cannot win {0,2} without it
    assert cluster.leaders() == []
    cluster.heal()
    cluster.run(5000)
    assert len(cluster.leaders()) == 1
    assert all(voters(cluster, n) == (frozenset({1, 2}),) for n in (1, 2))
