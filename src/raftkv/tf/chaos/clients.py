"""The chaos clients: N concurrent clients issuing writes, linearizable reads and local reads
on a small set of keys, each operation through a random live node, all recorded.

An operation may take several attempts (another node after `no_leader`, a dropped
connection or a timeout) until its deadline. Writes keep their (client_id, serial) across
attempts, so a node that already applied an earlier attempt answers with the first result
instead of applying twice. The outcome is honest (DESIGN.md "Outcomes"):

- ok: some attempt succeeded;
- info: no attempt succeeded and some attempt might have taken effect (a write whose error
  is indeterminate: timeout, forward_failed, a connection dropped after sending), or a read
  that got no answer in time;
- fail: every attempt failed definitely (connection refused before sending, no_leader,
  not_leader, leader_changed, ...).

After an info, the client continues under a new process id and a new client id: its
pending operation may still take effect at any later time (DESIGN.md, checker notes).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable
from dataclasses import dataclass

from raftkv.checker import Operation
from raftkv.checker.operation import OperationKind, Outcome
from raftkv.client import ApiError, ApiTimeout, NodeClient
from raftkv.tf.context import RunContext

from .history import History, Mode, OpRecord
from .keys import KeyRotation

_BACKOFF_S = (0.02, 0.1)
"""Pause before another attempt (uniform): long enough not to spin on a leaderless cluster."""
_MIN_ATTEMPT_S = 0.1
"""An attempt with less time than this left before the deadline is not made."""


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """The client side of a chaos run."""

    clients: int = 8
    keys: int = 4
    ops_per_key: int = 300
    write_share: float = 0.5
    local_read_share: float = 0.15
    """The rest of the operations are linearizable reads."""
    attempt_timeout: float = 2.0
    op_deadline: float = 6.0
    retry: bool = True
    """Retry a failed attempt (on another node) until the deadline; without it every
    operation is one request, so the history holds many more fail and info outcomes."""

    def __post_init__(self) -> None:
        if self.clients < 1:
            raise ValueError(f"--clients must be at least 1, got {self.clients}")
        if self.keys < 1:
            raise ValueError(f"--keys must be at least 1, got {self.keys}")
        if self.ops_per_key < 1:
            raise ValueError(f"--ops-per-key must be at least 1, got {self.ops_per_key}")
        shares = (self.write_share, self.local_read_share)
        if min(shares) < 0 or sum(shares) > 1:
            raise ValueError(f"write and local read shares must be in [0, 1] in all: {shares}")
        if not 0 < self.attempt_timeout <= self.op_deadline:
            raise ValueError("attempt timeout must be positive and at most the op deadline")


def attempt_outcome(error: ApiError, mode: Mode) -> Outcome:
    """What one failed attempt says: "info" when it may have taken effect (writes) or got
    no answer (reads), else "fail"."""
    if mode == "write":
        return "info" if error.indeterminate else "fail"
    return "info" if isinstance(error, ApiTimeout) or error.code == "timeout" else "fail"


def combined_outcome(attempts: Iterable[Outcome]) -> Outcome:
    """The outcome of an operation from those of its attempts: ok beats info beats fail."""
    seen = set(attempts)
    if "ok" in seen:
        return "ok"
    return "info" if "info" in seen else "fail"


@dataclass(slots=True)
class _Session:
    """One client process: its process id (for the checker) and write session."""

    process: int
    client_id: str
    serial: int = 0

    @classmethod
    def new(cls, history: History, rng: random.Random) -> _Session:
        process = history.new_process()
        return cls(process, f"chaos-p{process}-{rng.getrandbits(32):08x}")


@dataclass(frozen=True, slots=True)
class _Request:
    mode: Mode
    key: str
    value: str | None
    serial: int
    client_id: str


class ChaosClients:
    """Runs the clients for a while; `history` and `keys` are read by checks and report."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings
        self.history = History()
        self.keys = KeyRotation(settings.keys, settings.ops_per_key)

    async def run(self, ctx: RunContext, duration: float) -> None:
        """Every client issues operations until `duration` seconds from now are over."""
        until = ctx.elapsed() + duration
        rngs = [random.Random(ctx.rng.getrandbits(64)) for _ in range(self.settings.clients)]
        async with asyncio.TaskGroup() as group:
            for index, rng in enumerate(rngs):
                group.create_task(self._client(ctx, rng, until), name=f"chaos client {index}")

    async def _client(self, ctx: RunContext, rng: random.Random, until: float) -> None:
        session = _Session.new(self.history, rng)
        while ctx.elapsed() < until:
            request = self._next_request(rng, session)
            record = await self._operate(ctx, rng, session.process, request)
            self.history.add(record)
            if record.op.outcome == "info":
                session = _Session.new(self.history, rng)

    def _next_request(self, rng: random.Random, session: _Session) -> _Request:
        draw = rng.random()
        key = self.keys.take(rng)
        if draw < self.settings.write_share:
            session.serial += 1
            value = f"p{session.process}.{session.serial}"
            return _Request("write", key, value, session.serial, session.client_id)
        local = draw < self.settings.write_share + self.settings.local_read_share
        return _Request("local" if local else "linearizable", key, None, 0, session.client_id)

    async def _operate(
        self, ctx: RunContext, rng: random.Random, process: int, request: _Request
    ) -> OpRecord:
        """Attempts `request` on random live nodes until it succeeds or its deadline."""
        invoke = ctx.elapsed()
        deadline = invoke + self.settings.op_deadline
        outcomes: list[Outcome] = []
        node, error = "", None
        while True:
            node = rng.choice(ctx.observer.nodes)
            timeout = min(self.settings.attempt_timeout, deadline - ctx.elapsed())
            try:
                value = await _attempt(ctx, node, request, timeout)
            except ApiError as failure:
                outcomes.append(attempt_outcome(failure, request.mode))
                error = failure
            else:
                op = _operation(process, request, value, invoke, ctx.elapsed(), "ok")
                return OpRecord(op, request.mode, node, len(outcomes) + 1, op.finish)
            pause = rng.uniform(*_BACKOFF_S)
            retry = self.settings.retry and error.retryable
            if not retry or deadline - ctx.elapsed() - pause < _MIN_ATTEMPT_S:
                break
            await asyncio.sleep(pause)
        ended = ctx.elapsed()
        outcome = combined_outcome(outcomes)
        complete = None if outcome == "info" else ended
        op = _operation(process, request, request.value, invoke, complete, outcome)
        return OpRecord(
            op, request.mode, node, len(outcomes), ended, f"{error.code}: {error.message}"
        )


def _operation(
    process: int,
    request: _Request,
    value: str | None,
    invoke: float,
    complete: float | None,
    outcome: Outcome,
) -> Operation:
    kind: OperationKind = "write" if request.mode == "write" else "read"
    return Operation(process, kind, request.key, value, invoke, complete, outcome)


async def _attempt(ctx: RunContext, node: str, request: _Request, timeout: float) -> str | None:
    """One request to `node`: the value written or read, or an `ApiError`."""
    client = _client_of(ctx, node)
    if request.mode == "write":
        assert request.value is not None, "a write carries its value"
        ctx.writes.attempted(request.key, request.value)  # what the invariants may see
        await client.write(
            request.key,
            request.value,
            serial=request.serial,
            client_id=request.client_id,
            timeout=timeout,
        )
        return request.value
    linearizable = request.mode == "linearizable"
    return await client.read(request.key, linearizable=linearizable, timeout=timeout)


def _client_of(ctx: RunContext, node: str) -> NodeClient:
    """The node's client; a node that left the cluster meanwhile was never sent anything."""
    try:
        return ctx.clients.node(node)
    except KeyError:
        raise ApiError(0, "unreachable", f"{node} left the cluster", indeterminate=False) from None
