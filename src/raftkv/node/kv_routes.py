"""Client routes: `/healthz`, `/state`, `/kv/write`, `/kv/read`.

A write on a follower or learner is forwarded one hop to the leader. A read is local by
default (the reference behaviour); `consistency: linearizable` goes through ReadIndex, on any
node.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from raftkv.core import NotLeader, ProposalDropped
from raftkv.kv import Put, encode_command

from .context import CTX_KEY, NodeContext, forward_to_leader, read_body, until
from .metrics import membership_json
from .wire import (
    ApiFailure,
    ReadRequest,
    WriteRequest,
    decode_body,
    json_encoder,
    no_leader,
    ok,
    timeout,
)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def state(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    payload = state_payload(ctx, with_kv=request.query.get("kv", "true").lower() != "false")
    return web.Response(body=json_encoder.encode(payload), content_type="application/json")


def state_payload(ctx: NodeContext, *, with_kv: bool) -> dict[str, Any]:
    """The reference `/state` fields plus learners, indexes, membership and cluster id."""
    status = ctx.driver.core.status()
    effective, committed = status.membership, status.committed_membership
    payload: dict[str, Any] = {
        "node_id": ctx.node_id,
        "public_addr": ctx.config.public_addr,
        "role": status.role.title,
        "current_leader": status.leader_id,
        "current_term": status.term,
        "last_log_index": status.last_index,
        "last_applied_index": ctx.driver.sm.applied_index,
        "voters": sorted(reported_voters(effective, committed)),
        "learners": sorted(effective.learners),
        "committed_index": status.commit_index,
        "snapshot_index": status.snapshot_index,
        "membership": membership_json(effective, committed),
        "cluster_id": effective.cluster_id or None,
    }
    if with_kv:
        payload["kv"] = dict(sorted(ctx.driver.sm.kv.items()))
    return payload


def reported_voters(effective: Any, committed: Any) -> frozenset[int]:
    """The latest uniform voter set; while joint, the committed uniform one (C_old), so a
    wait for the new set cannot pass in the middle of a change."""
    if not effective.joint:
        return frozenset(effective.configs[0])
    if not committed.joint:
        return frozenset(committed.configs[0])
    return frozenset(effective.configs[0])


async def kv_write(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    body = await read_body(request, ctx.config.max_body_bytes)
    write = decode_body(body, WriteRequest)
    deadline = ctx.deadline(request)
    if not ctx.is_leader():
        return await _forward(ctx, request, body, deadline)
    command = encode_command(Put(write.key, write.value, write.client_id or "", write.serial))
    try:
        result = await until(ctx.driver.propose(command), deadline, _write_timeout)
    except NotLeader:
        return await _forward(ctx, request, body, deadline)
    except ProposalDropped as exc:
        raise no_leader(f"leadership transfer in progress: {exc}") from exc
    if not result.ok:
        raise ApiFailure(409, result.error or "error", result.message)
    return ok({"previous": result.previous})


def _write_timeout() -> ApiFailure:
    return timeout("the write was proposed but not applied before the deadline", indeterminate=True)


def _read_timeout() -> ApiFailure:
    return timeout("the read index was not confirmed before the deadline", indeterminate=False)


async def _forward(
    ctx: NodeContext, request: web.Request, body: bytes, deadline: float
) -> web.Response:
    ctx.metrics.forwarded.inc()
    return await forward_to_leader(ctx, request, body, deadline)


async def kv_read(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    read = decode_body(await read_body(request, ctx.config.max_body_bytes), ReadRequest)
    if read.consistency == "linearizable":
        if ctx.driver.leader_id is None:
            raise no_leader("no leader is known to confirm a linearizable read")
        ctx_id, applied = ctx.driver.read_index()
        try:
            await until(applied, ctx.deadline(request), _read_timeout)
        finally:
            ctx.driver.reads.forget(ctx_id)
    return ok({"value": ctx.driver.sm.get(read.key)})


def add_kv_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/state", state)
    app.router.add_post("/kv/write", kv_write)
    app.router.add_post("/kv/read", kv_read)
