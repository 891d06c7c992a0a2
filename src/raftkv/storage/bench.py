"""Micro-benchmark of the durable store: persists/s and fsyncs/s for 1, 8 and 64 concurrent
writers appending small entries (group commit is what makes the concurrent rows faster).

Run: python -m raftkv.storage.bench [--seconds 2] [--writers 1 8 64] [--entry-bytes 100]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from raftkv.core.types import Entry, EntryKind, HardState

from .store import DurableStore


@dataclass(frozen=True)
class BenchResult:
    writers: int
    seconds: float
    persists: int
    fsyncs: int
    transactions: int
    cpu_seconds: float

    def row(self) -> str:
        per_group = self.persists / max(self.transactions, 1)
        cpu_us = self.cpu_seconds / max(self.persists, 1) * 1e6
        return (
            f"{self.writers:>7} {self.persists / self.seconds:>12,.0f} "
            f"{self.fsyncs / self.seconds:>10,.0f} {per_group:>10.1f} {cpu_us:>13.1f}"
        )


HEADER = (
    f"{'writers':>7} {'persists/s':>12} {'fsyncs/s':>10} {'per-commit':>10} {'cpu us/persist':>13}"
)


async def run_writers(
    data_dir: Path, writers: int, seconds: float, entry_bytes: int
) -> BenchResult:
    """`writers` tasks each persist one entry at a time until `seconds` pass."""
    store = DurableStore.open(data_dir)
    await store.persist(HardState(term=1, vote=0), [])
    before = dict(store.stats)
    next_index = itertools.count(1)
    payload = b"x" * entry_bytes
    deadline = time.monotonic() + seconds

    async def writer() -> None:
        while time.monotonic() < deadline:
            # The index is taken when the write is submitted, so submission order is log order.
            await store.persist(None, [Entry(1, next(next_index), EntryKind.COMMAND, payload)])

    started, cpu_started = time.perf_counter(), time.process_time()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    stats = store.stats
    await store.close()
    return BenchResult(
        writers=writers,
        seconds=elapsed,
        persists=stats["persists"] - before["persists"],
        fsyncs=stats["fsyncs"] - before["fsyncs"],
        transactions=stats["transactions"] - before["transactions"],
        cpu_seconds=cpu,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m raftkv.storage.bench", description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="duration of each row")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--entry-bytes", type=int, default=100)
    parser.add_argument("--dir", type=Path, default=None, help="parent of the temp data dirs")
    args = parser.parse_args(argv)
    print(HEADER)
    with tempfile.TemporaryDirectory(prefix="raftkv-storage-bench-", dir=args.dir) as temp:
        for writers in args.writers:
            data_dir = Path(temp) / f"writers-{writers}"
            result = asyncio.run(run_writers(data_dir, writers, args.seconds, args.entry_bytes))
            print(result.row(), flush=True)


if __name__ == "__main__":
    main()
