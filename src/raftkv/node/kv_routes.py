"""Client routes: `/healthz`, `/state`, `/kv/write`, `/kv/read`, `/kv/scan`.

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
    ScanQuery,
    WriteRequest,
    bad_request,
    decode_body,
    decode_query,
    json_encoder,
    no_leader,
    ok,
    proposal_dropped,
    timeout,
)


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


STATE_KV_MAX_BYTES = 16 << 20
"""`/state` leaves `kv` out beyond this many bytes of values too (the JSON is built on the
event loop, in time proportional to what it holds)."""


async def state(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    await ctx.driver.files.readable()
    payload = state_payload(ctx, with_kv=_kv_wanted(request))
    return web.Response(body=json_encoder.encode(payload), content_type="application/json")


def _kv_wanted(request: web.Request) -> bool:
    """`?kv=`: `true` (the default) or `false`, as `/openapi.json` says (`StateQuery`)."""
    raw = request.query.getall("kv", ["true"])
    if len(raw) != 1 or raw[0] not in ("true", "false"):
        raise bad_request(f"invalid query: kv must be true or false, not {raw!r}"[:300])
    return raw[0] == "true"


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
    store = ctx.driver.sm
    payload["kv_digest"] = store.digest.hex
    payload["kv_keys"] = store.key_count
    if with_kv:
        limit = ctx.config.state_kv_max_keys
        if store.key_count <= limit and store.value_bytes <= STATE_KV_MAX_BYTES:
            payload["kv"] = dict(store.scan("", None, limit))
        else:
            payload["kv"] = None
            payload["kv_omitted"] = (
                f"{store.key_count} keys ({store.value_bytes} bytes of values) exceed "
                f"state_kv_max_keys={limit} or {STATE_KV_MAX_BYTES} bytes; read them with "
                "GET /kv/scan?prefix=&after=&limit="
            )
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
        raise proposal_dropped(f"the write was not proposed: {exc}") from exc
    if not result.ok:
        if result.error not in ("serial_conflict", "stale_serial"):  # a bug: 500 `internal`
            raise RuntimeError(f"the state machine refused a write with {result.error!r}")
        raise ApiFailure(409, result.error, result.message)
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
    deadline = ctx.deadline(request)
    if read.consistency == "linearizable":
        if ctx.driver.leader_id is None:
            raise no_leader("no leader is known to confirm a linearizable read")
        ctx_id, applied = ctx.driver.read_index()
        try:
            await until(applied, deadline, _read_timeout)
        finally:
            ctx.driver.reads.forget(ctx_id)
    store = await ctx.driver.files.readable()
    return ok({"value": store.get(read.key)})


async def kv_scan(request: web.Request) -> web.Response:
    """A page of the local state in key order: `{items: [[key, value], ...], next}`; pass
    `next` as `after` for the following page (null: no more)."""
    ctx = request.app[CTX_KEY]
    query = decode_query(request.query, ScanQuery)
    store = await ctx.driver.files.readable()
    items = store.scan(query.prefix, query.after, query.limit)
    following = items[-1][0] if len(items) == query.limit else None
    return ok({"items": [list(item) for item in items], "next": following})


def add_kv_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/state", state)
    app.router.add_post("/kv/write", kv_write)
    app.router.add_post("/kv/read", kv_read)
    app.router.add_get("/kv/scan", kv_scan)
