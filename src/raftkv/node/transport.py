"""Outbound peer transport: one-way Raft messages POSTed as msgpack envelopes.

Each peer gets a sender with a bounded queue and a few worker tasks sharing one keep-alive
session, so a few requests are in flight per peer (the core tolerates reordering and loss).
An unreachable peer is retried with a backoff capped at the heartbeat interval, so a restarted
node is heard from quickly; the log says once when a peer goes down and once when it is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import msgspec

from raftkv.core import (
    Message,
    NodeInfo,
    SnapshotMeta,
    SnapshotRequest,
    SnapshotResponse,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)

from .logs import event
from .wire import PeerEnvelope, envelope_encoder

WORKERS_PER_PEER = 3
QUEUE_LIMIT = 4096
"""Messages queued for one peer; beyond it the oldest are dropped (Raft resends)."""
FIRST_BACKOFF_S = 0.01

SnapshotSource = Callable[[], "tuple[SnapshotMeta, bytes] | None"]


def raft_path(msg: Message) -> str:
    """The `/raft/*` endpoint a message travels on (same split as the reference node)."""
    if isinstance(msg, VoteRequest | VoteResponse | TimeoutNow):
        return "/raft/vote"
    if isinstance(msg, SnapshotRequest | SnapshotResponse):
        return "/raft/snapshot"
    return "/raft/append"


@dataclass
class PeerBook:
    """Where peers are and which storage incarnation each is: the replicated membership
    first, then the config's `peer_addrs`."""

    static_addrs: dict[int, str]
    members: dict[int, NodeInfo] = field(default_factory=dict)
    cluster_id: str = ""
    heard_addrs: dict[int, str] = field(default_factory=dict)
    """Addresses senders announced in their envelopes; used only when nothing else is known."""

    def addr(self, node_id: int) -> str | None:
        info = self.members.get(node_id)
        if info is not None:
            return info.addr
        return self.static_addrs.get(node_id) or self.heard_addrs.get(node_id)

    def heard_from(self, node_id: int, addr: str) -> None:
        if addr:
            self.heard_addrs[node_id] = addr

    def storage_id(self, node_id: int) -> str:
        info = self.members.get(node_id)
        return info.storage_id if info is not None else ""


class PeerDown(Exception):
    """A peer did not take a message (connection failure, timeout or refusal)."""


class PeerSender:
    """The queue and workers of one peer."""

    def __init__(self, transport: PeerTransport, peer_id: int) -> None:
        self.peer_id = peer_id
        self._transport = transport
        self._queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE_LIMIT)
        self._down = False
        self._backoff_s = 0.0
        self._retry_at = 0.0
        self._workers = [asyncio.create_task(self._work()) for _ in range(WORKERS_PER_PEER)]

    @property
    def up(self) -> bool:
        """False from a failed delivery until the next successful one."""
        return not self._down

    def enqueue(self, msg: Message) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(msg)

    async def close(self) -> None:
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            msg = await self._queue.get()
            wait = self._retry_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                await self._transport.deliver(self.peer_id, msg)
            except PeerDown as exc:
                self._mark_down(str(exc))
            else:
                self._mark_up()

    def _mark_down(self, reason: str) -> None:
        # What is queued will be stale by the time the peer answers again (the core resends
        # what matters); delivering it first would only delay the fresh messages.
        while not self._queue.empty():
            self._queue.get_nowait()
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
        self._session = session
        self._headers = {"Content-Type": "application/msgpack"}
        if auth_token is not None:
            self._headers["Authorization"] = f"Bearer {auth_token}"
        self._snapshot_source = snapshot_source
        self._chunk_bytes = chunk_bytes
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._senders: dict[int, PeerSender] = {}

    def peers_up(self) -> dict[int, bool]:
        """Each peer messages were sent to, and whether the last delivery worked."""
        return {peer: sender.up for peer, sender in sorted(self._senders.items())}

    def send(self, msg: Message) -> None:
        sender = self._senders.get(msg.to)
        if sender is None:
            sender = self._senders[msg.to] = PeerSender(self, msg.to)
        sender.enqueue(msg)

    async def close(self) -> None:
        await asyncio.gather(*(s.close() for s in self._senders.values()))
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
        await self._post(url, self._envelope(msg))
        self.sent_messages += 1

    async def _deliver_snapshot(self, url: str, msg: SnapshotRequest) -> None:
        latest = self._snapshot_source()
        if latest is None or latest[0].last_index != msg.meta.last_index:
            # A newer snapshot replaced it between the core's send and now: the core sends
            # again with the newer meta after it compacts; this one is dropped like a loss.
            self.log.debug("snapshot %d no longer stored; dropped", msg.meta.last_index)
            return
        data = latest[1]
        offsets = range(0, max(len(data), 1), self._chunk_bytes)
        for offset in offsets:
            chunk = msgspec.structs.replace(msg, data=data[offset : offset + self._chunk_bytes])
            await self._post(url, self._envelope(chunk, offset=offset, total=len(data)))
        self.sent_messages += 1

    def _envelope(self, msg: Message, *, offset: int = 0, total: int = -1) -> bytes:
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
            )
        )

    async def _post(self, url: str, body: bytes) -> None:
        try:
            async with self._session.post(
                url, data=body, headers=self._headers, timeout=self._timeout
            ) as resp:
                answer = await resp.read()
                if resp.status != 200:
                    raise PeerDown(f"HTTP {resp.status}: {answer[:200].decode(errors='replace')}")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise PeerDown(type(exc).__name__ + (f": {exc}" if str(exc) else "")) from exc
