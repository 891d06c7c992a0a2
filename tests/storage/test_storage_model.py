"""Random valid write sequences: the store recovers exactly what the reference model holds."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from storage_workload import PersistOp, StoreModel, random_op

from raftkv.storage import DurableStore


async def run_sequence(data_dir: Path, seed: int, op_count: int, reopen_every: int) -> None:
    rng, model = random.Random(seed), StoreModel()
    store = DurableStore.open(data_dir)
    try:
        for step in range(op_count):
            op = random_op(rng, model)
            if isinstance(op, PersistOp):
                await store.persist(op.hard_state, op.entries, op.snapshot)
            else:
                await store.save_snapshot(op.meta, op.data)
            model.apply(op)
            assert store.latest_snapshot() == (
                None if model.snapshot is None else (model.snapshot, model.snapshot_data)
            )
            if step % reopen_every == reopen_every - 1:
                await store.close()
                store = DurableStore.open(data_dir)
                assert store.recover() == model.boot(), f"after step {step} (seed {seed})"
        assert store.recover() == model.boot()
    finally:
        await store.close()


@settings(max_examples=25, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32), op_count=st.integers(1, 60), reopen_every=st.integers(1, 20))
def test_store_matches_the_model(seed: int, op_count: int, reopen_every: int) -> None:
    with tempfile.TemporaryDirectory() as temp:
        asyncio.run(run_sequence(Path(temp) / "node", seed, op_count, reopen_every))


def test_long_sequence_with_every_kind_of_write(tmp_path: Path) -> None:
    asyncio.run(run_sequence(tmp_path / "node", seed=7, op_count=600, reopen_every=97))
