"""A 3-member cluster of one system on loopback, started and owned by the bench.

`LocalCluster` holds what both systems share: the member processes, their client addresses
and data directories, waiting for an agreed leader, CPU labels by role, memory and disk use,
and teardown. `RaftkvCluster` and `EtcdCluster` say how to spawn a member, how to form the
cluster, how to ask a member who leads and how far it has applied, and how to add a learner.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import msgspec

from raftkv.core.errors import RaftKVError

from .processes import ServerProcess

CLUSTER_SIZE = 3
"""The members a cluster starts with (its voters); learners added later come after them."""
POLL_INTERVAL_S = 0.05
PROBE_TIMEOUT_S = 2.0
T = TypeVar("T")


class ClusterError(RaftKVError):
    """The cluster did not start, form or settle in time."""


@dataclass(frozen=True, slots=True)
class Timings:
    """Raft timings given to both systems alike. etcd randomizes its election timeout in
    [election, 2 x election), so raftkv gets min = election and max = 2 x election."""

    heartbeat_ms: int
    election_ms: int


@dataclass(frozen=True, slots=True)
class MemberStatus:
    """What one member says of itself. Indexes are Raft log indexes, comparable between the
    members of one cluster (not between systems)."""

    leader: int | None
    """The index of the member it takes for the leader; None while it knows of none."""
    term: int
    committed_index: int
    applied_index: int


def dir_bytes(path: Path) -> int:
    """The sizes of every file under `path` added up (0 while it does not exist). A server
    creates and removes files as it runs: one gone between listing and stat counts 0."""
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_size
    return total


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
    """Members 0..2 of one system (3 and up: learners added later); member i serves clients
    at `client_addrs[i]` and keeps its data under `data_dirs[i]`."""

    system: str

    def __init__(self, root: Path, timings: Timings | None) -> None:
        self.root = root
        self.timings = timings
        self.members: list[ServerProcess] = []
        self.client_addrs: list[str] = []
        self.data_dirs: list[Path] = []

    def _spawn(self, name: str, argv: list[str], client_addr: str, data_dir: Path) -> None:
        """Starts the next member (its index is the number of members before it)."""
        member = ServerProcess(name, argv, self.root / f"{name}.log")
        self.members.append(member)
        self.client_addrs.append(client_addr)
        self.data_dirs.append(data_dir)
        member.start()

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

    @abstractmethod
    async def member_status(self, http: aiohttp.ClientSession, index: int) -> MemberStatus | None:
        """Member `index`'s status; None when it does not answer (down, or still starting)."""

    @abstractmethod
    async def add_learner(self, http: aiohttp.ClientSession, timeout_s: float) -> int:
        """Spawns a member with empty data and adds it as a non-voting learner; returns its
        index. The learner may still be catching up when this returns."""

    async def poll_until(
        self, probe: Callable[[], Awaitable[T | None]], timeout_s: float, what: str
    ) -> T:
        """Calls `probe` every POLL_INTERVAL_S until it gives something other than None and
        returns that; raises if a member exited or `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for member in self.members:
                member.check_alive()
            found = await probe()
            if found is not None:
                return found
            await asyncio.sleep(POLL_INTERVAL_S)
        raise ClusterError(f"{self.system}: {what} within {timeout_s:.0f} s")

    async def wait_for_leader(self, http: aiohttp.ClientSession, timeout_s: float) -> int:
        """Polls until the running members agree on a leader; returns its index."""

        async def running_leader() -> int | None:
            leader = await self._agreed_leader(http)
            # Survivors name a killed leader until their election timeout: not a leader.
            return leader if leader is not None and self.members[leader].running else None

        return await self.poll_until(running_leader, timeout_s, "no agreed leader")

    async def wait_for_status(
        self,
        http: aiohttp.ClientSession,
        index: int,
        accept: Callable[[MemberStatus], bool],
        timeout_s: float,
        what: str,
    ) -> MemberStatus:
        """Polls member `index` until its status passes `accept`; returns that status."""

        async def accepted() -> MemberStatus | None:
            status = await self.member_status(http, index)
            return status if status is not None and accept(status) else None

        return await self.poll_until(accepted, timeout_s, what)

    def role_labels(self, leader: int) -> dict[str, ServerProcess]:
        """Members by role for CPU accounting: `leader`, then `follower1`, `follower2`."""
        labels = {"leader": self.members[leader]}
        followers = [m for index, m in enumerate(self.members) if index != leader]
        for number, member in enumerate(followers, start=1):
            labels[f"follower{number}"] = member
        return labels

    def rss_bytes(self) -> list[int]:
        """Resident memory of each member (0 for one that is not running)."""
        return [member.rss_bytes() if member.running else 0 for member in self.members]

    def disk_bytes(self) -> list[int]:
        """Bytes of every file under each member's data directory."""
        return [dir_bytes(path) for path in self.data_dirs]

    def close(self) -> None:
        """Stops every member (SIGTERM, then SIGKILL after a grace period)."""
        for member in self.members:
            member.stop()
