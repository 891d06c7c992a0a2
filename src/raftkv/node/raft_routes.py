"""Inbound peer traffic: `/raft/vote`, `/raft/append`, `/raft/snapshot`, `/raft/identity`.

The receiver checks the envelope (cluster, addressee, storage incarnation), queues the message
for the driver and answers 200 at once: messages are one-way, a response is a message of its
own. A mismatched envelope gets 409 `cluster_mismatch` and changes nothing.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from raftkv.core import SnapshotRequest

from .context import CTX_KEY, NodeContext, read_body
from .wire import ApiFailure, Identity, PeerEnvelope, bad_request, envelope_decoder, ok

RAFT_BODY_LIMIT = 8 * 1024 * 1024
"""Appends are capped below 1 MiB by the core and snapshots are chunked; this is a backstop."""


class SnapshotAssembler:
    """Reassembles chunked snapshots, one transfer per sender at a time."""

    def __init__(self) -> None:
        self._partial: dict[int, tuple[tuple[int, int, int, int], bytearray]] = {}

    def add(self, env: PeerEnvelope, msg: SnapshotRequest) -> SnapshotRequest | None:
        """The complete request once its last chunk arrived, else None."""
        key = (msg.term, msg.meta.last_index, msg.seq, env.chunk_total)
        if env.chunk_offset == 0:
            self._partial[env.frm] = (key, bytearray())
        current = self._partial.get(env.frm)
        if current is None or current[0] != key or len(current[1]) != env.chunk_offset:
            self._partial.pop(env.frm, None)
            raise bad_request(f"snapshot chunk at offset {env.chunk_offset} is out of order")
        buffer = current[1]
        buffer += msg.data
        if len(buffer) < env.chunk_total:
            return None
        del self._partial[env.frm]
        if len(buffer) > env.chunk_total:
            raise bad_request("snapshot chunks exceed the announced size")
        return msgspec.structs.replace(msg, data=bytes(buffer))


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
    if env.msg is None:
        raise bad_request("peer envelope carries no message")
    check_envelope(ctx, env)
    ctx.driver.peers.heard_from(env.frm, env.from_addr)
    msg = env.msg
    if isinstance(msg, SnapshotRequest) and env.chunk_total >= 0:
        assembled = request.app[ASSEMBLER_KEY].add(env, msg)
        if assembled is None:
            return web.Response(status=200)
        msg = assembled
    ctx.driver.step(msg)
    return web.Response(status=200)


async def raft_identity(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    return ok(
        Identity(
            node_id=ctx.node_id,
            storage_id=ctx.identity.storage_id,
            cluster_id=ctx.driver.peers.cluster_id,
        )
    )


ASSEMBLER_KEY = web.AppKey("raftkv_snapshot_assembler", SnapshotAssembler)


def add_raft_routes(app: web.Application) -> None:
    app[ASSEMBLER_KEY] = SnapshotAssembler()
    for path in ("/raft/vote", "/raft/append", "/raft/snapshot"):
        app.router.add_post(path, raft_message)
    app.router.add_get("/raft/identity", raft_identity)
