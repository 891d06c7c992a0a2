"""A leader's process dies: its followers see its stream end without a close handshake and
campaign at once (`campaign_on_leader_disconnect`). A paused leader closes nothing, so its
followers wait for their election timeout as before.

The election timeouts here are long (4-8 s) so that an early campaign cannot be mistaken for
a timed-out one: no follower can time out within 3.5 s of its last heartbeat.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import Cluster, make_cluster, write

pytestmark = pytest.mark.e2e

SLOW_TIMEOUTS = {
    "heartbeat_interval_ms": 100,
    "election_timeout_min_ms": 4000,
    "election_timeout_max_ms": 8000,
}
EARLY = "campaigning early"


@pytest.fixture
def slow_cluster(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Cluster]:
    settings = {**SLOW_TIMEOUTS, **getattr(request, "param", {})}
    cluster = make_cluster(tmp_path, 3, **settings)
    try:
        cluster.start_all()
        cluster.form()
        assert write(cluster.leader().addr, "k", "v", 1)[0] == 200  # every stream in use
        yield cluster
    finally:
        for node in cluster.nodes:
            node.signal(signal.SIGCONT)
        cluster.stop_all()


def logged(cluster: Cluster, text: str) -> list[int]:
    return [n.node_id for n in cluster.nodes if text in n.log_path.read_text(errors="replace")]


def test_killed_leader_is_replaced_before_any_election_timeout(slow_cluster: Cluster) -> None:
    old = slow_cluster.leader()
    killed_at = time.monotonic()
    old.kill()
    new = slow_cluster.leader(timeout=3.5, exclude=old.node_id)
    elapsed = time.monotonic() - killed_at
    assert new.node_id != old.node_id and elapsed < 3.5
    assert new.node_id in logged(slow_cluster, EARLY), new.tail_log()
    assert write(new.addr, "after", "x", 1, "after-client")[0] == 200


def test_paused_leader_is_replaced_by_the_timeout_only(slow_cluster: Cluster) -> None:
    old = slow_cluster.leader()
    paused_at = time.monotonic()
    old.signal(signal.SIGSTOP)
    new = slow_cluster.leader(timeout=15, exclude=old.node_id)
    assert time.monotonic() - paused_at > 3.5
    assert new.node_id != old.node_id
    assert logged(slow_cluster, EARLY) == []


@pytest.mark.parametrize("slow_cluster", [{"campaign_on_leader_disconnect": False}], indirect=True)
def test_with_the_option_off_a_killed_leader_waits_for_the_timeout(slow_cluster: Cluster) -> None:
    old = slow_cluster.leader()
    killed_at = time.monotonic()
    old.kill()
    new = slow_cluster.leader(timeout=15, exclude=old.node_id)
    assert time.monotonic() - killed_at > 3.5
    assert new.node_id != old.node_id
    assert logged(slow_cluster, EARLY) == []
