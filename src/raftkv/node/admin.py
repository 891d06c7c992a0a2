"""Admin routes: `/admin/init`, `/admin/add-learner`, `/admin/change-membership`,
`/admin/transfer-leader`, `/admin/metrics`.

Membership calls on a follower are forwarded to the leader like writes. Each call returns only
once its effect is visible: init once its entry commits, a blocking add-learner once the
learner has replicated the entry that added it, change-membership once C_new commits.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec
from aiohttp import web

from raftkv.core import (
    AlreadyInitialized,
    InvalidMembership,
    LearnerLagging,
    LearnerNotFound,
    MembershipChangeInProgress,
    NodeInfo,
    NotLeader,
    ProposalDropped,
)

from .config import host_port_problem
from .context import CTX_KEY, NodeContext, forward_to_leader, read_body, until
from .metrics import admin_metrics
from .wire import (
    AddLearnerRequest,
    ApiFailure,
    ChangeMembershipRequest,
    Identity,
    InitRequest,
    NodeIdField,
    bad_request,
    decode_body,
    ok,
    proposal_dropped,
    timeout,
)


class TransferLeaderRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`to`: the voter to hand leadership to; null picks the most up-to-date voter."""

    to: NodeIdField | None = None


class TransferLeaderResponse(msgspec.Struct, frozen=True):
    leader_id: int


def core_failure(exc: Exception) -> ApiFailure:
    """The HTTP outcome of a membership error the core raised (all definite)."""
    if isinstance(exc, MembershipChangeInProgress):
        return ApiFailure(409, "membership_change_in_progress", str(exc) or "a change is in flight")
    if isinstance(exc, LearnerNotFound):
        return ApiFailure(409, "learner_not_found", str(exc), node_ids=exc.node_ids)
    if isinstance(exc, LearnerLagging):
        return ApiFailure(409, "learner_lagging", str(exc), node_id=exc.node_id, lag=exc.lag)
    if isinstance(exc, InvalidMembership):
        return bad_request(str(exc) or "invalid membership")
    if isinstance(exc, ProposalDropped):
        return proposal_dropped(f"the change was not proposed: {exc}")
    raise exc


async def wait_status(
    ctx: NodeContext, predicate: Callable[[Any], bool], deadline: float, what: str
) -> None:
    def failure() -> ApiFailure:
        return timeout(f"{what} did not happen before the deadline", indeterminate=True)

    await until(ctx.driver.watch(predicate), deadline, failure)


