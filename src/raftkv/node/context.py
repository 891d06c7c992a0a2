"""What every HTTP handler needs from the running node, and the helpers they share: body
limits, deadlines, and the one-hop forward to the leader."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from raftkv.core import Role
from raftkv.storage import Identity

from .config import NodeConfig
from .driver import Driver
from .metrics import NodeMetrics
from .wire import DEADLINE_HEADER, FORWARDED_HEADER, ApiFailure, bad_request, no_leader, timeout

T = TypeVar("T")


@dataclass
class NodeContext:
    config: NodeConfig
    identity: Identity
    driver: Driver
    session: aiohttp.ClientSession
    metrics: NodeMetrics
    started_at: float = field(default_factory=lambda: asyncio.get_running_loop().time())

    @property
    def node_id(self) -> int:
        return self.config.node_id

    def is_leader(self) -> bool:
        return self.driver.role == Role.LEADER

    def deadline(self, request: web.Request) -> float:
        """The loop time by which the caller wants an answer: the forwarded remaining
        deadline if there is one, else the configured request timeout."""
        budget = self.config.request_timeout_s
        raw = request.headers.get(DEADLINE_HEADER)
        if raw is not None:
            budget = min(budget, parse_deadline_ms(raw) / 1000)
            if budget <= 0:  # nothing may start: refuse before anything is proposed
                raise timeout(f"{DEADLINE_HEADER} is 0: no time is left", indeterminate=False)
        return asyncio.get_running_loop().time() + budget

    def leader_addr(self) -> tuple[int, str] | None:
        leader = self.driver.leader_id
        if leader is None or leader == self.node_id:
            return None
        addr = self.driver.peers.addr(leader)
        return None if addr is None else (leader, addr)

    def auth_headers(self) -> dict[str, str]:
        token = self.config.auth_token
        return {} if token is None else {"Authorization": f"Bearer {token}"}


CTX_KEY = web.AppKey("raftkv_ctx", NodeContext)
DEADLINE_MAX_DIGITS = 12
"""`X-Raftkv-Deadline-Ms` has at most this many digits (about 31 years): a longer one is a
client's mistake, not a wait."""


def parse_deadline_ms(raw: str) -> int:
    """The milliseconds of an `X-Raftkv-Deadline-Ms` header; 400 `bad_request` unless it is
    1 to 12 ASCII digits (no sign, no unit, no other script's digits)."""
    text = raw.strip()
    if not (0 < len(text) <= DEADLINE_MAX_DIGITS and text.isascii() and text.isdigit()):
        shown = text[:40].encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
        raise bad_request(
            f"{DEADLINE_HEADER}: {shown!r} is not a whole number of milliseconds "
            f"(1 to {DEADLINE_MAX_DIGITS} digits)"
        )
    return int(text)


async def read_body(request: web.Request, limit: int) -> bytes:
    """The whole body, refused with 413 `body_too_large` beyond `limit` bytes."""
    too_large = ApiFailure(413, "body_too_large", f"request body exceeds {limit} bytes")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def until(future: asyncio.Future[T], deadline: float, failure: Callable[[], ApiFailure]) -> T:
    """Await `future` until the loop time `deadline`; then raise `failure()`.

    A timer that fails the future is cheaper than `asyncio.wait_for` (no task per request);
    whoever would resolve the future later sees it done and skips it.
    """
    loop = asyncio.get_running_loop()
    timer = loop.call_at(deadline, _expire, future)
    try:
        return await future
    except _Expired:
        raise failure() from None
    finally:
        timer.cancel()


class _Expired(Exception):
    """The deadline of `until` passed."""


def _expire(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_exception(_Expired())


async def forward_to_leader(
    ctx: NodeContext, request: web.Request, body: bytes, deadline: float
) -> web.Response:
    """Send a write or admin call one hop to the leader and relay its answer as is.

    A forwarded request that lands on a non-leader is refused with 421 `not_leader` (one hop
    only); without a known leader the answer is 503 `no_leader`.
    """
    leader = ctx.leader_addr()
    if request.headers.get(FORWARDED_HEADER):
        raise ApiFailure(
            421,
            "not_leader",
            "this node is not the leader",
            leader_id=ctx.driver.leader_id,
            leader_addr=None if leader is None else leader[1],
        )
    if leader is None:
        raise no_leader()
    remaining = min(deadline - asyncio.get_running_loop().time(), ctx.config.forward_timeout_s)
    if remaining <= 0:
        raise timeout("the request deadline passed before forwarding", indeterminate=False)
    return await _post_to_leader(ctx, leader, request.path, body, remaining)


async def _post_to_leader(
    ctx: NodeContext, leader: tuple[int, str], path: str, body: bytes, remaining: float
) -> web.Response:
    headers = {
        **ctx.auth_headers(),
        FORWARDED_HEADER: str(ctx.node_id),
        DEADLINE_HEADER: str(int(remaining * 1000)),
        "Content-Type": "application/json",
    }
    timeout_after = aiohttp.ClientTimeout(total=remaining)
    try:
        async with ctx.session.post(
            f"http://{leader[1]}{path}", data=body, headers=headers, timeout=timeout_after
        ) as resp:
            payload = await resp.read()
            return web.Response(status=resp.status, body=payload, content_type="application/json")
    except TimeoutError:
        raise timeout(
            f"no answer from leader {leader[0]} before the deadline", indeterminate=True
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        raise ApiFailure(
            502,
            "forward_failed",
            f"forwarding to leader {leader[0]} at {leader[1]} failed: {type(exc).__name__}",
            # A refused connection never reached the leader: nothing can have been applied.
            indeterminate=not isinstance(exc, aiohttp.ClientConnectorError),
            leader_id=leader[0],
            leader_addr=leader[1],
        ) from exc
