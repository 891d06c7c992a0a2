"""Start-up reconciles the state store with the recovered log, whatever step a crash cut:
an install cut short is finished, a store that cannot fit the log is refused, never reset."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from raftkv.core import Entry, EntryKind
from raftkv.kv import Put, StateStore, encode_command
from raftkv.kv.state_files import copy_state
from raftkv.node.state_snapshots import (
    BACKGROUND_CHECKPOINT_BYTES,
    DamagedState,
    StateFiles,
    install_token,
    reconcile_at_start,
)


def puts(first: int, last: int) -> list[Entry]:
    return [
        Entry(1, i, EntryKind.COMMAND, encode_command(Put(f"k{i}", f"v{i}", "c", i)))
        for i in range(first, last + 1)
    ]


def node_files(directory: Path, applied: int) -> StateFiles:
    directory.mkdir(parents=True, exist_ok=True)
    store = StateStore(directory / "state.sqlite3")
    store.apply_entries(puts(1, applied))
    store.commit()
    (directory / "snapshots").mkdir(exist_ok=True)
    return StateFiles(store, directory / "snapshots")


def staged_install(tmp_path: Path, files: StateFiles, index: int) -> bytes:
    """A verified snapshot at `index`, as the receiving route leaves it."""
    leader = node_files(tmp_path / "leader", index)
    copy = copy_state(leader.store.path, tmp_path / "leader" / "copy.sqlite3")
    dest = files.install_path(index)
    copy.path.replace(dest)
    leader.close()
    return install_token(dest.name)


def test_an_install_cut_short_after_its_persist_is_finished(tmp_path: Path) -> None:
    files = node_files(tmp_path / "node", 10)
    token = staged_install(tmp_path, files, 50)
    # The log store recorded snapshot 50 (Persist); the crash came before the swap.
    done = reconcile_at_start(files, snapshot_index=50, last_index=50, data=token)
    assert done == "finished installing snapshot 50"
    assert files.store.applied_index == 50 and files.store.get("k42") == "v42"
    assert not list(files.directory.glob("install-*"))
    files.close()


def test_a_swap_that_completed_leaves_nothing_behind(tmp_path: Path) -> None:
    files = node_files(tmp_path / "node", 60)
    token = staged_install(tmp_path, files, 50)  # e.g. a stale file never installed
    (files.directory / "recv-2.part").write_bytes(b"half a transfer")
    (files.directory / "send-copy.sqlite3.partial").write_bytes(b"a copy cut short")
    (files.directory / "send-41.sqlite3").write_bytes(b"a copy for a follower")
    done = reconcile_at_start(files, snapshot_index=50, last_index=70, data=token)
    assert done == "state store at 60"
    assert list(files.directory.iterdir()) == []
    files.close()


def test_a_missing_install_file_is_refused_not_reset(tmp_path: Path) -> None:
    files = node_files(tmp_path / "node", 10)
    token = install_token("install-50-0123456789abcdef.sqlite3")
    with pytest.raises(DamagedState, match="compacted through 50"):
        reconcile_at_start(files, snapshot_index=50, last_index=50, data=token)
    assert files.store.applied_index == 10
    files.close()


def test_a_store_behind_a_compacted_log_is_refused(tmp_path: Path) -> None:
    files = node_files(tmp_path / "node", 10)
    with pytest.raises(DamagedState, match="is at index 10 but the log was compacted through 40"):
        reconcile_at_start(files, snapshot_index=40, last_index=90, data=b"")
    files.close()


def test_a_store_beyond_the_durable_log_is_refused(tmp_path: Path) -> None:
    files = node_files(tmp_path / "node", 30)
    with pytest.raises(DamagedState, match="beyond the durable log"):
        reconcile_at_start(files, snapshot_index=0, last_index=20, data=None)
    files.close()


def test_a_data_directory_from_before_the_state_store_is_migrated(tmp_path: Path) -> None:
    from raftkv.kv import KvStateMachine

    memory = KvStateMachine()
    memory.apply_entries(puts(1, 25))
    files = node_files(tmp_path / "node", 0)
    done = reconcile_at_start(files, snapshot_index=25, last_index=30, data=memory.snapshot())
    assert "older version" in done
    assert files.store.applied_index == 25
    assert files.store.digest.value == memory.digest.value
    assert files.store.scan("", None, 100) == sorted(memory.kv.items())
    files.close()


@pytest.mark.parametrize("crash_at", range(1, 9))
def test_a_sigkill_at_any_step_of_an_install_recovers_the_new_state(
    tmp_path: Path, crash_at: int
) -> None:
    """The log store recorded snapshot 50 (its Persist came first); the process dies at one
    step of swapping the state file in, with the old store's WAL still holding writes. The
    next start finishes the install, or finds it done: the state is the snapshot's, whole."""
    files = node_files(tmp_path / "node", 10)
    files.store.apply_entries(puts(11, 20))
    files.store.commit()  # in the WAL, not checkpointed
    token = staged_install(tmp_path, files, 50)
    expected = StateStore(tmp_path / "leader" / "state.sqlite3")
    want = (expected.digest.value, expected.scan("", None, 100))
    files.store.close()
    child = Path(__file__).with_name("install_crash_child.py")
    name = token.decode()
    result = subprocess.run(
        [sys.executable, str(child), str(tmp_path / "node"), name, str(crash_at)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    crashed = result.returncode == -signal.SIGKILL
    assert crashed or result.returncode == 0, result.stderr
    files = node_files(tmp_path / "node", 0)
    reconcile_at_start(files, snapshot_index=50, last_index=50, data=token)
    assert files.store.applied_index == 50
    assert (files.store.digest.value, files.store.scan("", None, 100)) == want
    files.close()
    if not crashed:
        assert "completed" in result.stdout and crash_at > 6  # every step was reached before


async def test_a_background_checkpoint_halfway_leaves_less_for_the_driver_to_wait_on(
    tmp_path: Path,
) -> None:
    files = node_files(tmp_path, 0)
    store = files.store
    index = 0
    while store.written_bytes < BACKGROUND_CHECKPOINT_BYTES:
        big = Put(f"k{index + 1}", "x" * 1000, "c", index + 1)
        store.apply_entries([Entry(1, index + 1, EntryKind.COMMAND, encode_command(big))])
        index += 1
    files.start_background_checkpoint()
    background = files._background
    assert background is not None
    await background
    copied = (tmp_path / "state.sqlite3").stat().st_size
    assert copied > BACKGROUND_CHECKPOINT_BYTES // 4  # the WAL's pages are in the file now
    assert files.durable_index == 0  # a passive checkpoint is never counted as durable
    store.apply_entries(puts(index + 1, index + 10))
    index += 10
    assert await files.checkpoint() == index
    assert files.durable_index == index and files._background is None
    wal = tmp_path / "state.sqlite3-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    files.close()
