"""The state-growth load: `clients` writers put unique keys through the leader until `keys`
of them are acknowledged, and every `window` acknowledged keys become one `GrowthWindow`.

Rules the writers keep:
- A key is written until it is acknowledged: a failed attempt (an error answer, a timeout, a
  refused connection) is counted and the same request body is sent again. For raftkv that
  body carries the same client_id and serial, so a retry of a write that was applied after
  all is answered from the session instead of being applied twice.
- A write that has not succeeded within `WRITE_DEADLINE_S` is abandoned and a new key takes
  its place; once `clients` writes were abandoned the cluster has stopped taking writes and
  the load ends with an error.
- Writes go to the member that `LeaderWatch` last saw named leader at the highest term; it
  polls every member's status every `WATCH_INTERVAL_S` and counts (leader, term) changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import aiohttp

from .cluster import ClusterError, LocalCluster, MemberStatus
from .harness import ERROR_BACKOFF_S, BenchClient
from .options import StateGrowthOptions
from .protocol import KvProtocol, WriterSession
from .results import GrowthWindow
from .workloads import value_pool

WATCH_INTERVAL_S = 0.5
WRITE_DEADLINE_S = 60.0
LEADER_TIMEOUT_S = 60.0


def growth_key(index: int) -> str:
    """The key of the index-th write of the load (zero-padded, so keys sort by index)."""
    return f"sg-{index:010d}"


class LeaderWatch:
    """Which member leads, from every member's status, and how often that changed.
    Invariant: `changes` only grows."""

    def __init__(self, leader: int) -> None:
        self.leader = leader
        self.changes = 0
        self._seen: tuple[int, int] | None = None

    def observe(self, statuses: Sequence[MemberStatus | None]) -> None:
        """Takes the leader named at the highest term (members that know of none, or do not
        answer, say nothing); a (leader, term) other than the last one seen is a change."""
        named = [(s.term, s.leader) for s in statuses if s is not None and s.leader is not None]
        if not named:
            return
        term, leader = max(named)
        if self._seen is not None and self._seen != (leader, term):
            self.changes += 1
        self._seen = (leader, term)
        self.leader = leader

    async def run(
        self, cluster: LocalCluster, http: aiohttp.ClientSession, stop: asyncio.Event
    ) -> None:
        """Polls until `stop` is set; raises if a member process exited."""
        while not stop.is_set():
            for member in cluster.members:
                member.check_alive()
            indexes = range(len(cluster.members))
            self.observe(await asyncio.gather(*(cluster.member_status(http, i) for i in indexes)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_INTERVAL_S)


@dataclass(slots=True)
class _Window:
    """The writes acknowledged since the current window began."""

    started: float
    changes_before: int
    latencies_s: list[float] = field(default_factory=list)
    failed: int = 0


@dataclass(frozen=True, slots=True)
class LoadOutcome:
    """The windows, the abandoned writes, and one acknowledged key with its value."""

    windows: list[GrowthWindow]
    abandoned: int
    sample_key: str
    sample_value: str


@dataclass(slots=True)
class _Load:
    """State shared by the writers. Invariant: acked + in_flight <= spec.keys."""

    cluster: LocalCluster
    protocol: KvProtocol
    spec: StateGrowthOptions
    watch: LeaderWatch
    client: BenchClient
    values: list[str]
    on_window: Callable[[GrowthWindow], None]
    window: _Window
    windows: list[GrowthWindow] = field(default_factory=list)
    next_index: int = 0
    in_flight: int = 0
    acked: int = 0
    abandoned: int = 0
    first_acked: int | None = None

    def value_of(self, index: int) -> str:
        return self.values[index % len(self.values)]


async def load_keys(
    cluster: LocalCluster,
    protocol: KvProtocol,
    http: aiohttp.ClientSession,
    spec: StateGrowthOptions,
    *,
    request_timeout_s: float,
    seed: int,
    on_window: Callable[[GrowthWindow], None],
) -> LoadOutcome:
    """Writes `spec.keys` unique keys; `on_window` sees each window as it closes."""
    watch = LeaderWatch(await cluster.wait_for_leader(http, LEADER_TIMEOUT_S))
    load = _Load(
        cluster=cluster,
        protocol=protocol,
        spec=spec,
        watch=watch,
        client=BenchClient(spec.clients, request_timeout_s),
        values=value_pool(random.Random(seed), value_bytes=spec.value_bytes),
        on_window=on_window,
        window=_Window(started=time.perf_counter(), changes_before=0),
    )
    stop = asyncio.Event()
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(watch.run(cluster, http, stop))
            writers = [group.create_task(_writer(load, n)) for n in range(spec.clients)]
            await asyncio.wait(writers)
            stop.set()
    except ExceptionGroup as errors:
        raise errors.exceptions[0] from None
    finally:
        await load.client.close()
    if load.first_acked is None:
        raise ClusterError(f"{cluster.system}: the state-growth load acknowledged no write")
    index = load.first_acked
    return LoadOutcome(load.windows, load.abandoned, growth_key(index), load.value_of(index))


async def _writer(load: _Load, number: int) -> None:
    """One client: the next unwritten key, one at a time, until enough are acknowledged."""
    session = WriterSession(client_id=f"bench-growth-{secrets.token_hex(8)}-{number}")
    while load.acked + load.in_flight < load.spec.keys:
        index = load.next_index
        load.next_index += 1
        load.in_flight += 1
        try:
            latency = await _put(load, index, session)
        finally:
            load.in_flight -= 1
        if latency is None:
            _abandon(load)
        else:
            _acknowledge(load, index, latency)


async def _put(load: _Load, index: int, session: WriterSession) -> float | None:
    """Seconds from the first attempt to the acknowledgement; None when abandoned."""
    protocol = load.protocol
    body = protocol.write_body(growth_key(index), load.value_of(index), session)
    started = time.perf_counter()
    while time.perf_counter() - started < WRITE_DEADLINE_S:
        url = load.cluster.base_url(load.watch.leader) + protocol.write_path
        status, answer, _ = await load.client.post(url, body)
        if protocol.succeeded(status, answer):
            return time.perf_counter() - started
        load.window.failed += 1
        await asyncio.sleep(ERROR_BACKOFF_S)
    return None


def _abandon(load: _Load) -> None:
    load.abandoned += 1
    if load.abandoned >= load.spec.clients:
        raise ClusterError(
            f"{load.cluster.system}: {load.abandoned} writes failed for "
            f"{WRITE_DEADLINE_S:.0f} s each: the cluster stopped taking writes"
        )


def _acknowledge(load: _Load, index: int, latency_s: float) -> None:
    load.acked += 1
    if load.first_acked is None:
        load.first_acked = index
    load.window.latencies_s.append(latency_s)
    if len(load.window.latencies_s) == load.spec.window or load.acked == load.spec.keys:
        _close_window(load)


def _close_window(load: _Load) -> None:
    """The current window becomes a row (with memory and disk sampled now); a new one
    starts."""
    now, window, cluster = time.perf_counter(), load.window, load.cluster
    row = GrowthWindow.of(
        cluster.system,
        keys=load.acked,
        seconds=now - window.started,
        latencies_s=window.latencies_s,
        failed=window.failed,
        leader_changes=load.watch.changes - window.changes_before,
        rss_bytes=cluster.rss_bytes(),
        disk_bytes=cluster.disk_bytes(),
    )
    load.windows.append(row)
    load.on_window(row)
    load.window = _Window(started=now, changes_before=load.watch.changes)
