"""A cluster formed through the admin API alone, with no `peer_addrs` in any config.

The reference workload adds learners by address only; a pristine learner learns where the
leader is from the envelope of its first append, or it could never answer it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import Cluster, make_cluster, wait_for, write


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = make_cluster(tmp_path, 3)
    for node in c.nodes:
        node.write_config({})
    c.start_all()
    yield c
    c.stop_all()


def test_cluster_forms_and_replicates_without_peer_addrs(cluster: Cluster) -> None:
    cluster.form()
    leader = cluster.leader()
    follower = cluster.followers(leader)[0]
    assert write(follower.addr, "k", "v", serial=1) == (200, {"Ok": {"previous": None}})
    for node in cluster.nodes:
        wait_for(lambda n=node: n.kv().get("k") == "v", 10.0, f"key k on node {node.node_id}")
        assert sorted(node.state()["voters"]) == [0, 1, 2]
