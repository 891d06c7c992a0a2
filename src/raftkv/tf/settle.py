"""The end of a run: wait until the replicas agree (`replicas.converged`), then get the values
of the keys a check needs.

The values come from the maps when every node sent its map. When nodes leave their maps out
of `/state` (a large state), each node is asked for the keys one local read at a time, and
its applied index is read again afterwards: a node that applied more meanwhile may have
answered from a later state, so the round starts over. Two nodes that answer differently at
the applied index they agreed on diverged, whatever their digests say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from raftkv.client import ApiError

from .agreement import Outcome, broken, met, not_yet
from .concurrency import first_failure
from .observer import Observer, RuleBroken, WaitTimeout, waited_too_long
from .replicas import Replicas, converged, first_difference

if TYPE_CHECKING:
    from raftkv.client import NodeState

READ_CONCURRENCY = 16
"""Local reads in flight per node while the keys are read."""


class KeySource(Protocol):
    """What settling needs of a node client."""

    async def read(self, key: str) -> str | None: ...

    async def state(self, *, kv: bool = True) -> NodeState: ...


class NodeClients(Protocol):
    """A client of each node by name (the run's `ClientPool`)."""

    def node(self, name: str) -> KeySource: ...


@dataclass(frozen=True, slots=True)
class Settled:
    """The state every node agreed on, and the values of the keys asked for."""

    replicas: Replicas
    values: dict[str, str]
    """The keys asked for that the nodes hold, with their values (a missing key is left out)."""


Judge = Callable[[Settled], str]
"""What a check still waits for once the replicas agree; '' for nothing."""


def nothing_more(settled: Settled) -> str:
    return ""


async def settle(
    observer: Observer,
    clients: NodeClients,
    voters: frozenset[int],
    keys: Collection[str],
    timeout: float,
    judge: Judge = nothing_more,
) -> Settled:
    """Waits until every node reports `voters`, one applied index and one state, and `judge`
    has nothing left to wait for once `keys` are read. Raises `RuleBroken` as soon as two
    replicas are seen to diverge, `WaitTimeout` with the last reason after `timeout`."""
    what = f"voters {sorted(voters)} and one applied index and state on every node"
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    pending = ""
    while True:
        try:
            replicas = await observer.wait_for(
                lambda view: converged(view, voters), end - loop.time(), what, needs_kv=True
            )
        except WaitTimeout as late:
            # What the last round found lacking says more than a view not polled again yet.
            raise waited_too_long(timeout, what, pending or late.reason) from None
        values = await _values(clients, replicas, keys)
        if values.broken:
            raise RuleBroken(f"{values.broken} (while waiting for {what})")
        pending = values.pending
        if values.value is not None:
            settled = Settled(replicas, values.value)
            pending = judge(settled)
            if not pending:
                return settled
        if loop.time() >= end:
            raise waited_too_long(timeout, what, pending)
        await asyncio.sleep(observer.interval)


async def _values(
    clients: NodeClients, replicas: Replicas, keys: Collection[str]
) -> Outcome[dict[str, str]]:
    if replicas.kv is not None:
        return met({key: replicas.kv[key] for key in keys if key in replicas.kv})
    names = replicas.nodes
    answers = await asyncio.gather(
        *(_read_at(name, clients.node(name), keys, replicas.applied) for name in names)
    )
    for answer in answers:
        if not answer.holds:
            return answer
    (first_name, first), *others = [
        (name, answer.value) for name, answer in zip(names, answers, strict=True)
    ]
    assert first is not None, "every answer holds"
    for name, values in others:
        assert values is not None, "every answer holds"
        if values != first:
            key = first_difference(first, values)
            return broken(
                f"{first_name} and {name} disagree on {key!r} ({first.get(key)!r} vs "
                f"{values.get(key)!r}) at {replicas.describe()}"
            )
    return met(first)


async def _read_at(
    name: str, client: KeySource, keys: Collection[str], applied: int
) -> Outcome[dict[str, str]]:
    """The values of `keys` on one node, if it stayed at `applied` while they were read."""
    try:
        values = await read_keys(client, keys)
        state = await client.state(kv=False)
    except ApiError as error:
        return not_yet(f"reading {len(keys)} keys on {name} failed: {error}")
    if state.last_applied_index != applied:
        return not_yet(
            f"{name} applied index went from {applied} to {state.last_applied_index} while "
            "its keys were read"
        )
    return met(values)


async def read_keys(
    client: KeySource, keys: Iterable[str], *, concurrency: int = READ_CONCURRENCY
) -> dict[str, str]:
    """Local reads of `keys` on one node, `concurrency` at a time: the keys it holds, with
    their values."""
    found: dict[str, str] = {}
    todo = iter(keys)

    async def reader() -> None:
        for key in todo:
            value = await client.read(key)
            if value is not None:
                found[key] = value

    with first_failure():
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(reader())
    return found
