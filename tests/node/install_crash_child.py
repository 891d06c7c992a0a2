"""Child process of the install crash test: installs a staged snapshot into a state store and
kills itself with SIGKILL at one step of the swap (the step's number is the argument).

Usage: python install_crash_child.py NODE_DIR INSTALL_NAME CRASH_AT
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import raftkv.kv.state_files as state_files
from raftkv.kv import StateStore
from raftkv.node.state_snapshots import StateFiles, install_token

steps = 0


def crash_point(crash_at: int) -> None:
    global steps
    steps += 1
    if steps == crash_at:
        os.kill(os.getpid(), signal.SIGKILL)


def instrument(crash_at: int) -> None:
    """Count every file-system step of the install; die at step `crash_at`."""
    real_replace, real_fsync, real_unlink = os.replace, state_files.fsync_path, Path.unlink

    def replace(*args: Any) -> None:
        crash_point(crash_at)
        real_replace(*args)
        crash_point(crash_at)

    def fsync_path(*args: Any, **kwargs: Any) -> None:
        real_fsync(*args, **kwargs)
        crash_point(crash_at)

    def unlink(self: Path, missing_ok: bool = False) -> None:
        real_unlink(self, missing_ok=missing_ok)
        crash_point(crash_at)

    state_files.os.replace = replace  # type: ignore[attr-defined]
    state_files.fsync_path = fsync_path  # type: ignore[assignment]
    Path.unlink = unlink  # type: ignore[method-assign]


async def main(node_dir: Path, install_name: str, crash_at: int) -> None:
    store = StateStore(node_dir / "state.sqlite3")
    files = StateFiles(store, node_dir / "snapshots")
    instrument(crash_at)
    await files.install(install_token(install_name))
    print(f"completed after {steps} steps", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
