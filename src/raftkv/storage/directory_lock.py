"""One writer per data directory: an exclusive `flock` held while a store is open.

Two processes writing one sqlite log would each believe their own acknowledgements (DESIGN.md,
Kubernetes: a force-deleted pod can leave two writers on one volume). The kernel drops the
lock when its holder dies, so a SIGKILLed node never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import StorageError


class DirectoryLock:
    """Holds an exclusive lock on `path` from construction until `release`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StorageError(f"cannot open lock file {path}: {exc.strerror}") from exc
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._fd)
            self._fd = None
            raise StorageError(
                f"{path.parent} is in use by another open store (lock file {path} is held)"
            ) from exc

    def release(self) -> None:
        """Drop the lock (closing the descriptor releases it); idempotent."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
