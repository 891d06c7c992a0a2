"""`FakeNode`: a stand-in for a raftkv node in client tests. It speaks the HTTP contract from
a dictionary and canned answers; there is no Raft behind it. Tests script failures per path
(`fake.script("/kv/write", ...)`) and inspect what arrived (`fake.requests`).
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

MakeFake = Callable[..., Awaitable["FakeNode"]]
"""The `make_fake` fixture: starts a `FakeNode` (arguments as its constructor)."""

Handler = Callable[[web.Request, dict[str, Any]], Awaitable[web.StreamResponse]]


def ok(payload: object) -> web.Response:
    return web.json_response({"Ok": payload})


def err(
    status: int, code: str, message: str = "", *, indeterminate: bool = False, **details: Any
) -> web.Response:
    body = {"code": code, "message": message or code, "indeterminate": indeterminate, **details}
    return web.json_response({"Err": body}, status=status)


def reference_err(text: str) -> web.Response:
    """The reference node's failure shape: HTTP 200 with a bare text."""
    return web.json_response({"Err": text})


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    query: dict[str, str]


class FakeNode:
    """Serves `/healthz`, `/state`, `/kv/*` and `/admin/*` on 127.0.0.1, an ephemeral port."""

    def __init__(self, node_id: int = 0, *, role: str = "Leader", term: int = 1) -> None:
        self.node_id = node_id
        self.role = role
        self.term = term
        self.leader_id: int | None = node_id if role == "Leader" else None
        self.kv: dict[str, str] = {}
        self.digest: str | None = None
        """`kv_digest` (and `kv_keys`) in `/state` when set; unset: a reference node."""
        self.requests: list[Received] = []
        self.sessions: dict[str, tuple[int, str | None]] = {}
        self._scripts: dict[str, deque[Handler | web.Response]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.addr = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.addr = f"127.0.0.1:{port}"
        return self.addr

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def script(self, path: str, *answers: Handler | web.Response) -> None:
        """Answer the next requests to `path` with these, in order, then behave normally."""
        self._scripts[path].extend(answers)

    def slow(self, seconds: float) -> Handler:
        """An answer that arrives after `seconds`: the normal one, unless the client gave up."""

        async def handler(request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
            await asyncio.sleep(seconds)
            return await self.default(request, body)

        return handler

    def received(self, path: str) -> list[Received]:
        return [r for r in self.requests if r.path == path]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        self.requests.append(
            Received(
                request.path,
                body if isinstance(body, dict) else {},
                dict(request.headers),
                dict(request.query),
            )
        )
        queue = self._scripts.get(request.path)
        if queue:
            answer = queue.popleft()
            if isinstance(answer, web.Response):
                return answer
            return await answer(request, body)
        return await self.default(request, body)

    async def default(self, request: web.Request, body: dict[str, Any]) -> web.StreamResponse:
        path = request.path
        if path == "/healthz":
            return web.Response(text="ok")
        if path == "/state":
            return web.json_response(self.state(with_kv=request.query.get("kv") != "false"))
        if path == "/kv/write":
            return self._write(body)
        if path == "/kv/read":
            return ok({"value": self.kv.get(body["key"])})
        if path == "/kv/scan":
            return self._scan(request.query)
        if path == "/admin/metrics":
            return ok({"role": self.role, "current_term": self.term, "node_id": self.node_id})
        if path.startswith("/admin/"):
            return ok(None)
        return err(404, "not_found", f"no route {path}")

    def _scan(self, query: Mapping[str, str]) -> web.Response:
        """Pages of `kv` in key order, like the node's `/kv/scan`."""
        prefix, after, limit = query.get("prefix", ""), query.get("after"), int(query["limit"])
        keys = sorted(k for k in self.kv if k.startswith(prefix) and (after is None or k > after))
        page = keys[:limit]
        following = page[-1] if len(page) == limit else None
        return ok({"items": [[key, self.kv[key]] for key in page], "next": following})

    def state(self, *, with_kv: bool) -> dict[str, Any]:
        state: dict[str, Any] = {
            "node_id": self.node_id,
            "public_addr": self.addr,
            "role": self.role,
            "current_leader": self.leader_id,
            "current_term": self.term,
            "last_log_index": len(self.kv),
            "last_applied_index": len(self.kv),
            "voters": [0, 1, 2],
            "learners": [],
            "some_future_field": {"ignored": True},
        }
        if self.digest is not None:
            state["kv_digest"] = self.digest
            state["kv_keys"] = len(self.kv)
        if with_kv:
            state["kv"] = dict(self.kv)
        return state

    def _write(self, body: dict[str, Any]) -> web.Response:
        """Applies once per (client_id, serial), like the node's client sessions."""
        client_id = body.get("client_id") or f"key:{body['key']}"
        last = self.sessions.get(client_id)
        if last is not None and last[0] == body["serial"]:
            return ok({"previous": last[1]})
        previous = self.kv.get(body["key"])
        self.kv[body["key"]] = body["value"]
        self.sessions[client_id] = (body["serial"], previous)
        return ok({"previous": previous})
