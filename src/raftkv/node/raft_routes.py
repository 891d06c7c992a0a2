"""Inbound peer traffic: `/raft/stream`, `/raft/vote`, `/raft/append`, `/raft/snapshot`,
`/raft/identity`.

The receiver checks each envelope (cluster, addressee, storage incarnation) and queues the
message for the driver: messages are one-way, a response is a message of its own. On a POST
it answers 200 at once; a mismatched envelope gets 409 `cluster_mismatch` and changes nothing.
`/raft/stream` is a WebSocket carrying frames of envelopes from one peer; a frame that cannot
be decoded or is misaddressed closes the stream with a code and the reason, and nothing of
that frame is stepped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Container
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec
from aiohttp import WSCloseCode, WSMsgType, web

from raftkv.core import (
    AppendRequest,
    AppendResponse,
    EntryKind,
    Message,
    MessageRejected,
    ReadIndexRequest,
    ReadIndexResponse,
    SnapshotRequest,
    SnapshotResponse,
    VoteResponse,
)
from raftkv.kv.commands import decode_command
from raftkv.kv.state_files import SnapshotInvalid, fsync_path, verify_state_file

from .config import MIB
from .context import CTX_KEY, NodeContext, read_body
from .driver import DriverStats
from .logs import event
from .peer_rejections import PeerRejections
from .state_snapshots import StateFiles, install_token
from .transport import PeerBook
from .wire import (
    STREAM_CLOSE_S,
    STREAM_PATH,
    ApiFailure,
    Identity,
    PeerEnvelope,
    bad_request,
    envelope_decoder,
    ok,
    stream_frame_decoder,
)

RAFT_BODY_LIMIT = 8 * 1024 * 1024
"""Appends are capped below 1 MiB by the core and snapshots are chunked; this is a backstop
(also for one `/raft/stream` frame)."""
STREAM_HEARTBEAT_S = 10.0
"""The receiving side pings too, so a stream from a peer that vanished is not kept forever."""
STREAMS_KEY = web.AppKey("raftkv_peer_streams", set[web.WebSocketResponse])
CLOSE_MISADDRESSED = 4409
"""WebSocket close code (application range) for a frame failing `check_envelope`."""


SNAPSHOT_IDLE_S = 300.0
"""A transfer that received no chunk for this long is dropped (its file removed)."""
MAX_TRANSFERS = 4
"""Transfers received at once; beyond it a non-member's is dropped for a member's, and a
non-member's new one is refused."""


@dataclass
class _Transfer:
    key: tuple[int, int, int, int, str]
    file: BinaryIO
    received: int = 0
    active_at: float = 0.0


class SnapshotReceiver:
    """Writes chunked snapshots to a file per sender (`recv-<peer>.part`), one transfer per
    sender at a time, at most `MAX_TRANSFERS` at once, none announced larger than
    `max_bytes` and none from a term older than this node's; a complete file is verified
    before the core ever hears of it."""

    def __init__(
        self,
        files: StateFiles,
        log: logging.Logger,
        stats: DriverStats,
        rejections: PeerRejections,
        *,
        max_bytes: int,
        term: Callable[[], int],
        members: Callable[[], Container[int]],
    ) -> None:
        self._files = files
        self._log = log
        self._stats = stats
        self._rejections = rejections
        self._max_bytes = max_bytes
        self._term = term
        self._members = members
        self._partial: dict[int, _Transfer] = {}

    def _refuse(self, env: PeerEnvelope, reason: str, message: str) -> MessageRejected:
        self._drop(env.frm)
        self._rejections.refused(reason, env.frm, message)
        return MessageRejected(reason, message)

    def _admit(self, env: PeerEnvelope, msg: SnapshotRequest) -> None:
        """Checks before a transfer's first byte is written."""
        if env.chunk_total > self._max_bytes:
            raise self._refuse(
                env,
                "snapshot_too_large",
                f"a snapshot of {env.chunk_total} bytes is over max_snapshot_mb",
            )
        term = self._term()
        if msg.term < term:
            raise self._refuse(
                env,
                "stale_term",
                f"snapshot of term {msg.term}, this node is at {term}",
            )
        now = time.monotonic()
        for sender, transfer in list(self._partial.items()):
            if now - transfer.active_at > SNAPSHOT_IDLE_S:
                self._drop(sender)
        self._drop(env.frm)
        if len(self._partial) >= MAX_TRANSFERS:
            members = self._members()
            strangers = [p for p in self._partial if p not in members]
            if env.frm not in members or not strangers:
                raise self._refuse(env, "too_many_transfers", "too many snapshot transfers")
            self._drop(min(strangers, key=lambda p: self._partial[p].active_at))

    async def add(self, env: PeerEnvelope, msg: SnapshotRequest) -> SnapshotRequest | None:
        """The request to step once its last chunk arrived and verified, else None."""
        key = (msg.term, msg.meta.last_index, msg.seq, env.chunk_total, env.snapshot_sha256)
        if env.chunk_offset == 0:
            self._admit(env, msg)
            path = self._part_path(env.frm)
            self._partial[env.frm] = _Transfer(key, await asyncio.to_thread(path.open, "wb"))
        transfer = self._partial.get(env.frm)
        if transfer is None or transfer.key != key or transfer.received != env.chunk_offset:
            self._drop(env.frm)
            raise bad_request(f"snapshot chunk at offset {env.chunk_offset} is out of order")
        transfer.active_at = time.monotonic()
        await asyncio.to_thread(transfer.file.write, msg.data)
        transfer.received += len(msg.data)
        if transfer.received < env.chunk_total:
            return None
        del self._partial[env.frm]
        if transfer.received > env.chunk_total:
            transfer.file.close()
            raise bad_request("snapshot chunks exceed the announced size")
        name = await self._verified(env, msg, transfer.file)
        return msgspec.structs.replace(msg, data=install_token(name))

    async def _verified(self, env: PeerEnvelope, msg: SnapshotRequest, file: BinaryIO) -> str:
        part = self._part_path(env.frm)
        dest = self._files.install_path(msg.meta.last_index)
        try:
            await asyncio.to_thread(
                _seal, file, part, msg.meta.last_index, env.snapshot_sha256, dest
            )
        except SnapshotInvalid as exc:
            self._stats.snapshots_refused += 1
            event(self._log, "snapshot refused", logging.WARNING, sender=env.frm, reason=str(exc))
            raise bad_request(f"snapshot refused: {exc}") from exc
        return dest.name

    def _part_path(self, sender: int) -> Path:
        return self._files.directory / f"recv-{sender}.part"

    def _drop(self, sender: int) -> None:
        transfer = self._partial.pop(sender, None)
        if transfer is not None:
            transfer.file.close()
            self._part_path(sender).unlink(missing_ok=True)


