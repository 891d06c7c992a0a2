"""A node whose state is larger than `state_kv_max_keys`: `/state` leaves `kv` out and says
why, and `GET /kv/scan` pages through all of it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from node_harness import Cluster, call, make_cluster
from test_node_snapshot import write_many

pytestmark = pytest.mark.e2e


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = make_cluster(tmp_path, 1, state_kv_max_keys=100)
    try:
        yield cluster
    finally:
        cluster.stop_all()


def test_state_omits_a_large_kv_and_scan_pages_through_it(cluster: Cluster) -> None:
    node = cluster.nodes[0]
    node.start()
    assert call(node.addr, "POST", "/admin/init") == (200, {"Ok": None})
    asyncio.run(write_many(node.addr, 250))
    status, state = call(node.addr, "GET", "/state")
    assert status == 200 and state["kv"] is None and state["kv_keys"] == 250
    assert "state_kv_max_keys=100" in state["kv_omitted"]
    seen: dict[str, str] = {}
    after = ""
    pages = 0
    while True:
        status, body = call(node.addr, "GET", f"/kv/scan?prefix=key-&limit=64&after={after}")
        assert status == 200, body
        page = body["Ok"]
        seen.update(dict(page["items"]))
        pages += 1
        if page["next"] is None:
            break
        after = page["next"]
    assert len(seen) == 250 and pages == 4
    assert seen["key-7"] == "value-7" * 10
    status, body = call(node.addr, "GET", "/kv/scan?prefix=key-1&limit=1000")
    assert {k for k, _ in body["Ok"]["items"]} == {k for k in seen if k.startswith("key-1")}


@pytest.mark.parametrize(
    ("query", "names"),
    [("limit=0", "limit"), ("limit=5000", "limit"), ("limit=x", "limit"), ("bogus=1", "bogus")],
    ids=["zero", "too-many", "not-a-number", "unknown"],
)
def test_bad_scan_parameters_get_400_naming_them(cluster: Cluster, query: str, names: str) -> None:
    node = cluster.nodes[0]
    node.start()
    status, body = call(node.addr, "GET", f"/kv/scan?{query}")
    assert status == 400, body
    assert body["Err"]["code"] == "bad_request" and names in body["Err"]["message"]
