"""SIGKILL at a random moment: every write that returned before the kill is recovered, and
what is recovered is exactly the state after some prefix of the submitted writes.

NB: a SIGKILL does not test fsync (the page cache survives the process); it tests atomicity
and ordering: group commits, snapshot file + meta, truncate + append.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storage_workload import StoreModel, random_op

from raftkv.core.types import BootState
from raftkv.storage import DurableStore

CHILD = Path(__file__).with_name("storage_crash_child.py")
IN_FLIGHT = 4


def run_child_until_killed(data_dir: Path, seed: int, kill_rng: random.Random) -> int:
    """Start the child, kill -9 it after a random number of acks plus a random delay;
    returns the number of writes it reported as returned."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(data_dir), str(seed), str(IN_FLIGHT)],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        target = kill_rng.randint(20, 400)
        acked = 0
        while acked < target:
            line = child.stdout.readline()
            assert line, f"child exited early with {child.wait()}"
            acked = int(line)
        time.sleep(kill_rng.uniform(0, 0.005))
        os.kill(child.pid, signal.SIGKILL)
        for line in child.stdout.read().splitlines():
            acked = int(line)  # acks already in the pipe when the kill landed
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    return acked


def model_states(seed: int, first: int, last: int) -> dict[int, tuple[BootState, bytes | None]]:
    """The model's state after each number of writes in [first, last]."""
    rng, model = random.Random(seed), StoreModel()
    states = {}
    for count in range(last + 1):
        if count >= first:
            states[count] = model.boot()
        model.apply(random_op(rng, model))
    return states


async def recover(data_dir: Path) -> tuple[BootState, bytes | None]:
    store = DurableStore.open(data_dir)
    try:
        return store.recover()
    finally:
        await store.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", [11, 22, 33, 44, 55])
async def test_every_acknowledged_write_survives_sigkill(tmp_path: Path, seed: int) -> None:
    data_dir = tmp_path / "node"
    acked = run_child_until_killed(data_dir, seed, random.Random(seed * 7919))
    recovered = await recover(data_dir)
    # Writes are submitted in order and commit in whole groups, so the disk holds the state
    # after some prefix: at least every acknowledged write, at most those in flight too.
    candidates = model_states(seed, acked, acked + IN_FLIGHT)
    matching = [count for count, state in candidates.items() if state == recovered]
    assert matching, f"seed {seed}: recovered state is no prefix in [{acked}, {acked + IN_FLIGHT}]"
    snapshots = os.listdir(data_dir / "snapshots")
    assert all(name.endswith(".bin") for name in snapshots), snapshots
    assert len(snapshots) <= 1