def _seal(file: BinaryIO, part: Path, index: int, sha256: str, dest: Path) -> None:
    """Make the received file durable, verify it, and give it its install name."""
    try:
        file.flush()
        os.fsync(file.fileno())
    finally:
        file.close()
    try:
        verify_state_file(part, index, sha256)
    except SnapshotInvalid:
        part.unlink(missing_ok=True)
        raise
    part.replace(dest)
    fsync_path(dest.parent, directory=True)


def check_envelope(ctx: NodeContext, env: PeerEnvelope) -> None:
    """409 `cluster_mismatch` unless the message is for this node and this storage.

    An empty cluster id on either side is a node that has not joined yet (pristine): it is
    accepted, or a new learner could never answer its first append.
    """
    mine = ctx.driver.peers.cluster_id
    reasons = []
    if env.to != ctx.node_id or (env.msg is not None and env.msg.to != ctx.node_id):
        reasons.append(f"addressed to node {env.to}, this is node {ctx.node_id}")
    if env.to_storage_id and env.to_storage_id != ctx.identity.storage_id:
        reasons.append(
            f"addressed to storage {env.to_storage_id}, this node's storage is "
            f"{ctx.identity.storage_id} (a wiped node must rejoin under a new id)"
        )
    if mine and env.cluster_id and env.cluster_id != mine:
        reasons.append(f"from cluster {env.cluster_id}, this node is in cluster {mine}")
    if reasons:
        raise ApiFailure(409, "cluster_mismatch", "; ".join(reasons))


