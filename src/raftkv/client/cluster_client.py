"""`ClusterClient`: a set of nodes behind one client that finds the leader, follows
`not_leader` hints and retries what is safe to retry until a deadline.

Writes are made safe to retry by the node's client sessions: every write carries
(client_id, serial), a retry keeps both, and the node answers a repeated pair with the first
result instead of applying it twice. A session allows one write in flight (a lower serial
arriving after a higher one is refused as `stale_serial`), so concurrent writes on one
ClusterClient each borrow their own session: `client_id` for the first, `client_id.N` for
the others. Should another writer use the same client_id (two clients seeded alike), the
node refuses with `stale_serial` or `serial_conflict`; when nothing of the write can have been
applied, the client goes on under a fresh client_id.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import TypeVar

import aiohttp

from .errors import ApiError
from .models import NodeState
from .node_client import NodeClient, new_session, parse_addr

__all__ = ["ClusterClient"]

T = TypeVar("T")

BACKOFF_MIN_S = 0.05
BACKOFF_MAX_S = 0.5
SESSION_CLASH_CODES = frozenset({"stale_serial", "serial_conflict"})
"""A session answer that only another writer under the same client_id can cause."""
MIN_ATTEMPT_S = 0.05
"""The least an attempt is given, so the last one before the deadline can still succeed."""


@dataclass(slots=True)
class _WriteSession:
    """A client session of the node's state machine: one write in flight at a time."""

    client_id: str
    next_serial: int = 1


