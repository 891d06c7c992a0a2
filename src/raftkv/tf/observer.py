"""Watches the cluster: polls every node's `/state`, keeps a history, and waits for rules.

One polling task per node, so a node that hangs (paused, cut off) delays only its own
observations. `/state` is fetched without the key/value map unless a wait needs it (and a
node may still leave a large map out). The history keeps every observation without its map
(bounded), for the report and for a post-mortem; `latest` keeps the full last answer of
each node. Listeners (`listen`) see every observation as it is made, in order per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiohttp
import msgspec

from raftkv.core.errors import RaftKVError

from .agreement import (
    Leadership,
    Outcome,
    View,
    agreed_leader,
    keys_everywhere,
    voters_everywhere,
)
from .replicas import Replicas, converged

if TYPE_CHECKING:
    from raftkv.client import NodeState

T = TypeVar("T")
DEFAULT_INTERVAL = 0.1
HISTORY_LIMIT = 20_000
TRANSITION_FIELDS = ("error", "role", "term", "leader", "voters", "learners")


class StateSource(Protocol):
    """What the observer needs of a node client."""

    async def state(self, *, kv: bool = True) -> NodeState: ...


class WaitTimeout(RaftKVError, TimeoutError):
    """A wait of the observer did not see its rule hold in time; says what was missing
    (`reason`, the rule's last pending reason, alone)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason


class RuleBroken(RaftKVError):
    """A wait of the observer saw its rule broken for good (replicas diverged); says how."""


@dataclass(frozen=True, slots=True)
class Observation:
    """One poll of one node: its state, or why there is none. `at` is time.monotonic()."""

    name: str
    at: float
    state: NodeState | None
    error: str | None = None
    with_kv: bool = False
    """Whether the key/value map was asked for (the node may still have left it out)."""
    incarnation: int = 0
    """The deployer's incarnation of the node when the poll was sent: it changes when the
    deployer stops the node, so two observations with the same one saw the same process."""

    def summary(self) -> dict[str, Any]:
        """A compact, JSON-ready line for reports (no key/value map)."""
        if self.state is None:
            return {"node": self.name, "error": self.error}
        state = self.state
        return {
            "node": self.name,
            "role": state.role,
            "term": state.current_term,
            "leader": state.current_leader,
            "voters": list(state.voters),
            "learners": list(state.learners),
            "last_log_index": state.last_log_index,
            "applied": state.last_applied_index,
            "keys": state.key_count,
            "digest": state.kv_digest,
        }


class Observer:
    """Polls `nodes` through `client_for(name)` every `interval` seconds; `incarnation(name)`
    (default: always 0) tags each observation (see `Observation.incarnation`)."""

    def __init__(
        self,
        nodes: Sequence[str],
        client_for: Callable[[str], StateSource],
        *,
        interval: float = DEFAULT_INTERVAL,
        request_timeout: float = 1.0,
        incarnation: Callable[[str], int] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"observer interval must be positive, got {interval}")
        self.nodes = list(nodes)
        self.client_for = client_for
        self.interval = interval
        self.request_timeout = request_timeout
        self.latest: dict[str, Observation] = {}
        self.history: deque[Observation] = deque(maxlen=HISTORY_LIMIT)
        self.incarnation = incarnation or (lambda name: 0)
        self._kv_demand = 0
        self._kv_once: set[str] = set()
        self._listeners: list[Callable[[Observation], None]] = []
        self._updated = asyncio.Condition()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._started = False

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for name in self.nodes:
            self._start_polling(name)

    async def add_node(self, name: str) -> None:
        """Observes one more node (a member added while the run goes on)."""
        if name in self.nodes:
            raise ValueError(f"{name} is already observed")
        self.nodes.append(name)
        if self._started:
            self._start_polling(name)

    async def remove_node(self, name: str) -> None:
        """Stops observing `name` and forgets what was last seen of it (it left the cluster)."""
        if name not in self.nodes:
            raise ValueError(f"{name} is not observed")
        self.nodes.remove(name)
        task = self._tasks.pop(name, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.latest.pop(name, None)
        async with self._updated:
            self._updated.notify_all()

    def _start_polling(self, name: str) -> None:
        self._tasks[name] = asyncio.create_task(self._poll(name), name=f"observe {name}")

    async def stop(self) -> None:
        self._started = False
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> Observer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def listen(self, listener: Callable[[Observation], None]) -> Callable[[], None]:
        """Calls `listener` with every observation from now on (on the event loop; keep it
        quick); returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def request_kv(self) -> None:
        """Asks for the key/value map in the next poll of every node."""
        self._kv_once.update(self.nodes)

    def view(self) -> View:
        """The latest state of every node (None when it did not answer or not polled yet)."""
        return {name: self._latest_state(name) for name in self.nodes}

    def transitions(self, since: float) -> list[dict[str, Any]]:
        """Each change of a node's reachability, role, term, leader or membership, from the
        history, with `t` in seconds after `since` (a time.monotonic() value)."""
        changes: list[dict[str, Any]] = []
        last: dict[str, str] = {}
        for observation in self.history:
            summary = observation.summary()
            key = repr([summary.get(field) for field in TRANSITION_FIELDS])
            if last.get(observation.name) != key:
                last[observation.name] = key
                changes.append({"t": round(observation.at - since, 3), **summary})
        return changes

    # Waits: each returns the rule's value or raises WaitTimeout with the last reason.

    async def wait_leader(
        self, timeout: float, different_from: Leadership | None = None
    ) -> Leadership:
        what = "an agreed leader" + (f" other than {different_from}" if different_from else "")
        return await self.wait_for(lambda v: agreed_leader(v, different_from), timeout, what)

    async def wait_voters(self, voters: frozenset[int], timeout: float) -> frozenset[int]:
        what = f"voters {sorted(voters)} on every node"
        return await self.wait_for(lambda v: voters_everywhere(v, voters), timeout, what)

    async def wait_keys(self, expected: Mapping[str, str], timeout: float) -> int:
        what = f"{len(expected)} expected keys on every node"
        return await self.wait_for(
            lambda v: keys_everywhere(v, expected), timeout, what, needs_kv=True
        )

    async def wait_converged(self, timeout: float) -> Replicas:
        what = "one applied index and one state on every node"
        return await self.wait_for(converged, timeout, what, needs_kv=True)

    async def wait_for(
        self,
        rule: Callable[[View], Outcome[T]],
        timeout: float,
        what: str,
        *,
        needs_kv: bool = False,
    ) -> T:
        """Waits until `rule` holds on a view; with `needs_kv`, only views polled with
        key/value maps (started after the wait began) count. Raises `RuleBroken` as soon as
        the rule says it is broken."""
        since = time.monotonic()
        outcome: Outcome[T] = Outcome(pending="no observation yet")
        self._kv_demand += needs_kv
        try:
            async with asyncio.timeout(timeout):
                while True:
                    view = self._fresh_view(since) if needs_kv else self.view()
                    outcome = rule(view)
                    if outcome.value is not None:
                        return outcome.value
                    if outcome.broken:
                        raise RuleBroken(f"{outcome.broken} (while waiting for {what})")
                    async with self._updated:
                        await self._updated.wait()
        except TimeoutError:
            raise waited_too_long(timeout, what, outcome.pending) from None
        finally:
            self._kv_demand -= needs_kv

    def _fresh_view(self, since: float) -> View:
        """Like `view`, but a node's state counts only if polled with its map (asked for;
        a large one is left out) after `since`."""
        fresh: dict[str, NodeState | None] = {}
        for name in self.nodes:
            observation = self.latest.get(name)
            if observation is None or observation.at < since or not observation.with_kv:
                fresh[name] = None
            else:
                fresh[name] = observation.state
        return fresh

    def _latest_state(self, name: str) -> NodeState | None:
        observation = self.latest.get(name)
        return observation.state if observation is not None else None

    async def _poll(self, name: str) -> None:
        next_poll = time.monotonic()
        while True:
            observation = await self._observe(name)
            self.latest[name] = observation
            self.history.append(_without_kv(observation))
            for listener in list(self._listeners):
                listener(observation)
            async with self._updated:
                self._updated.notify_all()
            next_poll = max(next_poll + self.interval, time.monotonic())
            await asyncio.sleep(next_poll - time.monotonic())

    async def _observe(self, name: str) -> Observation:
        with_kv = self._kv_demand > 0 or name in self._kv_once
        self._kv_once.discard(name)
        incarnation = self.incarnation(name)
        try:
            client = self.client_for(name)
            async with asyncio.timeout(self.request_timeout):
                state = await client.state(kv=with_kv)
        except (RaftKVError, aiohttp.ClientError, OSError, TimeoutError) as error:
            return Observation(name, time.monotonic(), None, _describe(error), with_kv, incarnation)
        return Observation(name, time.monotonic(), state, None, with_kv, incarnation)


def waited_too_long(seconds: float, what: str, reason: str) -> WaitTimeout:
    return WaitTimeout(f"timed out after {seconds:.1f} s waiting for {what}: {reason}", reason)


def _without_kv(observation: Observation) -> Observation:
    if observation.state is None or observation.state.kv is None:
        return observation
    state = msgspec.structs.replace(observation.state, kv=None)
    return replace(observation, state=state)


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text.splitlines()[0]
