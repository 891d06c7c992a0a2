"""Proposal and read waiters: what each outcome of the log means for the waiting client."""

from __future__ import annotations

import asyncio

import pytest

from raftkv.kv import KvResult
from raftkv.node.waiters import ProposalWaiters, ReadWaiters
from raftkv.node.wire import ApiFailure

DONE = KvResult(ok=True, previous="old")


def failure_of(future: asyncio.Future[object]) -> ApiFailure:
    exc = future.exception()
    assert isinstance(exc, ApiFailure)
    return exc


async def test_applied_with_the_proposal_term_is_success() -> None:
    waiters, future = ProposalWaiters(), asyncio.get_running_loop().create_future()
    waiters.add(5, 2, future)
    waiters.applied(5, 2, DONE)
    assert future.result() == DONE and len(waiters) == 0


@pytest.mark.parametrize(
    ("term", "result"), [(3, DONE), (2, None)], ids=["other-term", "blank-at-index"]
)
async def test_overwritten_proposal_is_a_definite_leader_changed(
    term: int, result: KvResult | None
) -> None:
    waiters, future = ProposalWaiters(), asyncio.get_running_loop().create_future()
    waiters.add(5, 2, future)
    waiters.applied(5, term, result)
    failure = failure_of(future)
    assert (failure.status, failure.code, failure.indeterminate) == (503, "leader_changed", False)


async def test_two_terms_waiting_on_one_index_are_told_apart() -> None:
    loop = asyncio.get_running_loop()
    waiters = ProposalWaiters()
    old, new = loop.create_future(), loop.create_future()
    waiters.add(7, 1, old)
    waiters.add(7, 4, new)
    waiters.applied(7, 1, DONE)
    assert old.result() == DONE
    assert failure_of(new).code == "leader_changed"


async def test_a_snapshot_over_a_proposal_makes_it_indeterminate() -> None:
    loop = asyncio.get_running_loop()
    waiters = ProposalWaiters()
    covered, later = loop.create_future(), loop.create_future()
    waiters.add(3, 1, covered)
    waiters.add(9, 1, later)
    waiters.snapshot_installed(5)
    failure = failure_of(covered)
    assert (failure.code, failure.indeterminate) == ("timeout", True)
    assert not later.done() and len(waiters) == 1


async def test_a_timed_out_waiter_is_skipped_quietly() -> None:
    waiters, future = ProposalWaiters(), asyncio.get_running_loop().create_future()
    waiters.add(5, 2, future)
    future.cancel()
    waiters.applied(5, 2, DONE)
    assert len(waiters) == 0


async def test_read_waits_for_the_apply_to_reach_its_index() -> None:
    reads = ReadWaiters()
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    ctx = reads.register(future)
    reads.read_state(ctx, index=10, ok=True, applied=8, leader=0)
    assert not future.done()
    reads.applied(9)
    assert not future.done()
    reads.applied(10)
    assert future.done() and future.result() is None


async def test_read_already_applied_is_served_at_once() -> None:
    reads = ReadWaiters()
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    reads.read_state(reads.register(future), index=4, ok=True, applied=4, leader=0)
    assert future.done()


async def test_unconfirmed_read_fails_with_no_leader() -> None:
    reads = ReadWaiters()
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    reads.read_state(reads.register(future), index=0, ok=False, applied=4, leader=2)
    failure = failure_of(future)
    assert (failure.status, failure.code, failure.details) == (503, "no_leader", {"leader_id": 2})


async def test_forgotten_read_ignores_a_late_answer() -> None:
    reads = ReadWaiters()
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    ctx = reads.register(future)
    reads.forget(ctx)
    reads.read_state(ctx, index=1, ok=True, applied=1, leader=0)
    assert not future.done()
