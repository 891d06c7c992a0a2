"""`POST /admin/transfer-leader` on real processes: to a named voter, to the most
up-to-date one, through a follower, and the refusals that name what is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import Cluster, running_cluster

from raftkv.client import NodeClient

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, 3) as cluster:
        yield cluster


def test_transfer_to_a_named_voter(cluster: Cluster) -> None:
    leader = cluster.leader()
    target = cluster.followers(leader)[0]
    status, answer = cluster.admin(leader, "/admin/transfer-leader", {"to": target.node_id})
    assert (status, answer) == (200, {"Ok": {"leader_id": target.node_id}})
    assert cluster.leader(exclude=leader.node_id).node_id == target.node_id


def test_transfer_without_target_picks_a_voter_and_a_follower_forwards(cluster: Cluster) -> None:
    leader = cluster.leader()
    follower = cluster.followers(leader)[0]
    status, answer = cluster.admin(follower, "/admin/transfer-leader", {"to": None})
    assert status == 200, answer
    new_leader = answer["Ok"]["leader_id"]
    assert new_leader != leader.node_id
    assert cluster.leader(exclude=leader.node_id).node_id == new_leader


def test_transfer_to_the_leader_itself_changes_nothing(cluster: Cluster) -> None:
    leader = cluster.leader()
    status, answer = cluster.admin(leader, "/admin/transfer-leader", {"to": leader.node_id})
    assert (status, answer) == (200, {"Ok": {"leader_id": leader.node_id}})
    assert leader.state()["role"] == "Leader"


@pytest.mark.parametrize(
    ("body", "field"),
    [({"to": 7}, "to"), ({"to": "one"}, "to"), ({"to": -1}, "to"), ({"target": 1}, "target")],
    ids=["not-a-voter", "not-an-int", "negative", "unknown-field"],
)
def test_bad_bodies_are_refused_naming_the_field(
    cluster: Cluster, body: dict[str, object], field: str
) -> None:
    status, answer = cluster.admin(cluster.leader(), "/admin/transfer-leader", body)
    assert status == 400, answer
    assert field in str(answer)


async def test_node_client_transfer_leader(cluster: Cluster) -> None:
    leader = cluster.leader()
    target = cluster.followers(leader)[-1]
    async with NodeClient(leader.addr, timeout=10.0, auth_token=cluster.token) as client:
        assert await client.transfer_leader(target.node_id) == target.node_id
