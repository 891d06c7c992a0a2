"""The node's state store on disk and the files around it, with every whole-file operation on
one worker thread (they take time in proportion to the data; the event loop never waits on
them, it awaits them).

Files in `snapshots/` of the data directory:
- `send-<index>.sqlite3`: the latest consistent copy of the state, taken when a follower needs
  a snapshot and reused while it is at least as new as the one the core names;
- `recv-<peer>.part`: a snapshot arriving in chunks from `peer`;
- `install-<index>-<random>.sqlite3`: a received, verified snapshot waiting to be installed.

How a snapshot travels through the core: the core's `InstallSnapshot.data` (and the log
store's record of the snapshot) is opaque to both; here it is `install_token(name)`, the name
of a verified install file, or empty for a snapshot the node took itself (the state store
holds that state durably: see `compact` in driver.py).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from raftkv.core import SnapshotMeta
from raftkv.kv import StateStore
from raftkv.kv.state_files import (
    StateFile,
    checkpoint,
    checkpoint_in_background,
    copy_state,
    install_state_file,
)

T = TypeVar("T")
INSTALL_PREFIX = b"install-"
_INSTALL_NAME = re.compile(r"install-(\d+)-[0-9a-f]{16}\.sqlite3")
_SEND_NAME = re.compile(r"send-(\d+|copy)\.sqlite3(\.partial)?")
_RECV_NAME = re.compile(r"recv-\d+\.part")


def install_token(name: str) -> bytes:
    return name.encode()


def token_install_name(data: bytes) -> str | None:
    """The install file a snapshot's data names, or None (a snapshot the node took)."""
    if not data.startswith(INSTALL_PREFIX):
        return None
    name = data.decode(errors="replace")
    return name if _INSTALL_NAME.fullmatch(name) else None


@dataclass(frozen=True, slots=True)
class SnapshotToSend:
    """A state file and the snapshot meta it holds (at `meta.last_index`)."""

    meta: SnapshotMeta
    file: StateFile


CHECKPOINT_BYTES = 8 << 20
"""Bytes written to the state store between two checkpoints (the WAL stays about this size,
and the driver's pause for a checkpoint stays short)."""
BACKGROUND_CHECKPOINT_BYTES = CHECKPOINT_BYTES // 2
"""Halfway, a passive checkpoint copies and syncs the WAL while writes go on; the checkpoint
the driver waits for then has half as much to do (measured with 1 KB values: a 50 ms pause
became 20 ms)."""


