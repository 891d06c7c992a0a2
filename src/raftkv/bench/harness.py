"""The load generator: one asyncio aiohttp client code path for every system.

`run_load` starts `workload.clients` client tasks. Each sends one request at a time over its
own keep-alive connection until the run's end: a warm-up first (connections open, caches
fill), then the measured window. An operation counts when it both started and finished inside
the window; its latency is the time from just before the request to the decoded answer. Every
loop is bounded in time (the window's end plus one request timeout) and in count.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from .cpu import CpuSample, CpuUsage
from .protocol import KvProtocol, WriterSession
from .workloads import KEY_COUNT, KEYS, Workload, value_pool

JSON_HEADERS = {"Content-Type": "application/json"}
MAX_OPS_PER_CLIENT = 10_000_000
"""A count bound on each client loop, far above what a run can reach."""
ERROR_BACKOFF_S = 0.01
"""A failed request (refused connection, 503) would otherwise make the loop spin."""


class BenchClient:
    """The HTTP side: one aiohttp session whose pool keeps a connection per client."""

    def __init__(self, connections: int, request_timeout_s: float) -> None:
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections, limit_per_host=connections),
            timeout=aiohttp.ClientTimeout(total=request_timeout_s),
        )

    async def post(self, url: str, body: bytes) -> tuple[int, bytes, str]:
        """(status, body, error kind); status 0 and an exception name when no answer came."""
        try:
            async with self._session.post(url, data=body, headers=JSON_HEADERS) as response:
                return response.status, await response.read(), ""
        except (aiohttp.ClientError, TimeoutError) as exc:
            return 0, b"", type(exc).__name__

    async def close(self) -> None:
        await self._session.close()


@dataclass(slots=True)
class LoadResult:
    """What one run measured. Invariant: len(latencies_s) == ok."""

    window_s: float
    latencies_s: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    cpu: CpuUsage | None = None

    @property
    def ok(self) -> int:
        return len(self.latencies_s)

    @property
    def ops_per_s(self) -> float:
        return self.ok / self.window_s


@dataclass(slots=True)
class _Run:
    """State shared by the client tasks of one run."""

    protocol: KvProtocol
    workload: Workload
    client: BenchClient
    measure_from: float
    end: float
    result: LoadResult
    values: list[str]


async def run_load(
    protocol: KvProtocol,
    workload: Workload,
    base_urls: Sequence[str],
    *,
    warmup_s: float,
    duration_s: float,
    request_timeout_s: float,
    sample_cpu: Callable[[], CpuSample],
    seed: int,
) -> LoadResult:
    """Drives `workload` against `base_urls` (client i uses base_urls[i % len]) and returns
    what the measured window saw, with the CPU used during it."""
    client = BenchClient(workload.clients, request_timeout_s)
    start = time.perf_counter()
    run = _Run(
        protocol=protocol,
        workload=workload,
        client=client,
        measure_from=start + warmup_s,
        end=start + warmup_s + duration_s,
        result=LoadResult(window_s=duration_s),
        values=value_pool(random.Random(seed)),
    )
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(_measure_cpu(run, sample_cpu))
            for index in range(workload.clients):
                base_url = base_urls[index % len(base_urls)]
                group.create_task(_client_loop(run, index, base_url, seed))
    finally:
        await client.close()
    return run.result


async def _measure_cpu(run: _Run, sample_cpu: Callable[[], CpuSample]) -> None:
    """Samples CPU at the window's start and end (not around the warm-up)."""
    await asyncio.sleep(max(0.0, run.measure_from - time.perf_counter()))
    before = sample_cpu()
    await asyncio.sleep(max(0.0, run.end - time.perf_counter()))
    run.result.cpu = CpuUsage.between(before, sample_cpu())


async def _client_loop(run: _Run, index: int, base_url: str, seed: int) -> None:
    """One client: one request at a time until the run ends."""
    rng = random.Random(seed * 1000 + index)
    # A fresh id per run: a session restarted at serial 1 under an old id is stale_serial.
    session = WriterSession(client_id=f"bench-{secrets.token_hex(8)}-{index}")
    protocol, read_fraction = run.protocol, run.workload.read_fraction
    read_url, write_url = base_url + protocol.read_path, base_url + protocol.write_path
    latencies, errors = run.result.latencies_s, run.result.errors
    for _ in range(MAX_OPS_PER_CLIENT):
        started = time.perf_counter()
        if started >= run.end:
            return
        key = KEYS[rng.randrange(KEY_COUNT)]
        if rng.random() < read_fraction:
            url, body = read_url, protocol.read_body(key)
        else:
            url, body = write_url, protocol.write_body(key, rng.choice(run.values), session)
        status, answer, failure = await run.client.post(url, body)
        ok = protocol.succeeded(status, answer)
        finished = time.perf_counter()
        if started >= run.measure_from and finished <= run.end:
            if ok:
                latencies.append(finished - started)
            else:
                errors[failure or str(status)] += 1
        if not ok:
            await asyncio.sleep(ERROR_BACKOFF_S)


async def preload(
    protocol: KvProtocol, base_url: str, *, clients: int, request_timeout_s: float
) -> int:
    """Writes every key of the key space once (reads then find values); returns failures."""
    client = BenchClient(clients, request_timeout_s)
    failures = 0

    async def write_share(index: int) -> None:
        nonlocal failures
        session = WriterSession(client_id=f"bench-preload-{secrets.token_hex(8)}-{index}")
        for key in KEYS[index::clients]:
            status, answer, _ = await client.post(
                base_url + protocol.write_path, protocol.write_body(key, key, session)
            )
            failures += not protocol.succeeded(status, answer)

    try:
        async with asyncio.TaskGroup() as group:
            for index in range(clients):
                group.create_task(write_share(index))
    finally:
        await client.close()
    return failures
