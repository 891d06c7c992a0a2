"""The observer: polling, waits, key/value demand, failures, history."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from tf_fakes import FakeStateSource, fake_state, pristine, serve_routes

from raftkv.client import ApiError, NodeClient
from raftkv.tf.agreement import Leadership
from raftkv.tf.observer import Observer, RuleBroken, WaitTimeout

NAMES = ["node-0", "node-1", "node-2"]


def observer_of(sources: dict[str, FakeStateSource], interval: float = 0.01) -> Observer:
    return Observer(list(sources), sources.__getitem__, interval=interval, request_timeout=0.5)


async def test_wait_leader_returns_once_the_cluster_agrees() -> None:
    sources = {name: FakeStateSource(pristine(i)) for i, name in enumerate(NAMES)}
    async with observer_of(sources) as observer:
        waiting = asyncio.create_task(observer.wait_leader(5.0))
        await asyncio.sleep(0.05)
        assert not waiting.done(), "nobody leads yet"
        sources["node-0"].state_now = fake_state(0, "Leader", term=1, voters=[0])
        assert await waiting == Leadership(0, 1)


async def test_wait_for_a_different_leader_after_restart() -> None:
    sources = {
        "node-0": FakeStateSource(fake_state(0, "Leader", term=1)),
        "node-1": FakeStateSource(fake_state(1, leader=0, term=1)),
        "node-2": FakeStateSource(fake_state(2, leader=0, term=1)),
    }
    async with observer_of(sources) as observer:
        old = await observer.wait_leader(2.0)
        waiting = asyncio.create_task(observer.wait_leader(5.0, different_from=old))
        sources["node-0"].error = ApiError(0, "unreachable", "connection refused")
        sources["node-2"].state_now = fake_state(2, "Leader", term=2)
        sources["node-1"].state_now = fake_state(1, leader=2, term=2)
        assert await waiting == Leadership(2, 2)
        assert observer.view()["node-0"] is None


async def test_timeout_says_what_is_missing() -> None:
    sources = {
        "node-0": FakeStateSource(fake_state(0, "Leader", term=3)),
        "node-1": FakeStateSource(fake_state(1, leader=None, term=3)),
    }
    async with observer_of(sources) as observer:
        with pytest.raises(WaitTimeout, match=r"agreed leader: node-0 leads in term 3 but only"):
            await observer.wait_leader(0.2)


async def test_key_value_maps_are_fetched_only_while_a_wait_needs_them() -> None:
    source = FakeStateSource(fake_state(0, kv={"k": "v"}))
    async with observer_of({"node-0": source}) as observer:
        await asyncio.sleep(0.05)
        assert source.calls and not any(source.calls), "pollers leave the map out"
        assert await observer.wait_keys({"k": "v"}, 2.0) == 1
        assert any(source.calls)
        source.calls.clear()
        await asyncio.sleep(0.05)
        assert not any(source.calls[1:]), "back to polling without the map"


async def test_a_broken_rule_ends_the_wait_at_once() -> None:
    sources = {
        "node-0": FakeStateSource(fake_state(0, applied=4, digest="a" * 16)),
        "node-1": FakeStateSource(fake_state(1, applied=4, digest="b" * 16)),
    }
    started = time.monotonic()
    async with observer_of(sources) as observer:
        with pytest.raises(
            RuleBroken,
            match=r"^replicas diverged at applied index 4: .* \(while waiting for one applied",
        ):
            await observer.wait_converged(10.0)
    assert time.monotonic() - started < 5.0


async def test_a_map_left_out_for_its_size_still_counts_as_fresh() -> None:
    large = fake_state(0, applied=3, digest="a" * 16, keys=20_000, kv_omitted="too many")
    source = FakeStateSource(large)
    async with observer_of({"node-0": source}) as observer:
        replicas = await observer.wait_converged(2.0)
        assert (replicas.applied, replicas.keys, replicas.kv) == (3, 20_000, None)
        with pytest.raises(WaitTimeout, match=r"node-0 left its key/value map out \(too many\)"):
            await observer.wait_keys({"k": "v"}, 0.2)
    assert observer.latest["node-0"].summary()["keys"] == 20_000


async def test_a_hanging_node_does_not_delay_the_others() -> None:
    class Hanging:
        async def state(self, *, kv: bool = True):
            await asyncio.sleep(60)

    fast = FakeStateSource(fake_state(1))
    sources = {"node-0": Hanging(), "node-1": fast}
    observer = Observer(list(sources), sources.__getitem__, interval=0.01, request_timeout=0.3)
    async with observer:
        await asyncio.sleep(0.2)
        assert len(fast.calls) >= 5
        await asyncio.sleep(0.3)
        assert observer.latest["node-0"].error == "TimeoutError"


async def test_history_records_transitions_without_maps() -> None:
    source = FakeStateSource(fake_state(0, "Follower", term=1, voters=[0], kv={"k": "v"}))
    started = time.monotonic()
    async with observer_of({"node-0": source}) as observer:
        await observer.wait_keys({"k": "v"}, 2.0)
        source.state_now = fake_state(0, "Leader", term=2, voters=[0], kv={"k": "v"})
        await observer.wait_leader(2.0)
    assert all(o.state is None or o.state.kv is None for o in observer.history)
    changes = observer.transitions(started)
    assert [(c["role"], c["term"]) for c in changes] == [("Follower", 1), ("Leader", 2)]
    assert changes[0]["t"] <= changes[1]["t"]


async def test_stop_ends_every_poller() -> None:
    sources = {name: FakeStateSource(pristine(i)) for i, name in enumerate(NAMES)}
    observer = observer_of(sources)
    await observer.start()
    await asyncio.sleep(0.03)
    await observer.stop()
    counts = [len(s.calls) for s in sources.values()]
    await asyncio.sleep(0.05)
    assert [len(s.calls) for s in sources.values()] == counts


async def test_observes_a_fake_http_node_through_the_real_client() -> None:
    """The observer against an in-process fake node, through NodeClient and real HTTP."""
    answer = {
        "node_id": 0,
        "public_addr": "x:1",
        "role": "Leader",
        "current_leader": 0,
        "current_term": 1,
        "last_log_index": 1,
        "last_applied_index": 1,
        "voters": [0],
        "kv": {"a": "b"},
    }

    async def state(request: web.Request) -> web.Response:
        body = dict(answer, kv=None) if request.query.get("kv") == "false" else answer
        return web.json_response(body)

    runner, port = await serve_routes({"/state": state})
    client = NodeClient(f"127.0.0.1:{port}", timeout=1.0)
    try:
        async with Observer(["node-0"], lambda name: client, interval=0.02) as observer:
            assert await observer.wait_leader(2.0) == Leadership(0, 1)
            assert await observer.wait_keys({"a": "b"}, 2.0) == 1
    finally:
        await client.close()
        await runner.cleanup()
