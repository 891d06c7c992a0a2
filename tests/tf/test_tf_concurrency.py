"""Task groups report their first failure as itself."""

from __future__ import annotations

import asyncio

import pytest

from raftkv.tf.concurrency import first_exception, first_failure


async def test_first_failure_is_raised_unwrapped() -> None:
    async def fail() -> None:
        raise KeyError("node-3")

    with pytest.raises(KeyError, match="node-3"), first_failure():
        async with asyncio.TaskGroup() as group:
            group.create_task(fail())
            group.create_task(asyncio.sleep(10))


def test_first_exception_of_nested_groups() -> None:
    inner = ExceptionGroup("inner", [ValueError("deep"), OSError("other")])
    outer = ExceptionGroup("outer", [inner, RuntimeError("later")])
    found = first_exception(outer)
    assert isinstance(found, ValueError) and str(found) == "deep"
