"""The client and the CLI against three real `raftkv-node` processes on loopback."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from client_real_cluster import RealCluster, states_agree

from raftkv.cli import main
from raftkv.client import ApiError, ClusterClient, NodeClient

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[RealCluster]:
    """Three healthy, pristine nodes (no cluster formed yet)."""
    cluster = RealCluster.start(tmp_path)
    try:
        await cluster.wait_healthy()
        yield cluster
    finally:
        cluster.stop_all()


async def test_client_on_a_formed_cluster(nodes: RealCluster) -> None:
    await nodes.form()
    leader_addr, *follower_addrs = nodes.addrs
    async with ClusterClient(nodes.addrs, rng=random.Random(11)) as cluster:
        assert (await cluster.leader()).addr == leader_addr
        assert await cluster.write("k", "v1") is None
        assert await cluster.write("k", "v2") == "v1"
    # A linearizable read through a follower only (ReadIndex from the leader).
    async with ClusterClient(follower_addrs[:1]) as via_follower:
        assert await via_follower.read("k", linearizable=True) == "v2"
        assert await via_follower.write("f", "x") is None  # forwarded by the follower
    state = await NodeClient(follower_addrs[0]).state()
    assert (state.role, state.current_leader, sorted(state.voters)) == ("Follower", 0, [0, 1, 2])
    # Two clients seeded alike share a client_id; the second moves to a fresh one.
    async with ClusterClient(nodes.addrs, rng=random.Random(11)) as twin:
        assert twin.client_id == cluster.client_id
        assert await twin.write("k", "v3") == "v2"
    kvs = await states_agree(nodes.addrs, timeout=10)
    assert kvs[0] == {"k": "v3", "f": "x"}


async def test_a_repeated_serial_is_applied_once(nodes: RealCluster) -> None:
    await nodes.form()
    async with NodeClient(nodes.addrs[1]) as node:
        assert await node.write("k", "a", serial=1, client_id="c1") is None
        assert await node.write("k", "b", serial=2, client_id="c1") == "a"
        # The retry of serial 2 gets the first answer, not "b".
        assert await node.write("k", "b", serial=2, client_id="c1") == "a"
        with pytest.raises(ApiError) as caught:
            await node.write("k", "z", serial=1, client_id="c1")
        assert (caught.value.status, caught.value.code) == (409, "stale_serial")
        assert await node.read("k", linearizable=True) == "b"


async def test_writes_continue_after_the_leader_is_killed(nodes: RealCluster) -> None:
    await nodes.form()
    async with ClusterClient(nodes.addrs, timeout=2.0, rng=random.Random(5)) as cluster:
        for i in range(8):
            await cluster.write(f"raft-key-{i}", f"value-{i}")
        old = await cluster.leader()
        nodes.nodes[nodes.addrs.index(old.addr)].kill()
        for i in range(8, 16):
            await cluster.write(f"raft-key-{i}", f"value-{i}", deadline=15.0)
        new = await cluster.leader(deadline=5.0)
        assert new.addr != old.addr
        assert await cluster.read("raft-key-0") == "value-0"
    survivors = [node.addr for node in nodes.nodes if node.running]
    kvs = await states_agree(survivors, timeout=10)
    assert kvs[0] == {f"raft-key-{i}": f"value-{i}" for i in range(16)}


async def test_scan_and_digests_on_a_formed_cluster(
    nodes: RealCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    await nodes.form()
    async with ClusterClient(nodes.addrs, rng=random.Random(3)) as cluster:
        for i in range(25):
            await cluster.write(f"scan-{i:02}", f"v{i}")
        await cluster.write("zzz", "last")
    await states_agree(nodes.addrs, timeout=10)
    digests = await digests_agree(nodes.addrs, timeout=10)
    assert len(digests) == 1 and len(next(iter(digests))) == 16
    async with NodeClient(nodes.addrs[2]) as follower:
        page = await follower.scan("scan-", limit=10)
        assert [key for key, _ in page.items] == [f"scan-{i:02}" for i in range(10)]
        assert page.next == "scan-09"
        pairs = [pair async for pair in follower.scan_all("scan-", page_size=7)]
        assert pairs == [(f"scan-{i:02}", f"v{i}") for i in range(25)]
        assert [pair async for pair in follower.scan_all("")][-1] == ("zzz", "last")
        empty = await follower.scan("nothing-")
        assert (empty.items, empty.next) == ([], None)
        state = await follower.state()
        assert (state.kv_keys, state.key_count, state.kv_omitted) == (26, 26, None)
    capsys.readouterr()
    assert await cli("--nodes", nodes.addrs[1], "scan", "scan-1", "--limit", "3") == 0
    assert capsys.readouterr().out == "scan-10=v10\nscan-11=v11\nscan-12=v12\n"
    assert await cli("--nodes", ",".join(nodes.addrs), "status") == 0
    out = capsys.readouterr().out
    assert out.count(next(iter(digests))) == 3 and " 26 " in out


async def test_a_state_past_state_kv_max_keys_comes_without_its_map(tmp_path: Path) -> None:
    single = RealCluster.start(tmp_path, size=1, state_kv_max_keys=3)
    try:
        await single.wait_healthy()
        await single.form()
        async with NodeClient(single.addrs[0]) as node:
            for i in range(5):
                await node.write(f"k{i}", f"v{i}", serial=1)
            state = await node.state()
            assert (state.kv, state.kv_keys, state.key_count) == (None, 5, 5)
            assert state.kv_omitted is not None and "state_kv_max_keys=3" in state.kv_omitted
            assert state.kv_digest is not None
            pairs = [pair async for pair in node.scan_all(page_size=2)]
            assert pairs == [(f"k{i}", f"v{i}") for i in range(5)]
            with pytest.raises(ApiError) as caught:
                await node.scan(limit=1001)
            assert (caught.value.status, caught.value.code) == (400, "bad_request")
    finally:
        single.stop_all()


async def digests_agree(addrs: list[str], timeout: float) -> set[str]:
    """Waits until every node reports one applied index; returns the digests they report."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        states = []
        for addr in addrs:
            async with NodeClient(addr) as client:
                states.append(await client.state(kv=False))
        if len({s.last_applied_index for s in states}) == 1:
            return {s.kv_digest for s in states if s.kv_digest is not None}
        assert loop.time() < end, f"applied indexes differ: {states}"
        await asyncio.sleep(0.1)


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, list(argv))


