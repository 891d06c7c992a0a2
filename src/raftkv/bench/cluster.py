"""A 3-member cluster of one system on loopback, started and owned by the bench.

`LocalCluster` holds what both systems share: the member processes, their client addresses,
waiting for an agreed leader, CPU labels by role, and teardown. `RaftkvCluster` and
`EtcdCluster` say how to spawn a member, how to form the cluster and how to ask who leads.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from raftkv.core.errors import RaftKVError

from .processes import ServerProcess

CLUSTER_SIZE = 3
POLL_INTERVAL_S = 0.05
PROBE_TIMEOUT_S = 2.0


class ClusterError(RaftKVError):
    """The cluster did not start, form or settle in time."""


@dataclass(frozen=True, slots=True)
class Timings:
    """Raft timings given to both systems alike. etcd randomizes its election timeout in
    [election, 2 x election), so raftkv gets min = election and max = 2 x election."""

    heartbeat_ms: int
    election_ms: int


async def http_json(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    body: Any = None,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> tuple[int, Any]:
    """One admin or status request: (status, decoded JSON or None); status 0 on no answer."""
    data = None if body is None else msgspec.json.encode(body)
    try:
        async with http.request(
            method,
            url,
            data=data,
            headers={"Content-Type": "application/json"},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as response:
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0, None
    try:
        return status, msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return status, None


class LocalCluster(ABC):
    """Members 0..2 of one system; member i serves clients at `client_addrs[i]`."""

    system: str

    def __init__(self, root: Path, timings: Timings | None) -> None:
        self.root = root
        self.timings = timings
        self.members: list[ServerProcess] = []
        self.client_addrs: list[str] = []

    def base_url(self, index: int) -> str:
        return f"http://{self.client_addrs[index]}"

    @property
    def base_urls(self) -> list[str]:
        return [self.base_url(index) for index in range(len(self.members))]

    @abstractmethod
    async def start(self, http: aiohttp.ClientSession, timeout_s: float) -> None:
        """Spawns every member and forms the cluster; returns once a leader is agreed."""

    @abstractmethod
    async def _agreed_leader(self, http: aiohttp.ClientSession) -> int | None:
        """The index of the leader every running member agrees on, else None."""

    async def wait_for_leader(self, http: aiohttp.ClientSession, timeout_s: float) -> int:
        """Polls until the running members agree on a leader; returns its index."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for member in self.members:
                member.check_alive()
            leader = await self._agreed_leader(http)
            # Survivors name a killed leader until their election timeout: not a leader.
            if leader is not None and self.members[leader].running:
                return leader
            await asyncio.sleep(POLL_INTERVAL_S)
        raise ClusterError(f"{self.system}: no agreed leader within {timeout_s:.0f} s")

    def role_labels(self, leader: int) -> dict[str, ServerProcess]:
        """Members by role for CPU accounting: `leader`, then `follower1`, `follower2`."""
        labels = {"leader": self.members[leader]}
        followers = [m for index, m in enumerate(self.members) if index != leader]
        for number, member in enumerate(followers, start=1):
            labels[f"follower{number}"] = member
        return labels

    def close(self) -> None:
        """Stops every member (SIGTERM, then SIGKILL after a grace period)."""
        for member in self.members:
            member.stop()
