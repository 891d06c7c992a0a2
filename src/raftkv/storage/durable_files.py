"""Crash-safe file primitives: every step that must survive power loss really fsyncs.

A file becomes visible under its final name only once its bytes are durable (temp name, fsync,
rename), and the directory holding it is fsynced so that the rename itself survives.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import StorageError

TEMP_SUFFIX = ".tmp"


def fsync_dir(directory: Path) -> None:
    """Make the directory's entries (created, renamed files) durable."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StorageError(f"cannot fsync directory {directory}: {exc.strerror}") from exc


def write_file_durably(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: after a crash the path holds the old file or the new
    one, never a torn mix."""
    temp = path.with_name(path.name + TEMP_SUFFIX)
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror}") from exc
    fsync_dir(path.parent)


def make_dirs_durably(directory: Path) -> None:
    """Create `directory` and missing parents, fsyncing each parent that gained an entry."""
    missing: list[Path] = []
    probe = directory
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create directory {directory}: {exc.strerror}") from exc
    if not directory.is_dir():
        raise StorageError(f"{directory} exists but is not a directory")
    for created in reversed(missing):
        fsync_dir(created.parent)