async def test_cli_forms_and_uses_a_cluster(
    nodes: RealCluster, capsys: pytest.CaptureFixture[str]
) -> None:
    all_nodes = ("--nodes", ",".join(nodes.addrs), "--timeout", "20")
    first = ("--nodes", nodes.addrs[0], "--timeout", "20")
    assert await cli(*first, "init") == 0
    for node in nodes.nodes[1:]:
        assert await cli(*first, "add-learner", str(node.node_id), node.addr) == 0
    assert await cli(*all_nodes, "change-membership", "0", "1", "2") == 0
    assert await cli(*all_nodes, "put", "color", "blue") == 0
    assert await cli(*all_nodes, "get", "color", "--linearizable") == 0
    assert await cli(*all_nodes, "get", "nothing") == 1
    capsys.readouterr()
    nodes.nodes[2].kill()
    assert await cli(*all_nodes, "status") == 0
    captured = capsys.readouterr()
    rows = [line for line in captured.out.splitlines() if line.count("│") > 5]
    assert len(rows) == 3
    assert "Leader" in rows[0] and "0,1,2" in rows[0]
    assert "Follower" in rows[1]
    assert "unreachable" in rows[2]
    assert await cli(*all_nodes, "change-membership", "0", "7") == 1
    assert capsys.readouterr().err.startswith("error: learner_not_found: ")
