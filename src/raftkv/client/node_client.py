"""`NodeClient`: one node's HTTP contract over a keep-alive aiohttp session."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Iterable
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
import msgspec

from .envelope import decode_answer
from .errors import timeout_error, unreachable_error
from .models import SCAN_LIMIT_MAX, NodeState, ReadOk, ScanPage, WriteOk

__all__ = ["DEADLINE_HEADER", "NodeClient", "parse_addr"]

T = TypeVar("T")

DEADLINE_HEADER = "X-Raftkv-Deadline-Ms"
"""How long the caller still waits, in ms: the node gives up (and says so) a little earlier
than the client would, so the answer is the node's precise outcome, not a bare timeout."""

_DEADLINE_MARGIN_S = 0.1
_json_encoder = msgspec.json.Encoder()


def parse_addr(addr: str) -> str:
    """Validate `host:port` (a leading `http://` is tolerated) and return it without scheme."""
    bare = addr.strip().removeprefix("http://").rstrip("/")
    host, sep, port = bare.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not a host:port address: {addr!r}")
    return bare


class NodeClient:
    """Talks to one node. Every method raises `ApiError` on failure (see `raftkv.client.errors`).

    The session is created on first use unless one is given; a given session is not closed.
    """

    def __init__(
        self,
        addr: str,
        *,
        timeout: float = 5.0,
        auth_token: str | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.addr = parse_addr(addr)
        self.timeout = timeout
        self._base_url = f"http://{self.addr}"
        self._headers = {} if auth_token is None else {"Authorization": f"Bearer {auth_token}"}
        self._session = session
        self._owns_session = session is None

    def __repr__(self) -> str:
        return f"NodeClient({self.addr!r})"

    async def __aenter__(self) -> NodeClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
        self._session = None

    # --- the contract ------------------------------------------------------------------

    async def healthz(self) -> bool:
        """True when the node answers `/healthz` with 200; never raises."""
        try:
            async with self._http().get(
                self._base_url + "/healthz",
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as resp:
                await resp.read()
                return resp.status == 200
        except (aiohttp.ClientError, OSError, TimeoutError):
            return False

    async def state(self, *, kv: bool = True, timeout: float | None = None) -> NodeState:
        """`GET /state` (not wrapped in an envelope); `kv=False` leaves the data out."""
        path = "/state" if kv else "/state?kv=false"
        status, body = await self._request("GET", path, None, timeout, mutating=False)
        if status != 200:
            return decode_answer(status, body, NodeState, mutating=False)
        try:
            return msgspec.json.decode(body, type=NodeState)
        except msgspec.DecodeError:
            # A node that wraps /state in an envelope, or an error text with 200.
            return decode_answer(status, body, NodeState, mutating=False)

    async def write(
        self,
        key: str,
        value: str,
        *,
        serial: int,
        client_id: str | None = None,
        timeout: float | None = None,
    ) -> str | None:
        """`POST /kv/write`; returns the previous value (None for a new key)."""
        request: dict[str, Any] = {"key": key, "value": value, "serial": serial}
        if client_id is not None:
            request["client_id"] = client_id
        answer = await self._call("/kv/write", request, WriteOk | str | None, timeout, True)
        return answer.previous if isinstance(answer, WriteOk) else answer

    async def read(
        self, key: str, *, linearizable: bool = False, timeout: float | None = None
    ) -> str | None:
        """`POST /kv/read`: local (the node's applied state) or linearizable (ReadIndex)."""
        request = {"key": key, "consistency": "linearizable" if linearizable else "local"}
        answer = await self._call("/kv/read", request, ReadOk | str | None, timeout, False)
        return answer.value if isinstance(answer, ReadOk) else answer

    async def scan(
        self,
        prefix: str = "",
        after: str | None = None,
        limit: int = 100,
        *,
        timeout: float | None = None,
    ) -> ScanPage:
        """`GET /kv/scan`: up to `limit` (1..1000) pairs of this node's applied state whose
        key starts with `prefix` and sorts after `after`, in key order."""
        query = {"prefix": prefix, "limit": str(limit)}
        if after is not None:
            query["after"] = after
        path = "/kv/scan?" + urlencode(query)
        status, body = await self._request("GET", path, None, timeout, mutating=False)
        return decode_answer(status, body, ScanPage, mutating=False)

    async def scan_all(
        self,
        prefix: str = "",
        *,
        after: str | None = None,
        page_size: int = SCAN_LIMIT_MAX,
        timeout: float | None = None,
    ) -> AsyncGenerator[tuple[str, str], None]:
        """Every pair under `prefix` that sorts after `after`, in key order, one `scan` page
        (one request, `timeout` each) at a time.

        NB: the pages are read at different moments: a write that lands between two of them
        shows only if its key sorts after the pages already read.
        """
        while True:
            page = await self.scan(prefix, after, page_size, timeout=timeout)
            for key, value in page.items:
                yield key, value
            if page.next is None:
                return
            after = page.next

    async def init(self, *, timeout: float | None = None) -> None:
        """`POST /admin/init`: make this pristine node a one-voter cluster (idempotent)."""
        await self._call("/admin/init", {}, Any, timeout, True)

    async def add_learner(
        self, node_id: int, addr: str, *, blocking: bool = True, timeout: float | None = None
    ) -> None:
        """`POST /admin/add-learner`; when blocking, returns once the learner caught up."""
        request = {"node_id": node_id, "addr": addr, "blocking": blocking}
        await self._call("/admin/add-learner", request, Any, timeout, True)

    async def change_membership(
        self, voters: Iterable[int], *, retain: bool = False, timeout: float | None = None
    ) -> None:
        """`POST /admin/change-membership`; returns once the new voter set committed."""
        request = {"voters": sorted(set(voters)), "retain": retain}
        await self._call("/admin/change-membership", request, Any, timeout, True)

    async def transfer_leader(self, to: int | None = None, *, timeout: float | None = None) -> int:
        """`POST /admin/transfer-leader`; returns the new leader's id once the answering node
        sees it lead. `to=None` lets the leader pick its most up-to-date voter."""
        answer: dict[str, int] = await self._call(
            "/admin/transfer-leader", {"to": to}, dict[str, int], timeout, True
        )
        return answer["leader_id"]

    async def metrics(self, *, timeout: float | None = None) -> dict[str, Any]:
        """`GET /admin/metrics`: role, term, indexes, membership, replication progress."""
        status, body = await self._request("GET", "/admin/metrics", None, timeout, mutating=False)
        return decode_answer(status, body, dict[str, Any], mutating=False)

    # --- transport -------------------------------------------------------------------

    async def _call(
        self, path: str, request: object, kind: Any, timeout: float | None, mutating: bool
    ) -> Any:
        status, body = await self._request("POST", path, request, timeout, mutating=mutating)
        return decode_answer(status, body, kind, mutating=mutating)

    async def _request(
        self, method: str, path: str, request: object, timeout: float | None, *, mutating: bool
    ) -> tuple[int, bytes]:
        """Send one request; a missing answer becomes a status-0 `ApiError`.

        NB: a failure to connect means the request was never sent, so it is definite even
        for a write; a connection that breaks afterwards may have delivered it.
        """
        seconds = self.timeout if timeout is None else timeout
        headers = dict(self._headers)
        headers[DEADLINE_HEADER] = str(max(1, int((seconds - _margin(seconds)) * 1000)))
        data = None
        if request is not None:
            data = _json_encoder.encode(request)
            headers["Content-Type"] = "application/json"
        try:
            async with self._http().request(
                method,
                self._base_url + path,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=seconds),
            ) as resp:
                return resp.status, await resp.read()
        except aiohttp.ClientConnectorError as exc:
            raise unreachable_error(self.addr, _reason(exc), indeterminate=False) from exc
        except TimeoutError as exc:  # also aiohttp's ServerTimeoutError
            raise timeout_error(self.addr, seconds, indeterminate=mutating) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise unreachable_error(self.addr, _reason(exc), indeterminate=mutating) from exc

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError(f"{self!r}: the session it was given is closed")
            self._session = new_session()
        return self._session


def new_session() -> aiohttp.ClientSession:
    """A keep-alive session; DNS answers are kept 1 s only (container IPs change on restart)."""
    connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=1)
    return aiohttp.ClientSession(connector=connector)


def _margin(seconds: float) -> float:
    return min(_DEADLINE_MARGIN_S, seconds / 10)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and exc.os_error.errno:
        return f"cannot connect: {os.strerror(exc.os_error.errno)}"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
