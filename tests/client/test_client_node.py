"""`NodeClient` against a fake node: every endpoint, headers, and the errors of a missing
answer (status 0)."""

from __future__ import annotations

import time

import pytest
from aiohttp import web
from client_fake_node import MakeFake, err, reference_err

from raftkv.client import ApiError, ApiTimeout, NodeClient, NodeState, ScanPage
from raftkv.client.node_client import parse_addr


async def test_write_read_and_previous_value(make_fake: MakeFake) -> None:
    fake = await make_fake()
    async with NodeClient(fake.addr) as client:
        assert await client.write("k", "v1", serial=1, client_id="c") is None
        assert await client.write("k", "v2", serial=2, client_id="c") == "v1"
        assert await client.read("k") == "v2"
        assert await client.read("missing", linearizable=True) is None
    writes = fake.received("/kv/write")
    assert writes[0].body == {"key": "k", "value": "v1", "serial": 1, "client_id": "c"}
    reads = fake.received("/kv/read")
    assert [r.body["consistency"] for r in reads] == ["local", "linearizable"]


async def test_write_without_client_id_leaves_the_field_out(make_fake: MakeFake) -> None:
    fake = await make_fake()
    async with NodeClient(fake.addr) as client:
        await client.write("k", "v", serial=0)
    assert fake.received("/kv/write")[0].body == {"key": "k", "value": "v", "serial": 0}


async def test_state_is_typed_and_tolerates_unknown_fields(make_fake: MakeFake) -> None:
    fake = await make_fake(node_id=2, role="Follower", term=4)
    fake.kv["a"] = "1"
    async with NodeClient(fake.addr) as client:
        state = await client.state()
        light = await client.state(kv=False)
    assert isinstance(state, NodeState)
    assert (state.node_id, state.role, state.current_term, state.current_leader) == (
        2,
        "Follower",
        4,
        None,
    )
    assert state.kv == {"a": "1"} and not state.is_leader
    assert light.kv is None
    assert light.membership is None and light.committed_index == 0


async def test_state_decodes_the_digest_and_a_map_left_out(make_fake: MakeFake) -> None:
    fake = await make_fake()
    large = fake.state(with_kv=False) | {
        "kv_digest": "0123456789abcdef",
        "kv_keys": 20_000,
        "kv": None,
        "kv_omitted": "20000 keys exceed state_kv_max_keys=10000",
    }
    fake.script("/state", web.json_response(large))
    fake.digest = "fedcba9876543210"
    fake.kv.update({"a": "1", "b": "2"})
    async with NodeClient(fake.addr) as client:
        state = await client.state()
        small = await client.state()
    assert (state.kv_digest, state.kv_keys, state.kv, state.key_count) == (
        "0123456789abcdef",
        20_000,
        None,
        20_000,
    )
    assert state.kv_omitted is not None and "state_kv_max_keys" in state.kv_omitted
    assert (small.kv_digest, small.kv_keys, small.kv_omitted, small.key_count) == (
        "fedcba9876543210",
        2,
        None,
        2,
    )


