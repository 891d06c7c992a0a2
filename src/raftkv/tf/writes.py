"""The writes of a run: every value a client of the run tried to write, and the last one
acknowledged per key.

Expectations read it: convergence compares the acknowledged values with what the nodes
hold; the invariants tell a value some write of the run may have put there from one that
nobody wrote. Cluster clients handed out by the run record into it themselves
(`RecordingClusterClient`); a workload that talks to nodes its own way calls `attempted`
before and `acknowledge` after each write.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from raftkv.client import ClusterClient

if TYPE_CHECKING:
    import random


class WriteLog:
    """Invariant: every acknowledged (key, value) was first recorded as attempted. Times
    are time.monotonic(); a value written twice keeps its first attempt and first
    acknowledgement."""

    def __init__(self) -> None:
        self.acknowledged: dict[str, str] = {}
        """Key to the value of its last acknowledged write."""
        self._attempted: dict[str, dict[str, float]] = {}
        self._acknowledged_at: dict[tuple[str, str], float] = {}

    def attempted(self, key: str, value: str) -> None:
        """A write of `value` to `key` is about to be sent (it may apply even if it fails)."""
        self._attempted.setdefault(key, {}).setdefault(value, time.monotonic())

    def acknowledge(self, key: str, value: str) -> None:
        self.attempted(key, value)
        self._acknowledged_at.setdefault((key, value), time.monotonic())
        self.acknowledged[key] = value

    def superseded(self, key: str, *, older: str, newer: str) -> bool:
        """Whether the write of `older` was acknowledged before the write of `newer` was
        first sent: then `newer` is the later value for sure, and `older` coming back
        after it is going back in time."""
        acknowledged = self._acknowledged_at.get((key, older))
        sent = self._attempted.get(key, {}).get(newer)
        return acknowledged is not None and sent is not None and acknowledged < sent

    def values(self, key: str) -> frozenset[str] | None:
        """Every value the run tried to write to `key`; None when it never wrote `key`."""
        values = self._attempted.get(key)
        return None if values is None else frozenset(values)


class RecordingClusterClient(ClusterClient):
    """A cluster client that records each write in the run's `WriteLog`."""

    def __init__(
        self,
        addrs: Sequence[str],
        writes: WriteLog,
        *,
        client_id: str | None = None,
        timeout: float = 5.0,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(addrs, client_id=client_id, timeout=timeout, rng=rng)
        self.writes = writes

    async def write(self, key: str, value: str, *, deadline: float | None = None) -> str | None:
        self.writes.attempted(key, value)
        previous = await super().write(key, value, deadline=deadline)
        self.writes.acknowledge(key, value)
        return previous