class ClusterClient:
    """Reads and writes against whichever node leads. Raises the last `ApiError` when the
    deadline (seconds from the call; default `timeout`) passes; one attempt waits at most
    `timeout`. A write's error is indeterminate if any of its attempts was."""

    def __init__(
        self,
        addrs: Sequence[str],
        *,
        client_id: str | None = None,
        timeout: float = 5.0,
        auth_token: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not addrs:
            raise ValueError("ClusterClient needs at least one node address")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self._rng = rng if rng is not None else random.Random()
        self.client_id = client_id or f"{self._rng.getrandbits(64):016x}"
        self.timeout = timeout
        self._auth_token = auth_token
        self._addrs: list[str] = list(dict.fromkeys(parse_addr(a) for a in addrs))
        self._nodes: dict[str, NodeClient] = {}
        self._addr_by_id: dict[int, str] = {}
        self._leader_addr: str | None = None
        self._cursor = 0
        self._http: aiohttp.ClientSession | None = None
        self._idle_sessions = [_WriteSession(self.client_id)]
        self._sessions_made = 1

    @property
    def addrs(self) -> list[str]:
        """Every address known: the given ones, then those learned from leader hints."""
        return list(self._addrs)

    async def __aenter__(self) -> ClusterClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        self._nodes.clear()
        if self._http is not None:
            await self._http.close()
            self._http = None

    # --- operations ----------------------------------------------------------------------

    async def write(self, key: str, value: str, *, deadline: float | None = None) -> str | None:
        """Write `key` = `value` under the next serial; returns the previous value."""
        end = self._deadline(deadline)
        session = self._idle_sessions.pop() if self._idle_sessions else self._new_session()
        try:
            while True:
                serial = session.next_serial
                attempt = partial(_write_attempt, key, value, session.client_id, serial)
                session.next_serial += 1
                try:
                    return await self._retrying(attempt, end)
                except ApiError as exc:
                    if exc.code not in SESSION_CLASH_CODES or exc.indeterminate or _now() >= end:
                        raise
                # Another client writes under this client_id (a copy seeded alike): nothing
                # of this write was applied, so it is safe to go on under a fresh id.
                session.client_id = f"{self._rng.getrandbits(64):016x}"
                session.next_serial = 1
        finally:
            self._idle_sessions.append(session)

    async def read(
        self, key: str, *, linearizable: bool = True, deadline: float | None = None
    ) -> str | None:
        """Read `key` (None when missing), by default linearizably."""
        return await self._retrying(
            lambda node, seconds: node.read(key, linearizable=linearizable, timeout=seconds),
            self._deadline(deadline),
        )

    async def leader(self, *, deadline: float | None = None) -> NodeClient:
        """The node that reports itself Leader; ApiError `no_leader` when none did in time.

        The NodeClient shares this client's connections: it is usable until `close()`.
        """
        end = self._deadline(deadline)
        backoff = BACKOFF_MIN_S
        while True:
            remaining = end - _now()
            if remaining <= 0:
                raise ApiError(0, "no_leader", f"no node reported Leader among {self._addrs}")
            node = await self._discover(remaining)
            if node is not None:
                return node
            await asyncio.sleep(min(self._jitter(backoff), max(0.0, end - _now())))
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    # --- retry loop --------------------------------------------------------------------

    async def _retrying(
        self, attempt: Callable[[NodeClient, float], Awaitable[T]], end: float
    ) -> T:
        """`attempt(node, seconds)` until it succeeds, fails for good, or loop time `end`."""
        backoff = BACKOFF_MIN_S
        maybe_applied = False
        followed_hint = False
        while True:
            if self._leader_addr is None:
                # At most half the time left: a silent node must not eat the whole deadline.
                await self._discover((end - _now()) / 2)
            node = self._pick()
            try:
                return await attempt(node, max(MIN_ATTEMPT_S, min(self.timeout, end - _now())))
            except ApiError as exc:
                maybe_applied = maybe_applied or exc.indeterminate
                exc.indeterminate = maybe_applied
                if not exc.retryable or end - _now() <= 0:
                    raise
                last_error = exc
            if self._learn(node, last_error) and not followed_hint:
                followed_hint = True  # follow a fresh hint at once, but never ping-pong
                continue
            followed_hint = False
            await asyncio.sleep(min(self._jitter(backoff), end - _now()))
            backoff = min(backoff * 2, BACKOFF_MAX_S)
            if end - _now() <= 0:
                raise last_error

    def _learn(self, node: NodeClient, exc: ApiError) -> bool:
        """Update the leader guess from a failure; True when it now points elsewhere."""
        if exc.code != "not_leader":
            if self._leader_addr == node.addr:
                self._leader_addr = None
            return False
        hinted = self._hinted_addr(exc)
        self._leader_addr = hinted
        return hinted is not None and hinted != node.addr

    def _hinted_addr(self, exc: ApiError) -> str | None:
        leader_id = exc.details.get("leader_id")
        if isinstance(leader_id, int) and leader_id in self._addr_by_id:
            return self._addr_by_id[leader_id]
        raw = exc.details.get("leader_addr")
        if not isinstance(raw, str):
            return None
        try:
            addr = parse_addr(raw)
        except ValueError:
            return None
        if addr not in self._addrs:
            self._addrs.append(addr)
        if isinstance(leader_id, int):
            self._addr_by_id[leader_id] = addr
        return addr

    # --- finding the leader ------------------------------------------------------------

    async def _discover(self, budget: float) -> NodeClient | None:
        """Ask every known node for its state at once; the first that reports Leader becomes
        the leader guess. Also learns which node id answers at which address."""
        if budget <= 0:
            return None
        seconds = min(self.timeout, budget)
        asks = [asyncio.ensure_future(self._state_of(addr, seconds)) for addr in self._addrs]
        try:
            for done in asyncio.as_completed(asks):
                state = await done
                if state is not None and state.is_leader:
                    self._leader_addr = self._addr_by_id[state.node_id]
                    return self._node(self._leader_addr)
        finally:
            for ask in asks:
                ask.cancel()
            await asyncio.gather(*asks, return_exceptions=True)
        return None

    async def _state_of(self, addr: str, seconds: float) -> NodeState | None:
        try:
            state = await self._node(addr).state(kv=False, timeout=seconds)
        except ApiError:
            return None
        self._addr_by_id[state.node_id] = addr
        return state

    def _pick(self) -> NodeClient:
        """The leader guess, else the known nodes in turn."""
        if self._leader_addr is not None:
            return self._node(self._leader_addr)
        addr = self._addrs[self._cursor % len(self._addrs)]
        self._cursor += 1
        return self._node(addr)

    def _node(self, addr: str) -> NodeClient:
        node = self._nodes.get(addr)
        if node is None:
            if self._http is None or self._http.closed:
                self._http = new_session()
            node = NodeClient(
                addr, timeout=self.timeout, auth_token=self._auth_token, session=self._http
            )
            self._nodes[addr] = node
        return node

    # --- small helpers -----------------------------------------------------------------

    def _new_session(self) -> _WriteSession:
        self._sessions_made += 1
        return _WriteSession(f"{self.client_id}.{self._sessions_made}")

    def _deadline(self, deadline: float | None) -> float:
        seconds = self.timeout if deadline is None else deadline
        if not seconds > 0:
            raise ValueError(f"deadline must be positive seconds, got {deadline}")
        return _now() + seconds

    def _jitter(self, backoff: float) -> float:
        return backoff * (0.5 + self._rng.random() / 2)


async def _write_attempt(
    key: str, value: str, client_id: str, serial: int, node: NodeClient, seconds: float
) -> str | None:
    return await node.write(key, value, serial=serial, client_id=client_id, timeout=seconds)


def _now() -> float:
    return asyncio.get_running_loop().time()
