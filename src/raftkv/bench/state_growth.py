"""State growth: how a system behaves as its data grows, and what the data then costs when a
member restarts, joins, or the whole cluster comes back.

On a fresh cluster (the failover timings), one system at a time:
1. Load (`growth_load`): unique keys until `keys` are acknowledged, one row per window.
2. Follower restart: `kill -9` a follower, restart it on its data; seconds until it has
   applied what the leader had committed right after the restart began.
3. New learner: a member with empty data joins as a learner; seconds from the first step of
   adding it (raftkv: starting its process, which must answer before it is added; etcd:
   `member add --learner`, then the process) until it has applied what the leader had
   committed once it was added. MB/s is the leader's data size over that time.
4. Full restart: `kill -9` every member, start them all on their data; seconds until a
   linearizable read of a loaded key returns its value.

A step that fails or times out is reported as not measured, with the reason, and the next
step still runs: a number is never made up.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp

from raftkv.core.errors import RaftKVError

from .cluster import CLUSTER_SIZE, ClusterError, LocalCluster
from .failover import first_success_after
from .growth_load import LEADER_TIMEOUT_S, LoadOutcome, load_keys
from .harness import BenchClient
from .options import BenchOptions
from .protocol import KvProtocol, protocol_for
from .results import GrowthWindow, StateGrowthRecord, Timed

CATCH_UP_TIMEOUT_S = 600.0
"""For each restart and catch-up: a learner may have gigabytes to copy."""
SETTLE_S = 6.0
"""Before adding the learner. etcd refuses a member add until every voter has been connected
for 5 s (its strict reconfiguration check), and the follower just restarted."""


async def measure_state_growth(
    cluster: LocalCluster,
    http: aiohttp.ClientSession,
    options: BenchOptions,
    on_window: Callable[[GrowthWindow], None],
) -> StateGrowthRecord:
    """Runs the four steps on a started cluster (it is left running, learner included)."""
    spec, protocol = options.state_growth, protocol_for(cluster.system)
    loaded = await load_keys(
        cluster,
        protocol,
        http,
        spec,
        request_timeout_s=options.request_timeout_s,
        seed=options.seed,
        on_window=on_window,
    )
    follower = await _timed(restart_follower(cluster, http))
    await asyncio.sleep(SETTLE_S)
    try:
        seconds, leader_bytes = await catch_up_learner(cluster, http)
        learner = Timed(seconds)
    except RaftKVError as exc:
        learner, leader_bytes = Timed(None, str(exc)), 0
    full = await _timed(restart_all(cluster, protocol, loaded))
    return StateGrowthRecord(
        system=cluster.system,
        value_bytes=spec.value_bytes,
        clients=spec.clients,
        windows=loaded.windows,
        abandoned=loaded.abandoned,
        follower_restart=follower,
        learner_catch_up=learner,
        learner_bytes=leader_bytes,
        full_restart=full,
    )


async def _timed(step: Awaitable[float]) -> Timed:
    try:
        return Timed(await step)
    except RaftKVError as exc:
        return Timed(None, str(exc))


async def _committed_index(cluster: LocalCluster, http: aiohttp.ClientSession, index: int) -> int:
    status = await cluster.wait_for_status(
        http, index, lambda _: True, LEADER_TIMEOUT_S, f"no status from member {index}"
    )
    return status.committed_index


async def _wait_applied(
    cluster: LocalCluster, http: aiohttp.ClientSession, index: int, target: int
) -> None:
    await cluster.wait_for_status(
        http,
        index,
        lambda status: status.applied_index >= target,
        CATCH_UP_TIMEOUT_S,
        f"member {index} did not apply up to index {target}",
    )


async def restart_follower(cluster: LocalCluster, http: aiohttp.ClientSession) -> float:
    """Seconds from `kill -9` of a follower until, restarted on its data, it has applied
    what the leader had committed right after the restart began."""
    leader = await cluster.wait_for_leader(http, LEADER_TIMEOUT_S)
    follower = (leader + 1) % CLUSTER_SIZE
    started = time.perf_counter()
    cluster.members[follower].kill()
    cluster.members[follower].start()
    target = await _committed_index(cluster, http, leader)
    await _wait_applied(cluster, http, follower, target)
    return time.perf_counter() - started


async def catch_up_learner(cluster: LocalCluster, http: aiohttp.ClientSession) -> tuple[float, int]:
    """Seconds from the first step of adding an empty learner until it has applied what
    the leader had committed once the learner was added, and the leader's data bytes."""
    leader = await cluster.wait_for_leader(http, LEADER_TIMEOUT_S)
    leader_bytes = cluster.disk_bytes()[leader]
    started = time.perf_counter()
    learner = await cluster.add_learner(http, CATCH_UP_TIMEOUT_S)
    target = await _committed_index(cluster, http, leader)
    await _wait_applied(cluster, http, learner, target)
    return time.perf_counter() - started, leader_bytes


async def restart_all(cluster: LocalCluster, protocol: KvProtocol, loaded: LoadOutcome) -> float:
    """Seconds from starting every member again (after `kill -9` of all of them) until a
    linearizable read of a loaded key, through any voter, returns its value."""
    running = [member for member in cluster.members if member.running]
    for member in cluster.members:
        member.kill()
    started = time.perf_counter()
    for member in running:
        member.start()
    voters = cluster.base_urls[:CLUSTER_SIZE]
    body = protocol.read_body(loaded.sample_key)

    async def read(client: BenchClient, number: int) -> bool:
        url = voters[number % len(voters)] + protocol.read_path
        status, answer, _ = await client.post(url, body)
        return protocol.succeeded(status, answer) and (
            protocol.read_value(answer) == loaded.sample_value
        )

    elapsed = await first_success_after(read, started, CATCH_UP_TIMEOUT_S)
    if elapsed is None:
        raise ClusterError(
            f"{cluster.system}: no linearizable read of {loaded.sample_key} returned its value "
            f"within {CATCH_UP_TIMEOUT_S:.0f} s of the restart"
        )
    return elapsed