class StateFiles:
    """The state store, its snapshot directory, and two threads for whole-file work: one for
    checkpoints (short, awaited by the driver), one for copies and installs (long)."""

    def __init__(self, store: StateStore, directory: Path) -> None:
        self.store = store
        self.directory = directory
        self.durable_index = 0
        """Invariant: the state store holds everything through here durably. NB: not the
        applied index at start-up: what a restarted process reads back may still sit in the
        page cache, so the first compaction checkpoints first."""
        self._sync_worker = ThreadPoolExecutor(1, thread_name_prefix="raftkv-state-sync")
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="raftkv-state-copy")
        self._send: StateFile | None = None
        self._background: asyncio.Future[None] | None = None
        self._copying = asyncio.Lock()
        self._installing: asyncio.Event = asyncio.Event()
        self._installing.set()

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._worker, fn, *args)

    def checkpoint_due(self, compaction_due: bool) -> bool:
        """Enough written since the last checkpoint, or a compaction waits for one."""
        unsynced = self.store.applied_index > self.durable_index
        return unsynced and (compaction_due or self.store.written_bytes >= CHECKPOINT_BYTES)

    def start_background_checkpoint(self) -> None:
        """Halfway to a checkpoint, start a passive one (never awaited by the driver)."""
        if self._background is not None or self.store.written_bytes < BACKGROUND_CHECKPOINT_BYTES:
            return
        self.store.commit()  # what it copies must be in the WAL
        loop = asyncio.get_running_loop()
        self._background = loop.run_in_executor(
            self._sync_worker, checkpoint_in_background, self.store.path
        )

    async def checkpoint(self) -> int:
        """Make the store durable through its applied index (call it while nothing applies:
        the driver awaits it between two Readies); returns that index."""
        applied = self.store.applied_index
        self.store.commit()
        loop = asyncio.get_running_loop()
        background, self._background = self._background, None
        if background is not None:
            # Its failure changes nothing: the checkpoint below does the whole work again.
            await asyncio.gather(background, return_exceptions=True)
        await loop.run_in_executor(self._sync_worker, checkpoint, self.store.path)
        self.store.written_bytes = 0
        self.durable_index = max(self.durable_index, applied)
        return applied

    async def file_to_send(
        self,
        min_index: int,
        meta_at: Callable[[int], Coroutine[Any, Any, SnapshotMeta | None]],
    ) -> SnapshotToSend | None:
        """A state file at `min_index` or later with its meta (`meta_at` asks the core), or
        None when the core cannot describe the copy (try again when it asks again)."""
        async with self._copying:  # two followers behind at once share one copy
            current = self._send
            if current is None or current.applied_index < min_index:
                self.store.commit()
                fresh = await self.run(
                    copy_state, self.store.path, self.directory / "send-copy.sqlite3"
                )
                name = self.directory / f"send-{fresh.applied_index}.sqlite3"
                fresh = await self.run(_rename, fresh, name)
                if current is not None and current.path != fresh.path:
                    current.path.unlink(
                        missing_ok=True
                    )  # a transfer still reading it keeps its handle
                self._send = current = fresh
        meta = await meta_at(current.applied_index)
        return None if meta is None else SnapshotToSend(meta, current)

    def install_path(self, index: int) -> Path:
        return self.directory / f"install-{index}-{secrets.token_hex(8)}.sqlite3"

    async def install(self, data: bytes) -> None:
        """Swap in the install file `data` names (the log store has made it the log's base)."""
        name = token_install_name(data)
        if name is None:
            raise ValueError(f"snapshot data {data[:40]!r} names no install file")
        self._installing.clear()
        try:
            await self.run(self.store.close)  # closing checkpoints the WAL: not on the loop
            await self.run(install_state_file, self.directory / name, self.store.path)
        finally:
            self.store.reopen()
            self._installing.set()
        self.durable_index = self.store.applied_index  # the installed file was fsynced

    async def readable(self) -> StateStore:
        """The store, once no install is swapping it."""
        await self._installing.wait()
        return self.store

    def remove_stale_installs(self, applied_index: int) -> None:
        """Install files at or below the applied index can never be installed (the core
        installs only snapshots beyond its commit index)."""
        for path in self.directory.glob("install-*.sqlite3"):
            match = _INSTALL_NAME.fullmatch(path.name)
            if match is not None and int(match.group(1)) <= applied_index:
                path.unlink(missing_ok=True)

    def remove_leftovers(self, keep: str | None) -> None:
        """At start-up: partial transfers and copies, and install files but `keep`."""
        for path in self.directory.iterdir():
            name = path.name
            leftover = _SEND_NAME.fullmatch(name) or _RECV_NAME.fullmatch(name)
            if leftover or (_INSTALL_NAME.fullmatch(name) and name != keep):
                path.unlink(missing_ok=True)

    def close(self) -> None:
        self._sync_worker.shutdown(wait=True)
        self._worker.shutdown(wait=True)
        self.store.close()


def _rename(file: StateFile, path: Path) -> StateFile:
    file.path.replace(path)
    return StateFile(path, file.applied_index, file.size, file.sha256)


class DamagedState(Exception):
    """The state store and the log do not fit together; the node refuses to start."""


def reconcile_at_start(
    files: StateFiles, snapshot_index: int, last_index: int, data: bytes | None
) -> str:
    """Bring the state store in line with the recovered log before anything is served; returns
    what was done (for the start-up log line).

    - store behind the log's base and an install file recorded: an install was cut short, so
      finish it (the file was verified when it arrived);
    - store behind the log's base otherwise: the state those entries built is gone (refused);
    - store beyond the durable log: it holds state the log never made durable (refused).
    """
    store = files.store
    install_name = token_install_name(data or b"")
    files.remove_leftovers(keep=install_name)
    if store.applied_index < snapshot_index and data and install_name is None:
        store.load_memory_snapshot(data)  # a data directory written before the state store
        return f"state store built from the snapshot at {store.applied_index} of an older version"
    if store.applied_index < snapshot_index:
        if install_name is None or not (files.directory / install_name).exists():
            raise DamagedState(
                f"the state store {store.path} is at index {store.applied_index} but the log "
                f"was compacted through {snapshot_index}; the data directory is damaged"
            )
        store.close()
        install_state_file(files.directory / install_name, store.path)
        store.reopen()
        if store.applied_index != snapshot_index:
            raise DamagedState(
                f"the recorded snapshot file {install_name} holds index {store.applied_index}, "
                f"not {snapshot_index}"
            )
        return f"finished installing snapshot {snapshot_index}"
    if install_name is not None:
        (files.directory / install_name).unlink(missing_ok=True)
    if store.applied_index > max(last_index, snapshot_index):
        raise DamagedState(
            f"the state store {store.path} is at index {store.applied_index}, beyond the "
            f"durable log ({last_index}); the data directory is damaged"
        )
    return f"state store at {store.applied_index}"
