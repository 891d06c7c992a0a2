"""The aiohttp application: routes, auth, and the error envelope for every failure.

Every failure leaves as `{"Err": {code, message, indeterminate, ...}}`, including unknown paths
(404) and methods (405); bad input never yields a 500 or a stack trace.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from .admin import add_admin_routes
from .context import CTX_KEY, NodeContext
from .kv_routes import add_kv_routes
from .openapi import openapi_document
from .raft_routes import add_raft_routes
from .wire import STREAM_PATH, ApiFailure, bad_request, json_encoder

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PROTECTED_PREFIXES = ("/raft/", "/admin/")
log = logging.getLogger("raftkv.node.app")


def _http_failure(exc: web.HTTPException) -> ApiFailure:
    if exc.status == 404:
        return ApiFailure(404, "not_found", "no such path")
    if exc.status == 405:
        allowed = sorted(getattr(exc, "allowed_methods", ()) or ())
        return ApiFailure(
            405,
            "method_not_allowed",
            "method not allowed",
            headers={"Allow": ", ".join(allowed)},  # RFC 9110 15.5.6: a 405 names them
            allowed=allowed,
        )
    if exc.status == 413:
        return ApiFailure(413, "body_too_large", "request body too large")
    return ApiFailure(exc.status, "bad_request" if exc.status < 500 else "internal", exc.reason)


@web.middleware
async def envelope_and_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer auth for `/raft/*` and `/admin/*` (when `auth_token` is set), and the error
    envelope for every failure. One middleware: each layer costs a coroutine per request."""
    ctx = request.app[CTX_KEY]
    try:
        token = ctx.config.auth_token
        if token is not None and request.path.startswith(PROTECTED_PREFIXES):
            check_bearer(request, token)
        if request.path == STREAM_PATH:
            return await _bounded_stream(request, handler)
        return await handler(request)
    except ApiFailure as failure:
        ctx.metrics.errors.labels(failure.code).inc()
        return failure.response()
    except web.HTTPException as exc:
        http_failure = _http_failure(exc)
        ctx.metrics.errors.labels(http_failure.code).inc()
        return http_failure.response()
    except Exception:
        log.exception("unexpected error serving %s %s", request.method, request.path)
        ctx.metrics.errors.labels("internal").inc()
        return ApiFailure(
            500, "internal", "internal error; see the node's log", indeterminate=True
        ).response()


STREAM_SLOTS_KEY = web.AppKey("raftkv_stream_slots", list[int])


async def _bounded_stream(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`/raft/stream` while fewer than `http_max_streams` are open; 503 otherwise (a peer
    then sends over the POST routes). The handler runs for the stream's whole life."""
    ctx = request.app[CTX_KEY]
    slots = request.app[STREAM_SLOTS_KEY]
    if slots[0] >= ctx.config.http_max_streams:
        ctx.metrics.streams_refused.inc()
        raise ApiFailure(
            503,
            "too_many_streams",
            f"{ctx.config.http_max_streams} peer streams are open; send over POST /raft/*",
        )
    slots[0] += 1
    try:
        return await handler(request)
    finally:
        slots[0] -= 1


def check_bearer(request: web.Request, token: str) -> None:
    """401 `unauthorized` unless `Authorization: Bearer <token>` (constant-time compare)."""
    given = request.headers.get("Authorization", "")
    try:
        given_bytes = given.encode()
    except UnicodeEncodeError:  # aiohttp keeps bytes that are not UTF-8 as surrogates
        raise bad_request("Authorization: the header is not valid UTF-8") from None
    if not hmac.compare_digest(given_bytes, f"Bearer {token}".encode()):
        raise ApiFailure(401, "unauthorized", "missing or wrong bearer token")


async def prometheus(request: web.Request) -> web.Response:
    text = request.app[CTX_KEY].metrics.prometheus_text()
    return web.Response(body=text, content_type="text/plain", charset="utf-8")


async def openapi(request: web.Request) -> web.Response:
    return web.Response(
        body=json_encoder.encode(openapi_document()), content_type="application/json"
    )


def build_app(ctx: NodeContext) -> web.Application:
    # Bodies are read by `read_body` with per-route limits; aiohttp's own cap stays out of it.
    app = web.Application(middlewares=[envelope_and_auth], client_max_size=2**40)
    app[CTX_KEY] = ctx
    app[STREAM_SLOTS_KEY] = [0]
    add_kv_routes(app)
    add_admin_routes(app)
    add_raft_routes(app, ctx)
    app.router.add_get("/metrics", prometheus)
    app.router.add_get("/openapi.json", openapi)
    return app
