"""Task groups that fail like a single task: the first error is raised as itself.

A TaskGroup wraps failures in an ExceptionGroup, which would turn a report line into
"unhandled errors in a TaskGroup"; the framework runs things together but reports the
failure that stopped them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


def first_exception(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf exception of a (possibly nested) exception group."""
    first = group.exceptions[0]
    return first_exception(first) if isinstance(first, BaseExceptionGroup) else first


@contextlib.contextmanager
def first_failure() -> Iterator[None]:
    """Wrap an `async with asyncio.TaskGroup()`: re-raises its first failure unwrapped."""
    try:
        yield
    except BaseExceptionGroup as failures:
        raise first_exception(failures) from None
