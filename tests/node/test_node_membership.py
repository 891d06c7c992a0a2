"""Membership changes through the admin API on real processes: demoting a voter to learner
(retain), and removing the leader itself (it hands over once C_new commits)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import Cluster, call, running_cluster, wait_for, write

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, 3) as cluster:
        yield cluster


def test_retain_keeps_a_removed_voter_as_learner_and_the_leader_can_leave(
    cluster: Cluster,
) -> None:
    leader = cluster.leader()
    assert leader.node_id == 0
    assert cluster.admin(
        leader, "/admin/change-membership", {"voters": [0, 1], "retain": True}
    ) == (
        200,
        {"Ok": None},
    )
    state = leader.state()
    assert (state["voters"], state["learners"]) == ([0, 1], [2])
    assert state["membership"]["committed"] is True

    # The leader removes itself: the call returns once C_new commits, then it hands over.
    body = {"voters": [1, 2]}
    assert cluster.admin(leader, "/admin/change-membership", body) == (200, {"Ok": None})
    new = cluster.leader(exclude=0)
    assert new.node_id in (1, 2)
    wait_for(lambda: new.state()["voters"] == [1, 2], 5, "voters {1,2} on the new leader")
    assert 0 not in new.state()["membership"]["nodes"]
    assert write(new.addr, "after-removal", "v", 1, "m")[0] == 200


def test_promoting_an_unknown_node_is_refused_and_changes_nothing(cluster: Cluster) -> None:
    leader = cluster.leader()
    status, got = call(leader.addr, "POST", "/admin/change-membership", {"voters": [0, 1, 2, 3]})
    assert (status, got["Err"]["code"], got["Err"]["indeterminate"]) == (
        409,
        "learner_not_found",
        False,
    )
    assert leader.state()["voters"] == [0, 1, 2]
