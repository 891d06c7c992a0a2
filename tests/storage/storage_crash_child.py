"""Child process of the SIGKILL test: applies the seeded workload to a store, several writes in
flight at once, and prints the number of each write on stdout once it has returned.

Usage: python storage_crash_child.py DATA_DIR SEED IN_FLIGHT
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections import deque
from pathlib import Path

from storage_workload import PersistOp, StoreModel, random_op

from raftkv.storage import DurableStore


async def main(data_dir: Path, seed: int, in_flight: int) -> None:
    rng, model = random.Random(seed), StoreModel()
    store = DurableStore.open(data_dir)
    pending: deque[asyncio.Task[None]] = deque()
    number = 0
    while True:  # until the parent kills us
        op = random_op(rng, model)
        model.apply(op)
        if isinstance(op, PersistOp):
            write = store.persist(op.hard_state, op.entries, op.snapshot)
        else:
            write = store.save_snapshot(op.meta, op.data)
        pending.append(asyncio.ensure_future(write))
        if len(pending) >= in_flight:
            await pending.popleft()
            number += 1
            sys.stdout.write(f"{number}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])))
