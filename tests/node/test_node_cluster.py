"""A 3-node cluster of real processes, formed through the admin API like the reference
workload: writes through followers, linearizable follower reads, sessions, auth, crash and
graceful restarts."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import (
    FORWARDED,
    TOKEN,
    Cluster,
    call,
    make_cluster,
    running_cluster,
    wait_for,
    write,
)

from raftkv.client import ApiError, ClusterClient, NodeClient

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir: Path = tmp_path_factory.mktemp("cluster")
    with running_cluster(workdir, 3, token=TOKEN) as cluster:
        yield cluster


def converged(cluster: Cluster, expected: dict[str, str]) -> bool:
    return all(
        {k: v for k, v in node.kv().items() if k in expected} == expected for node in cluster.nodes
    )


def test_formed_cluster_reports_the_new_membership_everywhere(cluster: Cluster) -> None:
    def everyone_agrees() -> bool:
        states = [node.state() for node in cluster.nodes]
        return (
            all(
                s.get("voters") == [0, 1, 2]
                and s["membership"] == {**s["membership"], "joint": False, "committed": True}
                and s["cluster_id"]
                for s in states
            )
            and len({s["cluster_id"] for s in states}) == 1
        )

    wait_for(everyone_agrees, 10, "voters {0,1,2} on every node")
    leader = cluster.leader()
    assert leader.node_id == 0
    state = leader.state()
    assert state["role"] == "Leader" and state["current_leader"] == 0 and "kv" not in state


def test_write_through_a_follower_is_forwarded_and_replicated(cluster: Cluster) -> None:
    follower = cluster.followers(cluster.leader())[0]
    assert write(follower.addr, "fw", "one", 1) == (200, {"Ok": {"previous": None}})
    assert write(follower.addr, "fw", "two", 2) == (200, {"Ok": {"previous": "one"}})
    wait_for(lambda: converged(cluster, {"fw": "two"}), 5, "every node to hold fw=two")


def test_linearizable_read_on_a_follower_sees_the_latest_write(cluster: Cluster) -> None:
    leader = cluster.leader()
    for follower in cluster.followers(leader):
        for serial in range(1, 6):
            value = f"v{follower.node_id}-{serial}"
            assert write(leader.addr, "lin", value, serial, f"c{follower.node_id}")[0] == 200
            body = {"key": "lin", "consistency": "linearizable"}
            assert call(follower.addr, "POST", "/kv/read", body) == (200, {"Ok": {"value": value}})


def test_session_returns_the_first_result_and_refuses_conflicts(cluster: Cluster) -> None:
    addr = cluster.leader().addr
    first = write(addr, "sess", "a", 7, "sess-client")
    assert first == (200, {"Ok": {"previous": None}})
    assert write(addr, "sess", "a", 7, "sess-client") == first
    status, body = write(addr, "sess", "b", 7, "sess-client")
    assert (status, body["Err"]["code"], body["Err"]["indeterminate"]) == (
        409,
        "serial_conflict",
        False,
    )
    status, body = write(addr, "sess", "c", 3, "sess-client")
    assert (status, body["Err"]["code"]) == (409, "stale_serial")


def test_auth_token_guards_raft_and_admin_but_not_kv(cluster: Cluster) -> None:
    node = cluster.nodes[1]
    for method, path in [
        ("GET", "/admin/metrics"),
        ("POST", "/raft/append"),
        ("GET", "/raft/identity"),
        ("GET", "/raft/stream"),  # before any upgrade: a stream never opens without it
    ]:
        status, body = call(node.addr, method, path, raw=b"")
        assert (status, body["Err"]["code"]) == (401, "unauthorized"), path
        status, body = call(node.addr, method, path, raw=b"", token="wrong")
        assert status == 401, path
    status, body = call(node.addr, "GET", "/admin/metrics", token=TOKEN)
    assert status == 200 and body["Ok"]["node_id"] == 1
    assert body["Ok"]["peers_up"].get("0") is True  # it answers its leader
    # The token reaches the stream upgrade too: no node fell back to POSTs or was refused.
    for member in cluster.nodes:
        text = member.log_path.read_text(errors="replace")
        assert "no /raft/stream" not in text and "peer stream refused" not in text
    assert call(node.addr, "POST", "/kv/read", {"key": "fw"})[0] == 200


def test_a_forwarded_request_to_a_follower_is_not_forwarded_again(cluster: Cluster) -> None:
    leader = cluster.leader()
    follower = cluster.followers(leader)[0]
    body = {"key": "hop", "value": "v", "serial": 1, "client_id": "hop"}
    status, got = call(follower.addr, "POST", "/kv/write", body, headers={FORWARDED: "9"})
    assert (status, got["Err"]["code"], got["Err"]["indeterminate"]) == (421, "not_leader", False)
    assert (got["Err"]["leader_id"], got["Err"]["leader_addr"]) == (leader.node_id, leader.addr)


def test_admin_calls_on_a_follower_reach_the_leader(cluster: Cluster) -> None:
    follower = cluster.followers(cluster.leader())[1]
    # The committed configuration already is {0,1,2}: a no-op, answered by the leader.
    assert cluster.admin(follower, "/admin/change-membership", {"voters": [2, 1, 0]}) == (
        200,
        {"Ok": None},
    )
    # Re-adding a voter as a learner only refreshes its address.
    node = cluster.nodes[2]
    body = {"node_id": 2, "addr": node.addr}
    assert cluster.admin(follower, "/admin/add-learner", body) == (200, {"Ok": None})
    assert follower.state()["voters"] == [0, 1, 2]


async def test_the_client_library_speaks_the_contract(cluster: Cluster) -> None:
    addrs = [node.addr for node in cluster.nodes]
    async with ClusterClient(addrs, auth_token=TOKEN) as client:
        assert await client.write("client-key", "one", deadline=5) is None
        assert await client.write("client-key", "two", deadline=5) == "one"
        assert await client.read("client-key", deadline=5) == "two"
    async with NodeClient(cluster.nodes[2].addr, auth_token=TOKEN) as node:
        async with asyncio.timeout(5):
            while (state := await node.state()).kv.get("client-key") != "two":  # type: ignore[union-attr]
                await asyncio.sleep(0.05)
        assert state.voters == [0, 1, 2] and state.membership is not None
        assert (await node.metrics())["node_id"] == 2
        with pytest.raises(ApiError) as caught:
            await node.change_membership([0, 7])
        assert (caught.value.code, caught.value.indeterminate) == ("learner_not_found", False)


def test_sigkill_of_the_leader_loses_no_acknowledged_write(cluster: Cluster) -> None:
    old = cluster.leader()
    old_term = old.state()["current_term"]
    acknowledged = {}
    for i in range(20):
        status, _ = write(old.addr, f"crash-{i}", f"value-{i}", i + 1, "crash-client")
        assert status == 200
        acknowledged[f"crash-{i}"] = f"value-{i}"
    old.kill()
    new = cluster.leader(exclude=old.node_id)
    assert new.node_id != old.node_id and new.state()["current_term"] > old_term
    old.start()
    wait_for(lambda: converged(cluster, acknowledged), 10, "all acknowledged writes everywhere")


def test_sigterm_of_the_leader_hands_over_within_a_second(cluster: Cluster) -> None:
    old = cluster.leader()
    wait_for(lambda: all(n.state().get("voters") == [0, 1, 2] for n in cluster.nodes), 10, "voters")
    started = time.monotonic()
    old.signal(signal.SIGTERM)
    new = cluster.leader(timeout=3, exclude=old.node_id)
    elapsed = time.monotonic() - started
    assert old.wait_exit(2.5) == 0
    assert new.node_id != old.node_id
    assert elapsed < 1.0, f"new leader after {elapsed:.2f}s"
    old.start()
    wait_for(lambda: old.state().get("current_leader") == new.node_id, 5, "the leader heard")
    assert write(old.addr, "after-term", "x", 1, "after-term-client")[0] == 200


def test_restart_of_every_node_keeps_the_data_without_admin_calls(cluster: Cluster) -> None:
    leader = cluster.leader()
    for i in range(5):
        assert write(leader.addr, f"keep-{i}", f"v{i}", i + 1, "keep-client")[0] == 200
    expected = {f"keep-{i}": f"v{i}" for i in range(5)}
    for node in cluster.nodes:
        node.kill()
    cluster.start_all()
    leader = cluster.leader(timeout=15)
    wait_for(lambda: converged(cluster, expected), 10, "the data back on every node")
    assert write(leader.addr, "keep-after", "yes", 1, "keep-after-client")[0] == 200


def test_a_wiped_node_is_refused_by_its_peers(cluster: Cluster) -> None:
    wiped = cluster.nodes[2]
    wiped.kill()
    data_dir = wiped.workdir / "raftkv-data-2"
    shutil.rmtree(data_dir)
    wiped.start()
    time.sleep(1.0)  # several heartbeats and election timeouts
    # The leader's appends name the old storage id: refused, so nothing reached the new one.
    state = wiped.state()
    assert (state["current_term"], state["last_log_index"], state["cluster_id"]) == (0, 0, None)
    leader = cluster.leader(exclude=2)
    assert write(leader.addr, "after-wipe", "v", 1, "wipe-client")[0] == 200


def test_a_node_stops_promptly_while_a_peer_is_paused(tmp_path: Path) -> None:
    """The leader streams to the paused follower and the follower to it: closing either
    waits for an answer that cannot come, so each wait is bounded and the node still exits
    within seconds (about 1 s here; the bound only catches a hang)."""
    cluster = make_cluster(tmp_path, 3)
    try:
        cluster.start_all()
        cluster.form()
        stopping = cluster.leader()
        paused = cluster.followers(stopping)[0]
        assert write(stopping.addr, "k", "v", 1)[0] == 200  # every stream is open and in use
        paused.signal(signal.SIGSTOP)
        started = time.monotonic()
        stopping.signal(signal.SIGTERM)
        assert stopping.wait_exit(8) == 0
        assert time.monotonic() - started < 5
    finally:
        for node in cluster.nodes:
            if node.proc is not None and node.proc.poll() is None:
                node.signal(signal.SIGCONT)
        cluster.stop_all()
