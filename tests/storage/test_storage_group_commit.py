"""Group commit: concurrent writes share transactions, complete in submission order, and the
event loop keeps running while the writer thread works."""

from __future__ import annotations

import asyncio
from pathlib import Path

from raftkv.core.types import Entry, EntryKind, HardState
from raftkv.storage import DurableStore


async def test_concurrent_persists_share_transactions_and_complete_in_order(tmp_path: Path) -> None:
    store = DurableStore.open(tmp_path / "node")
    completed: list[int] = []

    async def append(index: int) -> None:
        await store.persist(None, [Entry(1, index, EntryKind.COMMAND, b"v%d" % index)])
        completed.append(index)

    await store.persist(HardState(1, 1), [])
    # Tasks start in creation order, so submission order is index order.
    await asyncio.gather(*(append(i) for i in range(1, 201)))
    assert completed == list(range(1, 201))
    assert store.stats["persists"] == 201
    assert store.stats["transactions"] < 201
    await store.close()

    recovering = DurableStore.open(tmp_path / "node")
    boot, _ = recovering.recover()
    await recovering.close()
    assert [e.index for e in boot.entries] == list(range(1, 201))


async def test_one_refused_write_does_not_fail_its_group(tmp_path: Path) -> None:
    store = DurableStore.open(tmp_path / "node")
    good_first = store.persist(None, [Entry(1, 1, EntryKind.BLANK)])
    gap = store.persist(None, [Entry(1, 9, EntryKind.BLANK)])
    good_second = store.persist(None, [Entry(1, 2, EntryKind.BLANK)])
    outcomes = await asyncio.gather(good_first, gap, good_second, return_exceptions=True)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ValueError)
    boot, _ = store.recover()
    assert [e.index for e in boot.entries] == [1, 2]
    await store.close()


async def test_the_event_loop_runs_while_a_large_write_commits(tmp_path: Path) -> None:
    store = DurableStore.open(tmp_path / "node")
    big = [Entry(1, i, EntryKind.COMMAND, b"x" * 100) for i in range(1, 50_001)]
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    await store.persist(HardState(1, 1), big)
    ticking.cancel()
    await store.close()
    assert ticks > 10, "the loop was blocked while the writer thread committed"


async def test_recover_sees_writes_queued_before_it(tmp_path: Path) -> None:
    store = DurableStore.open(tmp_path / "node")
    pending = asyncio.ensure_future(store.persist(HardState(5, 2), []))
    await asyncio.sleep(0)  # let the task submit its write
    boot, _ = store.recover()
    assert boot.hard_state == HardState(5, 2)
    await pending
    await store.close()
