"""Requests waiting on the log: proposals (keyed by index and term) and reads (by read index).

A proposal's waiter outlives a step-down: when its index is applied with its term it succeeded;
applied with another term it was overwritten (`leader_changed`, definite); anything else ends
in the caller's deadline (`timeout`, indeterminate).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from dataclasses import dataclass, field

from raftkv.kv import KvResult

from .wire import ApiFailure


def leader_changed(index: int) -> ApiFailure:
    return ApiFailure(
        503,
        "leader_changed",
        f"the proposal at index {index} was overwritten by a new leader; it was not applied",
    )


def lost_in_snapshot(index: int) -> ApiFailure:
    return ApiFailure(
        504,
        "timeout",
        f"a snapshot replaced the log through index {index}: the outcome is unknown",
        indeterminate=True,
    )


@dataclass
class ProposalWaiters:
    """Waiters by log index; several terms may wait on one index (a proposal overwritten on
    this node can still be committed by a later leader that kept it, so only the applied
    entry's term decides)."""

    _waiting: dict[int, list[tuple[int, asyncio.Future[KvResult]]]] = field(default_factory=dict)

    def __len__(self) -> int:
        return sum(len(waiters) for waiters in self._waiting.values())

    def add(self, index: int, term: int, future: asyncio.Future[KvResult]) -> None:
        self._waiting.setdefault(index, []).append((term, future))

    def applied(self, index: int, term: int, result: KvResult | None) -> None:
        """The entry at `index` was applied; `result` is None for a non-command entry."""
        for wanted_term, future in self._waiting.pop(index, ()):
            if future.done():
                continue
            if wanted_term == term and result is not None:
                future.set_result(result)
            else:
                future.set_exception(leader_changed(index))

    def snapshot_installed(self, last_index: int) -> None:
        """A snapshot covers these indexes: their results are not known here."""
        for index in [i for i in self._waiting if i <= last_index]:
            for _, future in self._waiting.pop(index):
                if not future.done():
                    future.set_exception(lost_in_snapshot(index))

    def fail_all(self, failure: ApiFailure) -> None:
        for waiters in self._waiting.values():
            for _, future in waiters:
                if not future.done():
                    future.set_exception(failure)
        self._waiting.clear()


@dataclass
class ReadWaiters:
    """Linearizable reads: first waiting for the core's read index, then for the apply."""

    _contexts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _by_ctx: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    _by_index: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)

    def register(self, future: asyncio.Future[None]) -> int:
        ctx = next(self._contexts)
        self._by_ctx[ctx] = future
        return ctx

    def forget(self, ctx: int) -> None:
        self._by_ctx.pop(ctx, None)

    def read_state(self, ctx: int, index: int, ok: bool, applied: int, leader: int | None) -> None:
        future = self._by_ctx.pop(ctx, None)
        if future is None or future.done():
            return
        if not ok:
            future.set_exception(
                ApiFailure(
                    503,
                    "no_leader",
                    "leadership could not be confirmed for a linearizable read",
                    leader_id=leader,
                )
            )
        elif index <= applied:
            future.set_result(None)
        else:
            heapq.heappush(self._by_index, (index, ctx, future))

    def applied(self, applied: int) -> None:
        while self._by_index and self._by_index[0][0] <= applied:
            _, _, future = heapq.heappop(self._by_index)
            if not future.done():
                future.set_result(None)

    def fail_all(self, failure: ApiFailure) -> None:
        for future in [*self._by_ctx.values(), *(f for _, _, f in self._by_index)]:
            if not future.done():
                future.set_exception(failure)
        self._by_ctx.clear()
        self._by_index.clear()
