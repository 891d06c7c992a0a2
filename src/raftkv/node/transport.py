"""Outbound peer transport: Raft messages to each peer over one WebSocket, `/raft/stream`.

Each peer gets a sender with a bounded queue and one task that writes whatever is queued as a
single frame (a msgpack array of envelopes), so a busy leader batches without a linger timer
and a follower receives its appends in order. Messages are one-way: a response is a message
of the peer's own, on its own stream. Snapshots travel as chunked POSTs to `/raft/snapshot`
from a task of their own (only the newest waits); a peer without `/raft/stream` (404 or 405
on the upgrade) gets every message as a POST. An unreachable peer is retried with a backoff
capped at the heartbeat interval, so a restarted node is heard from quickly; the log says once
when a peer goes down and once when it is back. A ping every `request_timeout_s` notices a
peer that stopped reading (paused, or cut off by a partition).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field

import aiohttp
import msgspec

from raftkv.core import (
    Message,
    NodeInfo,
    SnapshotRequest,
    SnapshotResponse,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)

from .logs import event
from .state_snapshots import SnapshotToSend
from .wire import STREAM_CLOSE_S, STREAM_PATH, PeerEnvelope, envelope_encoder, stream_frame

QUEUE_LIMIT = 4096
"""Messages queued for one peer; beyond it the oldest are dropped (Raft resends)."""
FIRST_BACKOFF_S = 0.01
STREAM_FRAME_BYTES = 4 * 1024 * 1024
"""A frame closes before it would pass this size; appends are below 1 MiB each and the
receiver takes frames up to `RAFT_BODY_LIMIT` (8 MiB)."""

SNAPSHOT_CHUNK_TIMEOUT = aiohttp.ClientTimeout(total=300)
"""A snapshot's last chunk is answered after the receiver verified the whole file (seconds per
gigabyte); the transfer has a task of its own, so nothing else waits for it."""

SnapshotSource = Callable[[SnapshotRequest], Awaitable["SnapshotToSend | None"]]


def raft_path(msg: Message) -> str:
    """The POST endpoint of a message (same split as the reference node)."""
    if isinstance(msg, VoteRequest | VoteResponse | TimeoutNow):
        return "/raft/vote"
    if isinstance(msg, SnapshotRequest | SnapshotResponse):
        return "/raft/snapshot"
    return "/raft/append"


@dataclass
class PeerBook:
    """Where peers are and which storage incarnation each is: the replicated membership
    first, then the config's `peer_addrs`. An address a sender announces in its envelope is
    used only while this node knows no membership (a pristine node answering the leader that
    is adding it); once it knows one, announced addresses are forgotten and never dialled."""

    static_addrs: dict[int, str]
    members: dict[int, NodeInfo] = field(default_factory=dict)
    cluster_id: str = ""
    heard_addrs: dict[int, str] = field(default_factory=dict)

    @property
    def pristine(self) -> bool:
        return not self.members and not self.cluster_id

    def addr(self, node_id: int) -> str | None:
        info = self.members.get(node_id)
        if info is not None:
            return info.addr
        if node_id in self.static_addrs:
            return self.static_addrs[node_id]
        return self.heard_addrs.get(node_id) if self.pristine else None

    def heard_from(self, node_id: int, addr: str) -> None:
        """The address a leader announced while this node is pristine."""
        if addr and self.pristine:
            self.heard_addrs[node_id] = addr

    def set_members(self, members: dict[int, NodeInfo], cluster_id: str) -> None:
        self.members = members
        if cluster_id:
            self.cluster_id = cluster_id
        if not self.pristine:
            self.heard_addrs.clear()

    def storage_id(self, node_id: int) -> str:
        info = self.members.get(node_id)
        return info.storage_id if info is not None else ""


class PeerDown(Exception):
    """A peer did not take a message (connection failure, timeout or refusal)."""


class StreamUnsupported(Exception):
    """The peer answered the `/raft/stream` upgrade with 404 or 405."""


def _describe(exc: BaseException) -> str:
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


class PeerSender:
    """The queue, the stream and the writing task of one peer."""

    def __init__(self, transport: PeerTransport, peer_id: int) -> None:
        self.peer_id = peer_id
        self._transport = transport
        self._queue: deque[Message] = deque()
        self._queued = asyncio.Event()
        self._down = False
        self._backoff_s = 0.0
        self._retry_at = 0.0
        self._stream: aiohttp.ClientWebSocketResponse | None = None
        self._stream_addr = ""
        self._reader: asyncio.Task[None] | None = None
        self._post_only = False
        self._closing = False
        self._snapshot: SnapshotRequest | None = None
        self._snapshot_queued = asyncio.Event()
        self._writer = asyncio.create_task(self._work())
        self._snapshot_writer = asyncio.create_task(self._work_snapshots())

    @property
    def up(self) -> bool:
        """False from a failed delivery until the next successful one."""
        return not self._down

    def enqueue(self, msg: Message) -> None:
        if isinstance(msg, SnapshotRequest):
            # Its own task: a long transfer must not hold up the heartbeats behind it.
            self._snapshot = msg
            self._snapshot_queued.set()
            return
        if len(self._queue) >= QUEUE_LIMIT:
            self._queue.popleft()
        self._queue.append(msg)
        self._queued.set()

    async def close(self) -> None:
        self._closing = True
        tasks = [t for t in (self._writer, self._snapshot_writer, self._reader) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._drop_stream()

    async def _work(self) -> None:
        while True:
            while not self._queue:
                self._queued.clear()
                await self._queued.wait()
            await self._until_retry()
            batch = list(self._queue)
            self._queue.clear()
            await self._attempt(self._deliver(batch))

    async def _work_snapshots(self) -> None:
        while True:
            await self._snapshot_queued.wait()
            self._snapshot_queued.clear()
            await self._until_retry()
            msg, self._snapshot = self._snapshot, None
            if msg is not None:
                await self._attempt(self._transport.deliver(self.peer_id, msg))

    async def _until_retry(self) -> None:
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _attempt(self, delivery: Coroutine[None, None, None]) -> None:
        try:
            await delivery
        except PeerDown as exc:
            self._mark_down(str(exc))
        else:
            self._mark_up()

    async def _deliver(self, msgs: list[Message]) -> None:
        if not self._post_only:
            try:
                await self._send_stream(msgs)
                return
            except StreamUnsupported:
                self._post_only = True
                event(
                    self._transport.log, "peer has no /raft/stream; using POST", peer=self.peer_id
                )
        for msg in msgs:
            await self._transport.deliver(self.peer_id, msg)

    async def _send_stream(self, msgs: list[Message]) -> None:
        transport = self._transport
        stream = await self._connected()
        frame: list[bytes] = []
        size = 0
        try:
            for msg in msgs:
                body = transport.envelope(msg)
                if frame and size + len(body) > STREAM_FRAME_BYTES:
                    await self._send_frame(stream, frame)
                    frame, size = [], 0
                frame.append(body)
                size += len(body)
            await self._send_frame(stream, frame)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            await self._drop_stream()
            raise PeerDown(_describe(exc)) from exc
        transport.sent_messages += len(msgs)

    async def _send_frame(
        self, stream: aiohttp.ClientWebSocketResponse, frame: list[bytes]
    ) -> None:
        # A peer that stopped reading fills the socket buffers; then the write waits for drain.
        async with asyncio.timeout(self._transport.request_timeout_s):
            await stream.send_bytes(stream_frame(frame))

    async def _connected(self) -> aiohttp.ClientWebSocketResponse:
        """The open stream to the peer's current address, opened anew when needed."""
        transport = self._transport
        addr = transport.peers.addr(self.peer_id)
        stream = self._stream
        if stream is not None and not stream.closed and addr == self._stream_addr:
            return stream
        await self._drop_stream()  # the membership moved the peer: a stream per address
        if addr is None:
            raise PeerDown("no address known")
        try:
            async with asyncio.timeout(transport.request_timeout_s):
                stream = await transport.session.ws_connect(
                    f"http://{addr}{STREAM_PATH}",
                    headers=transport.auth_headers,
                    heartbeat=transport.request_timeout_s,
                    timeout=aiohttp.ClientWSTimeout(ws_close=STREAM_CLOSE_S),
                    compress=0,
                )
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (404, 405):
                raise StreamUnsupported from exc
            raise PeerDown(f"HTTP {exc.status} on {STREAM_PATH}: {exc.message}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PeerDown(_describe(exc)) from exc
        self._stream, self._stream_addr = stream, addr
        self._reader = asyncio.create_task(self._read(stream))
        return stream

    async def _read(self, stream: aiohttp.ClientWebSocketResponse) -> None:
        """Take the peer's control frames (pongs, close): it sends nothing else. A stream that
        ends while in use marks the peer down with the reason the peer gave."""
        while True:
            frame = await stream.receive()
            if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING):
                reason = f"stream closed by the peer ({frame.data}): {frame.extra or ''}"
                break
            if frame.type is aiohttp.WSMsgType.CLOSED:
                reason = "stream closed"
                break
            if frame.type is aiohttp.WSMsgType.ERROR:
                reason = f"stream failed: {_describe(frame.data)}"
                break
        current = self._stream is stream  # not one this sender replaced or dropped itself
        if current:
            self._stream = None
        if current and not self._closing:
            self._mark_down(reason)
        with contextlib.suppress(Exception):
            await stream.close()

    async def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                await stream.close()

    def _mark_down(self, reason: str) -> None:
        # What is queued will be stale by the time the peer answers again (the core resends
        # what matters); delivering it first would only delay the fresh messages.
        self._queue.clear()
        cap = self._transport.backoff_cap_s
        self._backoff_s = min(cap, self._backoff_s * 2 if self._backoff_s else FIRST_BACKOFF_S)
        self._retry_at = time.monotonic() + self._backoff_s
        if not self._down:
            self._down = True
            event(
                self._transport.log, "peer down", logging.WARNING, peer=self.peer_id, reason=reason
            )

    def _mark_up(self) -> None:
        self._backoff_s = 0.0
        self._retry_at = 0.0
        if self._down:
            self._down = False
            event(self._transport.log, "peer up", peer=self.peer_id)


