"""A learner that joins after 10,000 writes catches up by snapshot installation (chunked over
`/raft/snapshot`), and snapshots survive a restart."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from node_harness import Cluster, call, make_cluster, wait_for

pytestmark = pytest.mark.e2e

WRITES = 10_000
WORKERS = 32


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    # A low threshold, and a chunk-sized value so the snapshot spans several chunks.
    cluster = make_cluster(tmp_path, 2, snapshot_threshold=1000)
    try:
        yield cluster
    finally:
        cluster.stop_all()


async def write_many(addr: str, count: int) -> None:
    async def worker(session: aiohttp.ClientSession, worker_id: int) -> None:
        for n in range(worker_id, count, WORKERS):
            body = {
                "key": f"key-{n}",
                "value": f"value-{n}" * 10,
                "serial": n + 1,
                "client_id": f"worker-{worker_id}",
            }
            async with session.post(f"http://{addr}/kv/write", json=body) as resp:
                assert resp.status == 200, await resp.text()
                await resp.read()

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session, w) for w in range(WORKERS)))


def test_late_learner_catches_up_by_snapshot(cluster: Cluster) -> None:
    first, late = cluster.nodes
    first.start()
    assert call(first.addr, "POST", "/admin/init") == (200, {"Ok": None})
    asyncio.run(write_many(first.addr, WRITES))
    metrics = call(first.addr, "GET", "/admin/metrics")[1]["Ok"]
    assert metrics["snapshot_index"] >= 9000 and metrics["driver"]["snapshots_taken"] >= 9

    late.start()
    body = {"node_id": 1, "addr": late.addr}
    assert call(first.addr, "POST", "/admin/add-learner", body, timeout=30) == (200, {"Ok": None})
    wait_for(lambda: len(late.kv()) == WRITES, 10, "all keys on the learner")
    assert late.kv()["key-9999"] == "value-9999" * 10
    late_metrics = call(late.addr, "GET", "/admin/metrics")[1]["Ok"]
    assert late_metrics["driver"]["snapshots_installed"] >= 1
    wait_for(
        lambda: late.state()["last_applied_index"] == first.state()["last_applied_index"],
        10,
        "the learner at the leader's applied index",
    )
    assert late.state()["kv_digest"] == first.state()["kv_digest"]
    assert late.state()["role"] == "Learner"
    read = {"key": "key-42", "consistency": "linearizable"}
    assert call(late.addr, "POST", "/kv/read", read) == (200, {"Ok": {"value": "value-42" * 10}})

    # The learner restarts from its installed snapshot without any admin call.
    late.kill()
    late.start()
    wait_for(lambda: len(late.kv()) == WRITES, 10, "keys back after the learner's restart")

    # The single voter restarts from its own snapshot plus log suffix and leads again.
    first.kill()
    first.start()
    wait_for(lambda: first.state().get("role") == "Leader", 10, "node 0 leading again")
    assert len(first.kv()) == WRITES
    wait_for(lambda: late.state().get("current_leader") == 0, 5, "the learner hearing node 0")
    body = {"key": "after", "value": "restart", "serial": 1, "client_id": "after"}
    assert call(late.addr, "POST", "/kv/write", body) == (200, {"Ok": {"previous": None}})


def test_restart_resumes_from_the_state_store_without_replaying(cluster: Cluster) -> None:
    """A killed node comes back with the state its store holds and applies only what the
    log adds after it: nothing compacted, nothing already held, is applied again."""
    node = cluster.nodes[0]
    node.start()
    assert call(node.addr, "POST", "/admin/init") == (200, {"Ok": None})
    asyncio.run(write_many(node.addr, 2500))
    before = node.state()
    assert before["snapshot_index"] >= 2000
    driver = call(node.addr, "GET", "/admin/metrics")[1]["Ok"]["driver"]
    # One checkpoint per compaction (8 MiB were not written): never one per Ready.
    assert driver["state_checkpoints"] == driver["snapshots_taken"] >= 2
    node.kill()
    node.start()
    wait_for(lambda: node.state().get("role") == "Leader", 10, "node 0 leading again")
    after = node.state()
    assert after["kv_digest"] == before["kv_digest"]
    assert after["kv_keys"] == before["kv_keys"] == 2500
    assert after["last_applied_index"] >= before["last_applied_index"]
    # The store comes back at what it last committed (a SIGKILL loses at most the batches of
    # its open transaction); only the log after that index is applied again.
    held = int(re.findall(r"state=state store at (\d+)", node.log_path.read_text())[-1])
    assert before["snapshot_index"] <= held <= before["last_applied_index"]
    metrics = call(node.addr, "GET", "/admin/metrics")[1]["Ok"]
    assert metrics["driver"]["applied_commands"] == before["last_applied_index"] - held
    body = {"key": "after", "value": "restart", "serial": 1, "client_id": "after"}
    assert call(node.addr, "POST", "/kv/write", body) == (200, {"Ok": {"previous": None}})
    metrics = call(node.addr, "GET", "/admin/metrics")[1]["Ok"]
    assert metrics["driver"]["applied_commands"] == before["last_applied_index"] - held + 1


def test_a_lost_state_store_beside_a_compacted_log_is_refused_at_start(
    cluster: Cluster,
) -> None:
    node = cluster.nodes[0]
    node.start()
    assert call(node.addr, "POST", "/admin/init") == (200, {"Ok": None})
    asyncio.run(write_many(node.addr, 1500))
    assert node.state()["snapshot_index"] >= 1000
    node.kill()
    data_dir = node.workdir / "raftkv-data-0"
    for path in data_dir.glob("state.sqlite3*"):
        path.unlink()
    node.start(wait=False)
    assert node.wait_exit(15) == 2
    last_line = node.log_path.read_text().strip().splitlines()[-1]
    assert last_line.startswith("raftkv-node: data_dir:") and "damaged" in last_line