async def raft_message(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    body = await read_body(request, RAFT_BODY_LIMIT)
    try:
        env = envelope_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise bad_request(f"invalid peer envelope: {exc}") from exc
    try:
        msg = accept_envelope(ctx, env)
        if isinstance(msg, SnapshotRequest) and env.chunk_total >= 0:
            assembled = await request.app[RECEIVER_KEY].add(env, msg)
            if assembled is None:
                return web.Response(status=200)
            msg = assembled
    except MessageRejected as refusal:
        raise bad_request(f"peer message refused: {refusal}") from refusal
    ctx.driver.step(msg)
    return web.Response(status=200)


_RESPONSES = (VoteResponse, AppendResponse, SnapshotResponse, ReadIndexRequest, ReadIndexResponse)
"""Kinds only a member sends (answers to this node, or a follower's read); requests may come
from a leader this node does not know yet (its membership entry is still on the way)."""


def accept_envelope(ctx: NodeContext, env: PeerEnvelope) -> Message:
    """The envelope's message once it passed `check_envelope` and `_refusal`; a pristine
    node notes a leader's announced address (the only time one is used)."""
    if env.msg is None:
        raise bad_request("peer envelope carries no message")
    check_envelope(ctx, env)
    msg = env.msg
    peers = ctx.driver.peers
    reason = _refusal(peers, env, msg)
    if reason is not None:
        ctx.driver.rejections.refused(reason[0], env.frm, f"{reason[1]}: {msg.describe()}")
        raise MessageRejected(*reason)
    if isinstance(msg, AppendRequest | SnapshotRequest):
        peers.heard_from(env.frm, env.from_addr)
    return msg


def _refusal(peers: PeerBook, env: PeerEnvelope, msg: Message) -> tuple[str, str] | None:
    if msg.frm != env.frm:
        return "sender_mismatch", f"envelope from {env.frm} carries a message from {msg.frm}"
    if isinstance(msg, _RESPONSES) and not peers.pristine and env.frm not in peers.members:
        return "unknown_sender", f"node {env.frm} is not a member"
    if isinstance(msg, AppendRequest):
        for entry in msg.entries:
            if entry.kind is EntryKind.COMMAND:
                try:
                    decode_command(entry.data)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    return "bad_command", f"entry {entry.index} is not a command: {exc}"
    return None


async def raft_stream(request: web.Request) -> web.WebSocketResponse:
    """Step the messages of each binary frame, in order, until the peer closes."""
    ctx = request.app[CTX_KEY]
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise bad_request(f"{STREAM_PATH} is a WebSocket: send `Upgrade: websocket`")
    stream = web.WebSocketResponse(
        timeout=STREAM_CLOSE_S,
        max_msg_size=RAFT_BODY_LIMIT,
        heartbeat=STREAM_HEARTBEAT_S,
        compress=False,
    )
    await stream.prepare(request)
    open_streams = request.app[STREAMS_KEY]
    open_streams.add(stream)
    sender: int | None = None
    abrupt = False
    try:
        idle_s = ctx.config.http_idle_timeout_s
        while True:
            try:
                frame = await stream.receive(timeout=idle_s)
            except TimeoutError:
                # A peer with something to say speaks every heartbeat; the stream reopens
                # when it has again.
                event(ctx.driver.log, "idle peer stream closed", idle_s=idle_s, peer=sender)
                await stream.close(code=WSCloseCode.GOING_AWAY, message=b"idle")
                break
            if frame.type is WSMsgType.CLOSED:
                # The connection ended without a close frame: the sender's process died (its
                # kernel closed the socket) or the connection was torn down under it.
                abrupt = True
                break
            if frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING):
                break
            if frame.type is WSMsgType.ERROR:  # e.g. a frame over the limit: aiohttp closed it
                failure = stream.exception()
                abrupt = isinstance(failure, ConnectionError)
                event(ctx.driver.log, "peer stream failed", logging.WARNING, reason=str(failure))
                break
            if frame.type is not WSMsgType.BINARY:
                await _refuse(ctx, stream, WSCloseCode.UNSUPPORTED_DATA, "binary frames only")
                break
            try:
                messages = _frame_messages(ctx, frame.data)
            except ApiFailure as failure:
                code = CLOSE_MISADDRESSED if failure.status == 409 else WSCloseCode.INVALID_TEXT
                await _refuse(ctx, stream, code, failure.message)
                break
            for msg in messages:
                ctx.driver.step(msg)
            if messages:
                sender = messages[-1].frm
    finally:
        open_streams.discard(stream)
    if abrupt and sender is not None:
        ctx.driver.connection_lost(sender)
    return stream


def _frame_messages(ctx: NodeContext, data: bytes) -> list[Message]:
    try:
        envelopes = stream_frame_decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise bad_request(f"invalid peer stream frame: {exc}") from exc
    if any(env.chunk_total >= 0 for env in envelopes):
        raise bad_request("snapshot chunks travel on /raft/snapshot, not on the stream")
    accepted = []
    for env in envelopes:
        try:
            accepted.append(accept_envelope(ctx, env))
        except MessageRejected:
            continue  # counted; the stream's other messages are the peer's own business
    return accepted


async def _refuse(ctx: NodeContext, stream: web.WebSocketResponse, code: int, reason: str) -> None:
    event(ctx.driver.log, "peer stream refused", logging.WARNING, code=code, reason=reason)
    # A close reason is limited to 123 bytes by the protocol.
    await stream.close(code=code, message=reason.encode()[:123])


async def close_streams(app: web.Application) -> None:
    """On shutdown: peers see a clean close (and reconnect elsewhere or later)."""
    streams = app[STREAMS_KEY]
    closing = [
        stream.close(code=WSCloseCode.GOING_AWAY, message=b"node stopping") for stream in streams
    ]
    await asyncio.gather(*closing, return_exceptions=True)


async def raft_identity(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    return ok(
        Identity(
            node_id=ctx.node_id,
            storage_id=ctx.identity.storage_id,
            cluster_id=ctx.driver.peers.cluster_id,
        )
    )


RECEIVER_KEY = web.AppKey("raftkv_snapshot_receiver", SnapshotReceiver)


def add_raft_routes(app: web.Application, ctx: NodeContext) -> None:
    driver = ctx.driver
    app[RECEIVER_KEY] = SnapshotReceiver(
        driver.files,
        driver.log,
        driver.stats,
        driver.rejections,
        max_bytes=ctx.config.max_snapshot_mb * MIB,
        term=lambda: driver.term,
        members=lambda: driver.peers.members,
    )
    app[STREAMS_KEY] = set()
    app.on_shutdown.append(close_streams)
    app.router.add_get(STREAM_PATH, raft_stream)
    for path in ("/raft/vote", "/raft/append", "/raft/snapshot"):
        app.router.add_post(path, raft_message)
    app.router.add_get("/raft/identity", raft_identity)