async def init(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    body = await read_body(request, ctx.config.max_body_bytes)
    if body.strip() not in (b"", b"null"):
        decode_body(body, InitRequest)
    info = NodeInfo(addr=ctx.config.public_addr, storage_id=ctx.identity.storage_id)
    cluster_id = uuid.uuid4().hex
    try:
        max_sessions = ctx.config.max_sessions  # fixed for the cluster from now on
        index = await ctx.driver.call(
            lambda core: core.initialize(info, cluster_id, max_sessions=max_sessions)
        )
    except ProposalDropped as exc:
        raise core_failure(exc) from exc
    except AlreadyInitialized as exc:
        committed = ctx.driver.core.status().committed_membership
        if committed.configs == (frozenset({ctx.node_id}),) and set(committed.nodes) == {
            ctx.node_id
        }:
            return ok(None)
        raise ApiFailure(409, "already_initialized", str(exc) or "already initialized") from exc
    await wait_status(ctx, lambda st: st.commit_index >= index, ctx.deadline(request), "commit")
    return ok(None)


async def fetch_identity(ctx: NodeContext, node_id: int, addr: str) -> Identity:
    """Ask the node at `addr` who it is; refuse another node id or another cluster."""
    url = f"http://{addr}/raft/identity"
    try:
        async with ctx.session.get(
            url,
            headers=ctx.auth_headers(),
            timeout=aiohttp.ClientTimeout(total=ctx.config.forward_timeout_s),
        ) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise ApiFailure(
                    502,
                    "learner_unreachable",
                    f"{addr} answered HTTP {resp.status} to /raft/identity",
                )
            identity = msgspec.json.decode(body, type=dict[str, Identity])["Ok"]
    except (aiohttp.ClientError, TimeoutError, OSError, msgspec.DecodeError, KeyError) as exc:
        raise ApiFailure(
            502, "learner_unreachable", f"cannot get the identity of {addr}: {type(exc).__name__}"
        ) from exc
    if identity.node_id != node_id:
        raise ApiFailure(
            409, "cluster_mismatch", f"the node at {addr} is node {identity.node_id}, not {node_id}"
        )
    mine = ctx.driver.peers.cluster_id
    if identity.cluster_id and mine and identity.cluster_id != mine:
        raise ApiFailure(
            409,
            "cluster_mismatch",
            f"the node at {addr} belongs to cluster {identity.cluster_id}, this is {mine}",
        )
    return identity


async def add_learner(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    body = await read_body(request, ctx.config.max_body_bytes)
    req = decode_body(body, AddLearnerRequest)
    problem = host_port_problem(req.addr)
    if problem is not None:
        raise bad_request(f"addr: {req.addr[:300]!r} {problem}")
    deadline = ctx.deadline(request)
    if not ctx.is_leader():
        return await forward_to_leader(ctx, request, body, deadline)
    identity = await fetch_identity(ctx, req.node_id, req.addr)
    info = NodeInfo(addr=req.addr, storage_id=identity.storage_id)
    try:
        index = await ctx.driver.call(lambda core: core.add_learner(req.node_id, info))
    except NotLeader:
        return await forward_to_leader(ctx, request, body, deadline)
    except Exception as exc:
        raise core_failure(exc) from exc
    if req.blocking and req.node_id != ctx.node_id:

        def caught_up(st: Any) -> bool:
            progress = st.progress.get(req.node_id)
            return progress is not None and progress.match_index >= index

        await wait_status(ctx, caught_up, deadline, f"learner {req.node_id} catching up")
    return ok(None)


async def change_membership(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    body = await read_body(request, ctx.config.max_body_bytes)
    req = decode_body(body, ChangeMembershipRequest)
    deadline = ctx.deadline(request)
    if not ctx.is_leader():
        return await forward_to_leader(ctx, request, body, deadline)
    voters = frozenset(req.voters)
    try:
        index = await propose_change(ctx, voters, req.retain, deadline)
    except NotLeader:
        return await forward_to_leader(ctx, request, body, deadline)
    except Exception as exc:
        raise core_failure(exc) from exc

    def new_config_committed(st: Any) -> bool:
        committed = st.committed_membership
        return bool(st.commit_index >= index and committed.configs == (voters,))

    await wait_status(ctx, new_config_committed, deadline, "the membership change")
    return ok(None)


async def propose_change(
    ctx: NodeContext, voters: frozenset[int], retain: bool, deadline: float
) -> int:
    """Append C_old,new (the core's errors propagate). A learner within `max_promote_lag`
    that does not hold the latest configuration yet (it is one heartbeat away, typically
    right after another change) is waited for, until the deadline, rather than refused."""
    while True:
        try:
            index: int = await ctx.driver.call(
                lambda core: core.change_membership(set(voters), retain)
            )
            return index
        except LearnerLagging as exc:
            out_of_time = asyncio.get_running_loop().time() >= deadline
            if exc.lag > ctx.config.max_promote_lag or out_of_time:
                raise
            await wait_for_learner_config(ctx, exc, deadline)


async def wait_for_learner_config(
    ctx: NodeContext, lagging: LearnerLagging, deadline: float
) -> None:
    """Until the learner's match reaches the latest configuration (or this node stops
    leading, and the retry says so); at the deadline, the refusal stands (409)."""

    def holds_config(st: Any) -> bool:
        progress = st.progress.get(lagging.node_id)
        caught_up = progress is not None and progress.match_index >= st.membership_index
        return bool(caught_up or st.role.name != "LEADER")

    refusal = core_failure(lagging)
    await until(ctx.driver.watch(holds_config), deadline, lambda: refusal)


async def transfer_leader(request: web.Request) -> web.Response:
    """Hands leadership to `to` (TimeoutNow once it is caught up); answers once this node
    sees the new leader, with its id. Moving leadership to the leader itself is a no-op."""
    ctx = request.app[CTX_KEY]
    body = await read_body(request, ctx.config.max_body_bytes)
    empty = body.strip() in (b"", b"null")
    req = TransferLeaderRequest() if empty else decode_body(body, TransferLeaderRequest)
    deadline = ctx.deadline(request)
    if not ctx.is_leader():
        return await forward_to_leader(ctx, request, body, deadline)
    try:
        target: int = await ctx.driver.call(lambda core: core.transfer_leadership(req.to))
    except NotLeader:
        return await forward_to_leader(ctx, request, body, deadline)
    except InvalidMembership as exc:
        raise bad_request(f"to: {exc}") from exc
    except ProposalDropped as exc:
        raise core_failure(exc) from exc
    await wait_status(ctx, lambda st: st.leader_id == target, deadline, f"leadership of {target}")
    return ok(TransferLeaderResponse(leader_id=target))


async def metrics(request: web.Request) -> web.Response:
    ctx = request.app[CTX_KEY]
    return ok({**admin_metrics(ctx.driver), "cluster_name": ctx.config.cluster_name})


def add_admin_routes(app: web.Application) -> None:
    app.router.add_post("/admin/init", init)
    app.router.add_post("/admin/add-learner", add_learner)
    app.router.add_post("/admin/change-membership", change_membership)
    app.router.add_post("/admin/transfer-leader", transfer_leader)
    app.router.add_get("/admin/metrics", metrics)
