"""The store's one writer thread, with group commit.

Writes complete in submission order (DESIGN.md: "Storage operations complete in submission
order on one writer (never a pool)"). Whatever queued up while a commit was running goes into
the next transaction together, so concurrent callers share one fsync; each caller's asyncio
future is settled from the thread with `loop.call_soon_threadsafe`, once per loop and group.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import StorageError
from .log_store import LogStore
from .requests import WriteRequest

MAX_GROUP = 1024
"""Requests per transaction at most, so that one group cannot delay its callers unboundedly."""


@dataclass(slots=True)
class WriteJob:
    request: WriteRequest
    future: asyncio.Future[None]
    loop: asyncio.AbstractEventLoop


@dataclass(slots=True)
class CallJob:
    """Run `function` on the writer between two groups (recovery, close)."""

    function: Callable[[LogStore], Any]
    result: Future[Any] = field(default_factory=Future)
    stop: bool = False


Outcome = tuple[asyncio.Future[None], BaseException | None]


class WriterThread:
    def __init__(self, data_dir: Path) -> None:
        self._queue: queue.SimpleQueue[WriteJob | CallJob] = queue.SimpleQueue()
        self._stopping: Future[Any] | None = None
        opened: Future[LogStore] = Future()
        self._thread = threading.Thread(
            target=self._main,
            args=(data_dir, opened),
            name=f"raftkv-storage:{data_dir}",
            daemon=True,
        )
        self._thread.start()
        self.store = opened.result()  # re-raises the StorageError of a failed open

    def submit_write(self, request: WriteRequest) -> asyncio.Future[None]:
        """Queue a write; the returned future settles on the caller's running loop."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._put(WriteJob(request, future, loop))
        return future

    def call(self, function: Callable[[LogStore], Any]) -> Any:
        """Run `function` on the writer after every queued write and wait for its result."""
        job = CallJob(function)
        self._put(job)
        return job.result.result()

    def stop(self) -> Future[Any]:
        """Close the store after every queued write; later submissions raise StorageError.
        Calling it again returns the same future."""
        if self._stopping is None:
            job = CallJob(LogStore.close, stop=True)
            self._put(job)
            self._stopping = job.result
        return self._stopping

    def join(self) -> None:
        self._thread.join()

    def _put(self, job: WriteJob | CallJob) -> None:
        if self._stopping is not None:
            raise StorageError(f"the store in {self.store.db.path.parent} is closed")
        self._queue.put(job)

    def _main(self, data_dir: Path, opened: Future[LogStore]) -> None:
        try:
            store = LogStore(data_dir)
        except BaseException as exc:
            opened.set_exception(exc)
            return
        opened.set_result(store)
        self._serve(store)

    def _serve(self, store: LogStore) -> None:
        waiting: WriteJob | CallJob | None = None
        while True:
            job = waiting if waiting is not None else self._queue.get()
            waiting = None
            if isinstance(job, CallJob):
                _run_call(store, job)
                if job.stop:
                    return
                continue
            group = [job]
            while len(group) < MAX_GROUP:
                try:
                    queued = self._queue.get_nowait()
                except queue.Empty:
                    break
                if isinstance(queued, CallJob):
                    waiting = queued  # runs after this group, keeping submission order
                    break
                group.append(queued)
            outcomes = store.commit_group([write.request for write in group])
            _settle_on_loops(group, outcomes)


def _run_call(store: LogStore, job: CallJob) -> None:
    try:
        job.result.set_result(job.function(store))
    except BaseException as exc:
        job.result.set_exception(exc)


def _settle_on_loops(group: list[WriteJob], outcomes: list[BaseException | None]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
    for job, outcome in zip(group, outcomes, strict=True):
        by_loop.setdefault(job.loop, []).append((job.future, outcome))
    for loop, settled in by_loop.items():
        # A closed loop raises RuntimeError: nobody is left waiting for these writes.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[Outcome]) -> None:
    for future, outcome in settled:
        if future.done():
            continue  # the caller was cancelled; the write itself still happened
        if outcome is None:
            future.set_result(None)
        else:
            future.set_exception(outcome)