class PeerTransport:
    """Sends the core's messages to peers; `send` never blocks."""

    def __init__(
        self,
        *,
        node_id: int,
        public_addr: str = "",
        session: aiohttp.ClientSession,
        peers: PeerBook,
        auth_token: str | None,
        snapshot_source: SnapshotSource,
        chunk_bytes: int,
        backoff_cap_s: float,
        request_timeout_s: float,
        log: logging.Logger,
    ) -> None:
        self.node_id = node_id
        self.public_addr = public_addr
        self.peers = peers
        self.log = log
        self.backoff_cap_s = backoff_cap_s
        self.sent_messages = 0
        self.session = session
        self.auth_headers = {} if auth_token is None else {"Authorization": f"Bearer {auth_token}"}
        self._headers = {"Content-Type": "application/msgpack", **self.auth_headers}
        self._snapshot_source = snapshot_source
        self._chunk_bytes = chunk_bytes
        self.request_timeout_s = request_timeout_s
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._senders: dict[int, PeerSender] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self.unaddressable_messages = 0
        """Messages dropped because their addressee has no address (not a member)."""

    def peers_up(self) -> dict[int, bool]:
        """Each peer messages were sent to, and whether the last delivery worked."""
        return {peer: sender.up for peer, sender in sorted(self._senders.items())}

    def send(self, msg: Message) -> None:
        """Queue `msg` for its peer; dropped if the peer has no address (no sender, no metric
        series: only members and configured peers get them)."""
        sender = self._senders.get(msg.to)
        if sender is None:
            if self.peers.addr(msg.to) is None:
                self.unaddressable_messages += 1
                return
            sender = self._senders[msg.to] = PeerSender(self, msg.to)
        sender.enqueue(msg)

    def forget_unaddressable(self) -> None:
        """Close the senders of peers that have no address any more (a member that left)."""
        for peer in [p for p in self._senders if self.peers.addr(p) is None]:
            task = asyncio.create_task(self._senders.pop(peer).close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self._senders.values()), *self._closing)
        self._senders.clear()

    async def deliver(self, peer_id: int, msg: Message) -> None:
        """POST one message (a snapshot as a series of chunks); PeerDown when it fails."""
        addr = self.peers.addr(peer_id)
        if addr is None:
            raise PeerDown("no address known")
        url = f"http://{addr}{raft_path(msg)}"
        if isinstance(msg, SnapshotRequest):
            await self._deliver_snapshot(url, msg)
            return
        await self._post(url, self.envelope(msg))
        self.sent_messages += 1

    async def _deliver_snapshot(self, url: str, msg: SnapshotRequest) -> None:
        """Stream a state file at `msg`'s snapshot or later, chunk by chunk from disk."""
        to_send = await self._snapshot_source(msg)
        if to_send is None:
            # The core cannot describe the copy now; it asks again after its retry timeout.
            self.log.debug("snapshot for %d not available; dropped", msg.to)
            return
        msg = msgspec.structs.replace(msg, meta=to_send.meta)
        file = to_send.file
        with file.path.open("rb") as source:  # open: a newer copy may unlink the name
            for offset in range(0, max(file.size, 1), self._chunk_bytes):
                data = await asyncio.to_thread(source.read, self._chunk_bytes)
                chunk = msgspec.structs.replace(msg, data=data)
                body = self.envelope(chunk, offset=offset, total=file.size, sha256=file.sha256)
                await self._post(url, body, SNAPSHOT_CHUNK_TIMEOUT)
        self.sent_messages += 1

    def envelope(
        self, msg: Message, *, offset: int = 0, total: int = -1, sha256: str = ""
    ) -> bytes:
        return envelope_encoder.encode(
            PeerEnvelope(
                cluster_id=self.peers.cluster_id,
                frm=self.node_id,
                to=msg.to,
                to_storage_id=self.peers.storage_id(msg.to),
                msg=msg,
                chunk_offset=offset,
                chunk_total=total,
                from_addr=self.public_addr,
                snapshot_sha256=sha256,
            )
        )

    async def _post(
        self, url: str, body: bytes, timeout: aiohttp.ClientTimeout | None = None
    ) -> None:
        try:
            async with self.session.post(
                url, data=body, headers=self._headers, timeout=timeout or self._timeout
            ) as resp:
                answer = await resp.read()
                if resp.status != 200:
                    raise PeerDown(f"HTTP {resp.status}: {answer[:200].decode(errors='replace')}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PeerDown(_describe(exc)) from exc
