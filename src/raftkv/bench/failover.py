"""Crash failover: `kill -9` the leader, time until a write through a survivor succeeds.

Systems differ in how a write waits while there is no leader: raftkv answers 503/502 at once,
etcd holds the request until its own timeout even when a leader appears meanwhile. So one
request at a time would measure the request timeout, not the failover. Instead a new write
starts every `PROBE_INTERVAL_S` (each with its own timeout) and the first success counts: the
time is then the same "earliest moment a write gets through" for both systems, to within the
probe interval.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable

import aiohttp

from .cluster import LocalCluster
from .harness import BenchClient
from .protocol import KvProtocol, WriterSession
from .workloads import KEYS

PROBE_INTERVAL_S = 0.01
PROBE_TIMEOUT_S = 1.0
MAX_PROBES_IN_FLIGHT = int(PROBE_TIMEOUT_S / PROBE_INTERVAL_S)
LEADER_TIMEOUT_S = 60.0


async def first_write_after(
    protocol: KvProtocol, base_url: str, since: float, deadline_s: float
) -> float | None:
    """Seconds from `since` (a perf_counter time) to the first successful write through
    `base_url`; None when none succeeded within `deadline_s`."""
    session = WriterSession(client_id=f"bench-failover-{secrets.token_hex(8)}")

    async def write(client: BenchClient, _number: int) -> bool:
        body = protocol.write_body(KEYS[0], "failover-probe-0", session)
        status, answer, _ = await client.post(base_url + protocol.write_path, body)
        return protocol.succeeded(status, answer)

    return await first_success_after(write, since, deadline_s)


async def first_success_after(
    probe: Callable[[BenchClient, int], Awaitable[bool]], since: float, deadline_s: float
) -> float | None:
    """Seconds from `since` (a perf_counter time) to the end of the first `probe` that
    returned True; a new probe (numbered from 0) starts every PROBE_INTERVAL_S, each with
    its own timeout. None when none succeeded within `deadline_s`."""
    client = BenchClient(MAX_PROBES_IN_FLIGHT, PROBE_TIMEOUT_S)
    succeeded = asyncio.Event()
    first: list[float] = []
    probes: set[asyncio.Task[None]] = set()

    async def run(number: int) -> None:
        if await probe(client, number) and not first:
            first.append(time.perf_counter() - since)
            succeeded.set()

    try:
        for number in range(int(deadline_s / PROBE_INTERVAL_S)):
            task = asyncio.create_task(run(number))
            probes.add(task)
            task.add_done_callback(probes.discard)
            try:
                await asyncio.wait_for(succeeded.wait(), PROBE_INTERVAL_S)
                break
            except TimeoutError:
                continue
    finally:
        for task in list(probes):
            task.cancel()
        await asyncio.gather(*probes, return_exceptions=True)
        await client.close()
    return first[0] if first else None


async def failover_once(
    cluster: LocalCluster, protocol: KvProtocol, http: aiohttp.ClientSession, deadline_s: float
) -> float | None:
    """Waits for a settled cluster, kills its leader, times the first write through the next
    member, then restarts the killed member with its data and waits for an agreed leader."""
    if cluster.timings is None:
        raise ValueError("failover needs explicit timings so both systems get the same")
    await cluster.wait_for_leader(http, LEADER_TIMEOUT_S)
    # A member restarted in the previous round refuses votes for a while after boot (up to
    # an election timeout): let that pass so every round starts from the same steady state.
    await asyncio.sleep(2 * cluster.timings.election_ms / 1000)
    leader = await cluster.wait_for_leader(http, LEADER_TIMEOUT_S)
    survivor = (leader + 1) % len(cluster.members)
    killed_at = time.perf_counter()
    cluster.members[leader].kill()
    elapsed = await first_write_after(protocol, cluster.base_url(survivor), killed_at, deadline_s)
    cluster.members[leader].start()
    await cluster.wait_for_leader(http, LEADER_TIMEOUT_S)
    return elapsed
