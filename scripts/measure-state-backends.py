#!/usr/bin/env python3
"""Measure the two candidate state stores on this machine: SQLite (WAL, synchronous=NORMAL,
bounded page cache) and LMDB (sync off per transaction). Writes N keys of V bytes in batches
of B per transaction (as the node applies one batch per Ready), then reads, then takes a
consistent copy while measuring. Prints per-write cost, RSS and copy time.

    python3 scripts/measure-state-backends.py --keys 200000 --value-bytes 1000
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sqlite_run(root: Path, keys: list[str], value: str, batch: int, cache_mb: int) -> dict[str, float]:
    conn = sqlite3.connect(root / "state.sqlite3", isolation_level=None)
    conn.execute("PRAGMA page_size=16384")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
    conn.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL)")  # as StateStore
    start = time.perf_counter()
    for i in range(0, len(keys), batch):
        conn.execute("BEGIN")
        for key in keys[i : i + batch]:
            conn.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
            conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))
        conn.execute("COMMIT")
    write_us = (time.perf_counter() - start) / len(keys) * 1e6
    sample = random.Random(1).sample(keys, 20000)
    start = time.perf_counter()
    for key in sample:
        conn.execute("SELECT value FROM kv WHERE key=?", (key,)).fetchone()
    read_us = (time.perf_counter() - start) / len(sample) * 1e6
    start = time.perf_counter()
    conn.execute("VACUUM INTO ?", (str(root / "copy.sqlite3"),))
    copy_s = time.perf_counter() - start
    rss = rss_mb()
    conn.close()
    return {"write_us": write_us, "read_us": read_us, "copy_s": copy_s, "rss_mb": rss}


def lmdb_run(root: Path, keys: list[str], value: str, batch: int, cache_mb: int) -> dict[str, float]:
    import lmdb

    env = lmdb.open(str(root / "state.lmdb"), map_size=64 << 30, sync=False, metasync=False)
    encoded = value.encode()
    start = time.perf_counter()
    for i in range(0, len(keys), batch):
        with env.begin(write=True) as txn:
            for key in keys[i : i + batch]:
                k = key.encode()
                txn.get(k)
                txn.put(k, encoded)
    write_us = (time.perf_counter() - start) / len(keys) * 1e6
    sample = random.Random(1).sample(keys, 20000)
    start = time.perf_counter()
    with env.begin() as txn:
        for key in sample:
            txn.get(key.encode())
    read_us = (time.perf_counter() - start) / len(sample) * 1e6
    start = time.perf_counter()
    (root / "copy").mkdir()
    env.copy(str(root / "copy"), compact=True)
    copy_s = time.perf_counter() - start
    rss = rss_mb()  # while the map is open: pages read through it count
    env.close()
    return {"write_us": write_us, "read_us": read_us, "copy_s": copy_s, "rss_mb": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--value-bytes", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--cache-mb", type=int, default=32, help="SQLite page cache")
    parser.add_argument(
        "--pattern",
        choices=["random", "streams"],
        default="random",
        help="random keys, or 64 clients each writing increasing keys (the bench's load)",
    )
    parser.add_argument("--backend", choices=["sqlite", "lmdb"], required=True)
    args = parser.parse_args()
    keys = [f"key-{i:012d}" for i in range(args.keys)]
    if args.pattern == "random":
        random.Random(2).shuffle(keys)
    value = "v" * args.value_bytes
    root = Path(tempfile.mkdtemp(prefix="state-backend-"))
    try:
        run = sqlite_run if args.backend == "sqlite" else lmdb_run
        result = run(root, keys, value, args.batch, args.cache_mb)
        disk = sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) / 2**20
        print(args.backend, args.pattern, f"cache={args.cache_mb}MB", {k: round(v, 2) for k, v in result.items()}, f"disk_mb={disk:.0f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    os.nice(0)
    main()
