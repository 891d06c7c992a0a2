"""A snapshot installed again at the same (term, index) must not replace the committed file's
bytes before its transaction commits.

Root cause of a `test_every_acknowledged_write_survives_sigkill[44]` failure seen under load:
files were named by (term, index) alone, so the second install overwrote the file sqlite still
named; a SIGKILL before the commit recovered the old meta, log and hard state with the new
bytes, a state after no prefix of the writes. A failed commit leaves the disk exactly as a
crash before it does, so these tests fail the commit instead of killing a process.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from storage_workload import _meta

from raftkv.core.ready import InstallSnapshot
from raftkv.core.types import HardState
from raftkv.storage import DurableStore, StorageError
from raftkv.storage.log_db import LogDatabase
from raftkv.storage.log_store import LogStore
from raftkv.storage.requests import PersistRequest


def fail_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    def commit(self: LogDatabase) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(LogDatabase, "commit", commit)


async def recover(data_dir: Path) -> bytes | None:
    store = DurableStore.open(data_dir)
    try:
        return store.recover()[1]
    finally:
        await store.close()


def install(term: int, data: bytes) -> PersistRequest:
    return PersistRequest(HardState(term, 1), (), InstallSnapshot(_meta(5, 2), data))


@pytest.mark.parametrize("installs_in_failed_group", [1, 2])
async def test_reinstall_at_same_index_and_term_keeps_old_bytes_until_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installs_in_failed_group: int
) -> None:
    data_dir = tmp_path / "node"
    store = LogStore(data_dir)  # the writer's side, driven directly to choose the groups
    assert store.commit_group([install(2, b"first")]) == [None]
    assert store.commit_group([install(3, b"committed")]) == [None]
    fail_commits(monkeypatch)
    group = [install(4, b"lost %d" % i) for i in range(installs_in_failed_group)]
    outcomes = store.commit_group(list(group))
    assert all(isinstance(outcome, StorageError) for outcome in outcomes)
    store.close()
    monkeypatch.undo()
    assert await recover(data_dir) == b"committed"
    assert len(list((data_dir / "snapshots").iterdir())) == 1


KILLED_BEFORE_COMMIT = """
import asyncio, os, signal, sys
from pathlib import Path
from raftkv.core.ready import InstallSnapshot
from raftkv.core.types import HardState
from raftkv.storage import DurableStore
from raftkv.storage.log_db import LogDatabase
from storage_workload import _meta

async def main() -> None:
    store = DurableStore.open(Path(sys.argv[1]))
    await store.persist(HardState(2, 1), [], InstallSnapshot(_meta(5, 2), b"committed"))
    LogDatabase.commit = lambda self: os.kill(os.getpid(), signal.SIGKILL)
    await store.persist(HardState(3, 1), [], InstallSnapshot(_meta(5, 2), b"killed"))

asyncio.run(main())
"""


async def test_sigkill_before_the_reinstall_commits_recovers_the_committed_bytes(
    tmp_path: Path,
) -> None:
    """The same window as above with a real SIGKILL (the kill lands between the file write
    and the commit every time, not only when a loaded machine happens to put it there)."""
    data_dir = tmp_path / "node"
    child = subprocess.run(
        [sys.executable, "-c", KILLED_BEFORE_COMMIT, str(data_dir)],
        cwd=Path(__file__).parent,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        timeout=30,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL
    assert await recover(data_dir) == b"committed"
