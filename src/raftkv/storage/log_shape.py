"""Checks that a write keeps the log well formed: contiguous, no gaps, nothing compacted
rewritten. A failed check is a caller bug, reported as `InvalidWrite` (a `ValueError`) before
anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from raftkv.core.types import Entry, SnapshotMeta


class InvalidWrite(ValueError):
    """The write would break the log's shape; it was refused and nothing was written."""


def check_entries(entries: Sequence[Entry], snapshot_index: int, last_index: int) -> None:
    """`entries` may replace a suffix of the log or extend it, nothing else."""
    if not entries:
        return
    first = entries[0].index
    for previous, entry in pairwise(entries):
        if entry.index != previous.index + 1:
            raise InvalidWrite(
                f"entries are not contiguous: {previous.describe()} then {entry.describe()}"
            )
    if first <= snapshot_index:
        raise InvalidWrite(
            f"entries from index {first} would rewrite the snapshot through {snapshot_index}"
        )
    if first > last_index + 1:
        raise InvalidWrite(f"entries from index {first} leave a gap after the last {last_index}")


def check_installable(meta: SnapshotMeta, current: SnapshotMeta | None) -> None:
    """A snapshot to install must not be older than the one already stored."""
    if current is not None and meta.last_index < current.last_index:
        raise InvalidWrite(
            f"snapshot through {meta.last_index} is older than the stored one through "
            f"{current.last_index}"
        )