async def test_scan_sends_its_query_and_returns_a_page(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.kv.update({"a": "0", "b1": "1", "b2": "2", "b3": "3", "c": "4"})
    async with NodeClient(fake.addr) as client:
        page = await client.scan("b", after="b1", limit=1)
        rest = await client.scan("b", after=page.next)
        everything = await client.scan()
    assert isinstance(page, ScanPage)
    assert (page.items, page.next) == ([("b2", "2")], "b2")
    assert (rest.items, rest.next) == ([("b3", "3")], None)
    assert [key for key, _ in everything.items] == ["a", "b1", "b2", "b3", "c"]
    queries = [r.query for r in fake.received("/kv/scan")]
    assert queries[0] == {"prefix": "b", "after": "b1", "limit": "1"}
    assert queries[2] == {"prefix": "", "limit": "100"}, "no `after` when None"


async def test_scan_all_follows_next_to_the_last_page(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.kv.update({f"k{i:02}": str(i) for i in range(25)})
    fake.kv["other"] = "x"
    async with NodeClient(fake.addr) as client:
        pairs = [pair async for pair in client.scan_all("k", page_size=10)]
        tail = [key async for key, _ in client.scan_all("k", after="k21", page_size=10)]
    assert pairs == [(f"k{i:02}", str(i)) for i in range(25)]
    assert tail == ["k22", "k23", "k24"]
    afters = [r.query.get("after") for r in fake.received("/kv/scan")][:3]
    assert afters == [None, "k09", "k19"]


async def test_a_refused_scan_is_a_definite_api_error(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script("/kv/scan", err(400, "bad_request", "invalid query: limit: at most 1000"))
    async with NodeClient(fake.addr) as client:
        with pytest.raises(ApiError) as caught:
            await client.scan(limit=5000)
    assert (caught.value.status, caught.value.code) == (400, "bad_request")
    assert "limit" in caught.value.message and not caught.value.indeterminate


async def test_admin_calls_send_the_contract_bodies(make_fake: MakeFake) -> None:
    fake = await make_fake()
    async with NodeClient(fake.addr, auth_token="secret") as client:
        await client.init()
        await client.add_learner(1, "127.0.0.1:9001", blocking=False)
        await client.change_membership([2, 0, 1, 1], retain=True)
        metrics = await client.metrics()
    assert metrics["role"] == "Leader"
    assert fake.received("/admin/add-learner")[0].body == {
        "node_id": 1,
        "addr": "127.0.0.1:9001",
        "blocking": False,
    }
    assert fake.received("/admin/change-membership")[0].body == {
        "voters": [0, 1, 2],
        "retain": True,
    }
    assert all(r.headers["Authorization"] == "Bearer secret" for r in fake.requests)


async def test_the_node_is_told_how_long_the_client_waits(make_fake: MakeFake) -> None:
    fake = await make_fake()
    async with NodeClient(fake.addr, timeout=2.0) as client:
        await client.read("k")
        await client.read("k", timeout=0.5)
    waits = [int(r.headers["X-Raftkv-Deadline-Ms"]) for r in fake.received("/kv/read")]
    assert 1800 <= waits[0] < 2000
    assert 400 <= waits[1] < 500


async def test_node_error_is_raised_with_status_and_code(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script("/kv/write", err(409, "stale_serial", "serial 1 < 2"))
    fake.script("/admin/init", err(409, "already_initialized"))
    async with NodeClient(fake.addr) as client:
        with pytest.raises(ApiError) as caught:
            await client.write("k", "v", serial=1, client_id="c")
        assert (caught.value.status, caught.value.code) == (409, "stale_serial")
        assert not caught.value.retryable
        with pytest.raises(ApiError, match="already_initialized"):
            await client.init()


async def test_reference_shaped_error(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script("/kv/write", reference_err("raft is shutting down"))
    async with NodeClient(fake.addr) as client:
        with pytest.raises(ApiError) as caught:
            await client.write("k", "v", serial=1)
    assert (caught.value.status, caught.value.code) == (200, "error")
    assert caught.value.indeterminate


@pytest.mark.parametrize("mutating", [True, False], ids=["write", "read"])
async def test_connection_refused_is_status_0_unreachable_and_definite(
    dead_addr: str, mutating: bool
) -> None:
    async with NodeClient(dead_addr, timeout=2.0) as client:
        assert await client.healthz() is False
        with pytest.raises(ApiError) as caught:
            if mutating:
                await client.write("k", "v", serial=1)
            else:
                await client.read("k")
    error = caught.value
    assert (error.status, error.code) == (0, "unreachable")
    # Nothing was sent: a refused connection cannot have applied the write.
    assert error.indeterminate is False
    assert dead_addr in error.message


@pytest.mark.parametrize(
    ("mutating", "indeterminate"), [(True, True), (False, False)], ids=["write", "read"]
)
async def test_client_timeout_is_status_0_and_indeterminate_only_for_writes(
    make_fake: MakeFake, mutating: bool, indeterminate: bool
) -> None:
    fake = await make_fake()
    fake.script("/kv/write", fake.slow(0.6))
    fake.script("/kv/read", fake.slow(0.6))
    async with NodeClient(fake.addr, timeout=5.0) as client:
        started = time.monotonic()
        with pytest.raises(ApiTimeout) as caught:
            if mutating:
                await client.write("k", "v", serial=1, timeout=0.2)
            else:
                await client.read("k", timeout=0.2)
        assert time.monotonic() - started < 1.0
    assert (caught.value.status, caught.value.code) == (0, "timeout")
    assert caught.value.indeterminate is indeterminate


async def test_healthz_true_when_serving(make_fake: MakeFake) -> None:
    fake = await make_fake()
    async with NodeClient(fake.addr) as client:
        assert await client.healthz() is True


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("127.0.0.1:8080", "127.0.0.1:8080"),
        ("http://node-1:80/", "node-1:80"),
        (" [::1]:9 ", "[::1]:9"),
    ],
)
def test_parse_addr_accepts(addr: str, expected: str) -> None:
    assert parse_addr(addr) == expected


@pytest.mark.parametrize("addr", ["127.0.0.1", ":8080", "host:0", "host:70000", "host:http"])
def test_parse_addr_refuses(addr: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_addr(addr)


def test_a_non_positive_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="timeout"):
        NodeClient("127.0.0.1:1", timeout=0)
