"""`ClusterClient` against fake nodes: finding the leader, following `not_leader` hints,
retrying a write under the same (client_id, serial), and respecting the deadline."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from client_fake_node import FakeNode, MakeFake, err

from raftkv.client import ApiError, ClusterClient


def serials(fake: FakeNode) -> list[tuple[str, int]]:
    return [(r.body["client_id"], r.body["serial"]) for r in fake.received("/kv/write")]


async def test_client_id_comes_from_the_rng_and_serials_increase(make_fake: MakeFake) -> None:
    fake = await make_fake()
    async with ClusterClient([fake.addr], rng=random.Random(7)) as client:
        assert client.client_id == ClusterClient(["h:1"], rng=random.Random(7)).client_id
        await client.write("a", "1")
        await client.write("a", "2")
    assert serials(fake) == [(client.client_id, 1), (client.client_id, 2)]


async def test_writes_go_to_the_node_that_reports_leader(make_fake: MakeFake) -> None:
    follower = await make_fake(0, role="Follower")
    leader = await make_fake(1, role="Leader")
    async with ClusterClient([follower.addr, leader.addr]) as client:
        assert await client.write("k", "v") is None
        assert await client.read("k") == "v"
        assert (await client.leader()).addr == leader.addr
    assert follower.received("/kv/write") == []
    assert len(leader.received("/kv/write")) == 1


async def test_not_leader_hint_is_followed_to_an_address_it_was_not_given(
    make_fake: MakeFake,
) -> None:
    # Node 0 claims leadership (stale), then says node 1 leads, at an address the client
    # was never given.
    stale = await make_fake(0, role="Leader")
    leader = await make_fake(1, role="Leader")
    stale.script("/kv/write", err(421, "not_leader", leader_id=1, leader_addr=leader.addr))
    async with ClusterClient([stale.addr], rng=random.Random(1)) as client:
        assert await client.write("k", "v") is None
        assert leader.addr in client.addrs
        await client.write("k", "w")
    assert serials(leader) == [(client.client_id, 1), (client.client_id, 2)]
    assert serials(stale) == [(client.client_id, 1)]


async def test_a_retry_after_a_timeout_keeps_client_id_and_serial(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script("/kv/write", fake.slow(0.5))
    async with ClusterClient([fake.addr], timeout=0.2, rng=random.Random(3)) as client:
        assert await client.write("k", "v", deadline=3.0) is None
    # The fake saw the same (client_id, serial) twice and applied it once.
    assert serials(fake) == [(client.client_id, 1), (client.client_id, 1)]


@pytest.mark.parametrize("code", ["no_leader", "leader_changed", "timeout", "forward_failed"])
async def test_retryable_node_errors_are_retried_with_the_same_serial(
    make_fake: MakeFake, code: str
) -> None:
    fake = await make_fake()
    status = {"no_leader": 503, "leader_changed": 503, "timeout": 504, "forward_failed": 502}[code]
    fake.script("/kv/write", err(status, code), err(status, code))
    async with ClusterClient([fake.addr], rng=random.Random(0)) as client:
        await client.write("k", "v", deadline=5.0)
    assert [s for _, s in serials(fake)] == [1, 1, 1]


async def test_a_definite_refusal_is_raised_at_once(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script("/kv/write", err(400, "bad_request", "$.key: too long"))
    async with ClusterClient([fake.addr]) as client:
        with pytest.raises(ApiError) as caught:
            await client.write("k", "v", deadline=5.0)
    assert caught.value.code == "bad_request"
    assert len(fake.received("/kv/write")) == 1


async def test_deadline_is_respected_and_the_last_error_raised(make_fake: MakeFake) -> None:
    fake = await make_fake(role="Follower")
    fake.script("/kv/write", *[err(503, "no_leader", "no leader is known") for _ in range(100)])
    async with ClusterClient([fake.addr], timeout=5.0, rng=random.Random(0)) as client:
        started = time.monotonic()
        with pytest.raises(ApiError) as caught:
            await client.write("k", "v", deadline=0.6)
        elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 0.9
    assert caught.value.code == "no_leader"
    # Backoff from 50 ms doubling to 500 ms: a handful of attempts, not a busy loop.
    assert 2 <= len(fake.received("/kv/write")) <= 6


async def test_an_attempt_waits_no_longer_than_the_deadline(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script("/kv/write", fake.slow(1.0))
    async with ClusterClient([fake.addr], timeout=5.0) as client:
        started = time.monotonic()
        with pytest.raises(ApiError) as caught:
            await client.write("k", "v", deadline=0.3)
        assert time.monotonic() - started < 0.6
    assert (caught.value.code, caught.value.indeterminate) == ("timeout", True)


async def test_an_indeterminate_attempt_makes_the_final_error_indeterminate(
    make_fake: MakeFake,
) -> None:
    fake = await make_fake()
    fake.script(
        "/kv/write",
        err(504, "timeout", indeterminate=True),
        *[err(503, "no_leader") for _ in range(100)],
    )
    async with ClusterClient([fake.addr], rng=random.Random(0)) as client:
        with pytest.raises(ApiError) as caught:
            await client.write("k", "v", deadline=0.4)
    assert caught.value.code == "no_leader"
    assert caught.value.indeterminate is True


async def test_unreachable_nodes_are_skipped(make_fake: MakeFake, dead_addr: str) -> None:
    fake = await make_fake(role="Follower")  # no leader known: plain rotation
    async with ClusterClient([dead_addr, fake.addr], rng=random.Random(0)) as client:
        for i in range(3):
            await client.write(f"k{i}", "v", deadline=3.0)
        assert await client.read("k0", linearizable=False) == "v"
    assert len(fake.received("/kv/write")) == 3


async def test_concurrent_writes_use_separate_sessions(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script("/kv/write", fake.slow(0.1), fake.slow(0.1), fake.slow(0.1))
    async with ClusterClient([fake.addr], rng=random.Random(5)) as client:
        await asyncio.gather(*(client.write(f"k{i}", "v") for i in range(3)))
        await client.write("k", "v")
    seen = serials(fake)
    # Each session has one write in flight, so serials stay ordered per client id.
    assert len({cid for cid, _ in seen[:3]}) == 3
    assert all(cid.startswith(client.client_id) for cid, _ in seen)
    assert seen[3][1] == 2  # a sequential write reuses a session, with its next serial


async def test_leader_gives_up_with_no_leader(make_fake: MakeFake, dead_addr: str) -> None:
    follower = await make_fake(role="Follower")
    async with ClusterClient([follower.addr, dead_addr]) as client:
        with pytest.raises(ApiError) as caught:
            await client.leader(deadline=0.3)
    assert (caught.value.status, caught.value.code) == (0, "no_leader")


def test_no_addresses_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        ClusterClient([])


async def test_a_silent_node_does_not_eat_the_deadline_in_discovery(make_fake: MakeFake) -> None:
    silent = await make_fake(0, role="Follower")
    silent.script("/state", silent.slow(3.0))
    other = await make_fake(1, role="Follower")
    async with ClusterClient([silent.addr, other.addr], timeout=5.0) as client:
        started = time.monotonic()
        assert await client.write("k", "v", deadline=2.0) is None
        assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("deadline", [0.0, -1.0])
async def test_a_deadline_must_be_positive(deadline: float) -> None:
    async with ClusterClient(["127.0.0.1:1"]) as client:
        with pytest.raises(ValueError, match="deadline"):
            await client.write("k", "v", deadline=deadline)


@pytest.mark.parametrize("code", ["stale_serial", "serial_conflict"])
async def test_a_client_id_clash_moves_to_a_fresh_session(make_fake: MakeFake, code: str) -> None:
    fake = await make_fake()
    fake.script("/kv/write", err(409, code, "another writer uses this client id"))
    async with ClusterClient([fake.addr], rng=random.Random(2)) as client:
        await client.write("k", "v")
        await client.write("k", "w")
    (first_id, first), (fresh_id, fresh), (again_id, after) = serials(fake)
    assert first_id == client.client_id and first == 1
    assert fresh_id != first_id and (fresh, after) == (1, 2) and again_id == fresh_id


async def test_a_clash_after_an_indeterminate_attempt_is_raised(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script(
        "/kv/write", err(504, "timeout", indeterminate=True), err(409, "stale_serial", "clash")
    )
    async with ClusterClient([fake.addr], rng=random.Random(2)) as client:
        with pytest.raises(ApiError) as caught:
            await client.write("k", "v", deadline=3.0)
    assert (caught.value.code, caught.value.indeterminate) == ("stale_serial", True)
    assert len(fake.received("/kv/write")) == 2


async def test_endless_clashes_end_at_the_deadline(make_fake: MakeFake) -> None:
    fake = await make_fake()
    fake.script("/kv/write", *[err(409, "stale_serial", "clash") for _ in range(10_000)])
    async with ClusterClient([fake.addr]) as client:
        started = time.monotonic()
        with pytest.raises(ApiError, match="stale_serial"):
            await client.write("k", "v", deadline=0.3)
        assert time.monotonic() - started < 1.0
    client_ids = {r.body["client_id"] for r in fake.received("/kv/write")}
    assert len(client_ids) == len(fake.received("/kv/write"))  # a fresh id for every try
