"""The HTTP server's bounds: how many connections, how long a connection may take to send a
request head or sit idle, and what happens at each limit.

Rules:
- at most `http_max_connections` connections are open; one more is answered 503
  `too_many_connections` (`Retry-After: 1`) and closed at once, while the open ones are
  served as before; the cap is checked against the open-file limit at start, so sockets can
  never take the descriptors the storage layer needs (the node raises its soft limit to the
  hard one first);
- a new connection that has not sent a whole request head within `http_header_timeout_s` is
  closed, and so is a connection with no request in progress for `http_idle_timeout_s`
  (aiohttp's keep-alive timeout, which also runs from the moment a connection opens);
- at most `http_max_streams` `/raft/stream` WebSockets are open at once (`app.py`);
- a request aiohttp cannot parse (a NUL byte in a header, a line too long) is the client's
  mistake: aiohttp answers 400 and this module logs one warning line, rate limited, instead of
  an error with a traceback, and counts it.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from typing import Any, cast

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestHandler

from .config import ConfigError, NodeConfig
from .metrics import NodeMetrics

PEER_CONNECTIONS = 512
"""Outgoing connections the node may hold (peers, forwarding; `main._peer_session`)."""
FD_RESERVE = 128
"""Descriptors kept for everything else: the sqlite files and their WALs, snapshot files and
copies, the lock, the listening socket, stdio, the event loop, the worker threads."""
DEFAULT_MAX_CONNECTIONS = 1024
SOFT_LIMIT_GOAL = 65536
REFUSAL_BODY = (
    b'{"Err":{"code":"too_many_connections","message":"the node has as many connections as it '
    b'serves; retry later","indeterminate":false}}'
)
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
    + str(len(REFUSAL_BODY)).encode()
    + b"\r\n\r\n"
    + REFUSAL_BODY
)


def raise_fd_limit() -> int:
    """Raise the soft open-file limit towards the hard one; returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    goal = SOFT_LIMIT_GOAL if hard == resource.RLIM_INFINITY else min(hard, SOFT_LIMIT_GOAL)
    if soft != resource.RLIM_INFINITY and soft < goal:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (goal, hard))
            soft = goal
        except (ValueError, OSError):
            pass  # keep the soft limit we have; the budget below decides
    return SOFT_LIMIT_GOAL if soft == resource.RLIM_INFINITY else soft


def connection_cap(config: NodeConfig, fd_limit: int) -> int:
    """The connection cap that fits `fd_limit` beside the peers and the files; ConfigError
    (exit 2) when a configured cap does not fit or the limit leaves no room at all."""
    room = fd_limit - PEER_CONNECTIONS - FD_RESERVE
    wanted = config.http_max_connections
    if wanted is None:
        if room < 16:
            raise ConfigError(
                f"http_max_connections: the open-file limit ({fd_limit}) leaves no room for "
                f"client connections beside {PEER_CONNECTIONS} peer connections and "
                f"{FD_RESERVE} files; raise `ulimit -n`"
            )
        return min(DEFAULT_MAX_CONNECTIONS, room)
    if wanted > room:
        raise ConfigError(
            f"http_max_connections: {wanted} does not fit the open-file limit ({fd_limit}) "
            f"beside {PEER_CONNECTIONS} peer connections and {FD_RESERVE} files (at most "
            f"{max(room, 0)}); lower it or raise `ulimit -n`"
        )
    return wanted


class _Refused(asyncio.Protocol):
    """One connection over the cap: a 503 and a close, without reading the request."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # NB: uvloop's transports are not `asyncio.Transport` instances, hence the cast.
        writable = cast(asyncio.WriteTransport, transport)
        writable.write(REFUSAL)
        writable.close()


class _Counted(asyncio.Protocol):
    """aiohttp's handler for one connection, counted from its creation to its loss.

    NB: the loop creates the protocols of a burst of accepted connections before any of their
    `connection_made` runs, so aiohttp's own list of connections lags; this count does not.
    """

    def __init__(self, inner: RequestHandler, factory: CappedFactory) -> None:
        self.inner = inner
        self._factory = factory

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._factory.open_count -= 1
        self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        self.inner.eof_received()
        return None  # the transport closes itself (aiohttp's handler keeps no half-open)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class CappedFactory:
    """The protocol factory of the listening socket: aiohttp's handler while under the cap,
    a refusal beyond it; a header timer on every handler."""

    def __init__(
        self, server: web.Server, cap: int, header_timeout_s: float, metrics: NodeMetrics
    ) -> None:
        self._server = server
        self._cap = cap
        self._header_timeout_s = header_timeout_s
        self._metrics = metrics
        self.open_count = 0
        """Invariant: the connections whose handler exists and was not lost yet."""
        metrics.connections.set_function(lambda: self.open_count)

    def __call__(self) -> asyncio.Protocol:
        if self.open_count >= self._cap:
            self._metrics.connections_refused.inc()
            return _Refused()
        handler = self._server()
        self.open_count += 1
        loop = asyncio.get_running_loop()
        loop.call_later(self._header_timeout_s, _close_without_request, handler, self._metrics)
        return _Counted(handler, self)


def _close_without_request(handler: RequestHandler, metrics: NodeMetrics) -> None:
    """Close a connection that has not delivered one whole request head in time.

    NB: aiohttp has no public counter of the requests a connection delivered; `_request_count`
    (parsed request heads, kept since aiohttp 3.8) is it. Without it, the idle timeout alone
    bounds the connection.
    """
    transport = handler.transport
    if transport is None or transport.is_closing():
        return
    if getattr(handler, "_request_count", 1) == 0:
        metrics.header_timeouts.inc()
        handler.force_close()
        transport.close()


class BoundedSite(web.BaseSite):
    """`web.TCPSite` with the connection cap and the header timeout."""

    def __init__(
        self, runner: web.AppRunner, host: str, port: int, factory_args: dict[str, Any]
    ) -> None:
        super().__init__(runner, shutdown_timeout=0.3)
        self._host = host
        self._port = port
        self._factory_args = factory_args

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        factory = CappedFactory(server, **self._factory_args)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, self._host, self._port, backlog=self._backlog, reuse_address=True
        )


class MalformedRequestLog(logging.Filter):
    """On aiohttp's server logger: a request it could not parse becomes one warning line
    without a traceback, at most one per `every_s` (the others counted in the next line)."""

    def __init__(self, metrics: NodeMetrics | None = None, every_s: float = 1.0) -> None:
        super().__init__()
        self.metrics = metrics
        self._every_s = every_s
        self._last = 0.0
        self._suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        if self.metrics is not None:
            self.metrics.malformed_requests.inc()
        now = time.monotonic()
        if now - self._last < self._every_s:
            self._suppressed += 1
            return False
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
        reason = str(getattr(exc, "message", "") or exc).splitlines()[0][:200]
        record.msg = "refused a request the client malformed (answered 400)"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.fields = {"remote": remote, "reason": reason, "suppressed": self._suppressed}
        self._last, self._suppressed = now, 0
        return True


def install_malformed_request_log(metrics: NodeMetrics) -> MalformedRequestLog:
    """Attach the filter to aiohttp's server logger (once per process)."""
    logger = logging.getLogger("aiohttp.server")
    for existing in logger.filters:
        if isinstance(existing, MalformedRequestLog):
            existing.metrics = metrics
            return existing
    log_filter = MalformedRequestLog(metrics)
    logger.addFilter(log_filter)
    return log_filter
