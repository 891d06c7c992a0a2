"""The load loop against an in-process server: it stops by itself on time, counts only the
measured window, spreads clients over members, and counts failures as errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from raftkv.bench.cpu import CpuSample
from raftkv.bench.failover import first_write_after
from raftkv.bench.harness import run_load
from raftkv.bench.protocol import RaftkvProtocol
from raftkv.bench.workloads import WORKLOADS


class FakeNode:
    """Answers raftkv's /kv/write and /kv/read; `failing` turns every answer into a 503."""

    def __init__(self) -> None:
        self.requests = 0
        self.failing = False
        self.serials: list[int] = []
        self.client_ids: set[str] = set()

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.json()
        if self.failing:
            return web.json_response({"Err": {"code": "no_leader"}}, status=503)
        if "serial" in body:
            self.serials.append(body["serial"])
            self.client_ids.add(body["client_id"])
        return web.json_response({"Ok": {"value": None}})


@pytest.fixture
async def fake_nodes() -> AsyncIterator[list[tuple[FakeNode, str]]]:
    nodes, runners = [], []
    for _ in range(2):
        node = FakeNode()
        app = web.Application()
        app.router.add_post("/kv/write", node.handle)
        app.router.add_post("/kv/read", node.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        nodes.append((node, f"http://127.0.0.1:{port}"))
        runners.append(runner)
    yield nodes
    for runner in runners:
        await runner.cleanup()


def _cpu() -> CpuSample:
    return CpuSample({}, client=time.process_time())


async def test_run_stops_on_time_and_measures_only_the_window(fake_nodes) -> None:
    (node, url), (other, _) = fake_nodes
    started = time.perf_counter()
    result = await run_load(
        RaftkvProtocol(),
        WORKLOADS["mixed-64"],
        [url],
        warmup_s=0.3,
        duration_s=0.5,
        request_timeout_s=2.0,
        sample_cpu=_cpu,
        seed=7,
    )
    elapsed = time.perf_counter() - started
    assert 0.8 <= elapsed < 2.0
    assert result.ok > 50 and not result.errors
    assert node.requests > result.ok  # the warm-up's requests are not counted
    assert other.requests == 0  # not spread: every client talks to the one URL
    assert result.cpu is not None and result.cpu.client > 0
    assert result.ops_per_s == result.ok / 0.5


async def test_spread_workload_uses_every_member(fake_nodes) -> None:
    urls = [url for _, url in fake_nodes]
    await run_load(
        RaftkvProtocol(),
        WORKLOADS["write-64-all"],
        urls,
        warmup_s=0.0,
        duration_s=0.3,
        request_timeout_s=2.0,
        sample_cpu=_cpu,
        seed=1,
    )
    assert all(node.requests > 10 for node, _ in fake_nodes)


async def test_sequential_client_sends_growing_serials(fake_nodes) -> None:
    node, url = fake_nodes[0]
    await run_load(
        RaftkvProtocol(),
        WORKLOADS["seq-write"],
        [url],
        warmup_s=0.0,
        duration_s=0.2,
        request_timeout_s=2.0,
        sample_cpu=_cpu,
        seed=1,
    )
    assert len(node.serials) > 5 and node.serials == sorted(set(node.serials))


async def test_every_run_uses_fresh_client_ids(fake_nodes) -> None:
    """Same seed, new run: reusing an id would restart its serials and get stale_serial."""
    node, url = fake_nodes[0]
    seen: list[set[str]] = []
    for _ in range(2):
        node.client_ids.clear()
        await run_load(
            RaftkvProtocol(),
            WORKLOADS["write-8"],
            [url],
            warmup_s=0.0,
            duration_s=0.2,
            request_timeout_s=2.0,
            sample_cpu=_cpu,
            seed=1,
        )
        seen.append(set(node.client_ids))
    assert len(seen[0]) == 8 and not seen[0] & seen[1]


async def test_failures_are_errors_not_operations(fake_nodes) -> None:
    node, url = fake_nodes[0]
    node.failing = True
    result = await run_load(
        RaftkvProtocol(),
        WORKLOADS["write-8"],
        [url],
        warmup_s=0.0,
        duration_s=0.3,
        request_timeout_s=2.0,
        sample_cpu=_cpu,
        seed=1,
    )
    assert result.ok == 0 and result.errors["503"] > 0


async def test_unreachable_member_counts_connection_errors() -> None:
    result = await run_load(
        RaftkvProtocol(),
        WORKLOADS["seq-write"],
        ["http://127.0.0.1:9"],
        warmup_s=0.0,
        duration_s=0.2,
        request_timeout_s=1.0,
        sample_cpu=_cpu,
        seed=1,
    )
    assert result.ok == 0 and result.errors["ClientConnectorError"] > 0


async def test_first_write_after_waits_for_recovery(fake_nodes) -> None:
    node, url = fake_nodes[0]
    node.failing = True
    since = time.perf_counter()
    asyncio.get_running_loop().call_later(0.3, setattr, node, "failing", False)
    elapsed = await first_write_after(RaftkvProtocol(), url, since, deadline_s=5.0)
    assert elapsed is not None and 0.3 <= elapsed < 0.6


async def test_first_write_after_gives_up_at_the_deadline(fake_nodes) -> None:
    node, url = fake_nodes[0]
    node.failing = True
    started = time.perf_counter()
    assert await first_write_after(RaftkvProtocol(), url, started, deadline_s=0.3) is None
    assert time.perf_counter() - started < 1.5
