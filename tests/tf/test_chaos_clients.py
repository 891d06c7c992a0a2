"""How chaos clients classify outcomes, against a scripted in-process HTTP server: refused
connections and definite errors fail, timeouts and indeterminate errors are info, retries of
a write keep its session, and after an info the client carries on as a new process."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from aiohttp import web

from raftkv.checker import validate_processes
from raftkv.client import ApiError, ApiTimeout, NodeClient
from raftkv.tf.chaos import ChaosClients, ClientSettings, attempt_outcome, combined_outcome
from raftkv.tf.chaos.clients import _Request
from raftkv.tf.context import RunContext
from raftkv.tf.writes import WriteLog

FAST = ClientSettings(clients=1, keys=1, attempt_timeout=0.3, op_deadline=0.8)


@pytest.mark.parametrize(
    ("error", "mode", "expected"),
    [
        (ApiError(0, "unreachable", "refused", indeterminate=False), "write", "fail"),
        (ApiError(0, "unreachable", "dropped", indeterminate=True), "write", "info"),
        (ApiTimeout(0, "timeout", "no answer", indeterminate=True), "write", "info"),
        (ApiError(503, "no_leader", "none", indeterminate=False), "write", "fail"),
        (ApiError(421, "not_leader", "other", indeterminate=False), "write", "fail"),
        (ApiError(502, "forward_failed", "hop", indeterminate=True), "write", "info"),
        (ApiTimeout(0, "timeout", "no answer"), "linearizable", "info"),
        (ApiError(503, "no_leader", "none"), "linearizable", "fail"),
        (ApiError(0, "unreachable", "refused"), "local", "fail"),
    ],
    ids=lambda value: getattr(value, "code", value),
)
def test_attempt_outcome(error: ApiError, mode: str, expected: str) -> None:
    assert attempt_outcome(error, mode) == expected  # type: ignore[arg-type]


def test_combined_outcome_ok_beats_info_beats_fail() -> None:
    assert combined_outcome(["fail", "info", "ok"]) == "ok"
    assert combined_outcome(["fail", "info", "fail"]) == "info"
    assert combined_outcome(["fail", "fail"]) == "fail"


@dataclass
class Script:
    """Answers of the fake node, one per request in order (the last one repeats)."""

    answers: list[Callable[[dict[str, Any]], Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        result = answer(body)
        return await result if asyncio.iscoroutine(result) else result


def ok_write(body: dict[str, Any]) -> web.Response:
    return web.json_response({"Ok": {"previous": None}})


def ok_read(body: dict[str, Any]) -> web.Response:
    return web.json_response({"Ok": {"value": "v"}})


def err(status: int, code: str, indeterminate: bool) -> Callable[[dict[str, Any]], web.Response]:
    def answer(body: dict[str, Any]) -> web.Response:
        document = {"code": code, "message": code, "indeterminate": indeterminate}
        return web.json_response({"Err": document}, status=status)

    return answer


async def hang(body: dict[str, Any]) -> web.Response:
    await asyncio.sleep(3)  # longer than any attempt
    return ok_write(body)


@dataclass
class FakeContext:
    """What the clients use of a RunContext: the clock, live members and their clients."""

    addrs: dict[str, str]
    started: float = field(default_factory=time.monotonic)
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    writes: WriteLog = field(default_factory=WriteLog)

    def __post_init__(self) -> None:
        self.observer = self
        self.nodes = list(self.addrs)
        self.clients = self
        self._clients = {name: NodeClient(addr) for name, addr in self.addrs.items()}

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def node(self, name: str) -> NodeClient:
        return self._clients[name]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Script], Any]]:
    runners: list[web.AppRunner] = []

    async def start(script: Script) -> str:
        app = web.Application()
        app.router.add_post("/kv/write", script.handle)
        app.router.add_post("/kv/read", script.handle)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"127.0.0.1:{port}"

    yield start
    for runner in runners:
        await runner.cleanup()


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


async def one_op(addr: str, mode: str = "write", settings: ClientSettings = FAST) -> Any:
    ctx = FakeContext({"node-0": addr})
    clients = ChaosClients(settings)
    session_rng = random.Random(2)
    request = _Request(mode, "k", "p0.1" if mode == "write" else None, 1, "chaos-p0")  # type: ignore[arg-type]
    try:
        return await clients._operate(cast(RunContext, ctx), session_rng, 0, request)
    finally:
        await ctx.close()


async def test_refused_connection_fails_after_retries_until_the_deadline() -> None:
    record = await one_op(closed_port())
    assert record.op.outcome == "fail" and record.op.complete is not None
    assert record.attempts > 1 and record.error.startswith("unreachable")
    assert FAST.op_deadline - 0.2 < record.latency < FAST.op_deadline + 0.3


async def test_a_write_without_answer_is_info(serve: Callable[[Script], Any]) -> None:
    record = await one_op(await serve(Script([hang])))
    assert record.op.outcome == "info" and record.op.complete is None
    assert record.op.value == "p0.1"


async def test_a_read_without_answer_is_info(serve: Callable[[Script], Any]) -> None:
    record = await one_op(await serve(Script([hang])), mode="linearizable")
    assert record.op.outcome == "info" and record.op.kind == "read"


async def test_a_retried_write_keeps_its_session_and_succeeds(
    serve: Callable[[Script], Any],
) -> None:
    script = Script([err(503, "no_leader", False), err(504, "timeout", True), ok_write])
    record = await one_op(await serve(script))
    assert record.op.outcome == "ok" and record.attempts == 3
    assert {(r["client_id"], r["serial"], r["value"]) for r in script.requests} == {
        ("chaos-p0", 1, "p0.1")
    }


async def test_without_retry_an_operation_is_one_request(serve: Callable[[Script], Any]) -> None:
    script = Script([err(503, "no_leader", False), ok_write])
    no_retry = ClientSettings(clients=1, keys=1, attempt_timeout=0.3, op_deadline=0.8, retry=False)
    record = await one_op(await serve(script), settings=no_retry)
    assert record.op.outcome == "fail" and record.attempts == 1 and len(script.requests) == 1


async def test_an_indeterminate_attempt_then_definite_failures_is_info(
    serve: Callable[[Script], Any],
) -> None:
    script = Script([err(504, "timeout", True), err(503, "no_leader", False)])
    record = await one_op(await serve(script))
    assert record.op.outcome == "info"
    assert record.error.startswith("no_leader")


async def test_a_definite_error_that_retrying_cannot_fix_fails_at_once(
    serve: Callable[[Script], Any],
) -> None:
    record = await one_op(await serve(Script([err(400, "bad_request", False)])))
    assert record.op.outcome == "fail" and record.attempts == 1


async def test_a_read_returns_the_value_read(serve: Callable[[Script], Any]) -> None:
    record = await one_op(await serve(Script([ok_read])), mode="local")
    assert (record.op.outcome, record.op.value, record.mode) == ("ok", "v", "local")


async def test_after_an_info_the_client_continues_as_a_new_process(
    serve: Callable[[Script], Any],
) -> None:
    script = Script([ok_write, hang, ok_write])
    ctx = FakeContext({"node-0": await serve(script)})
    settings = ClientSettings(
        clients=1,
        keys=2,
        write_share=1.0,
        local_read_share=0.0,
        attempt_timeout=0.3,
        op_deadline=0.3,
    )
    clients = ChaosClients(settings)
    try:
        await clients.run(cast(RunContext, ctx), duration=1.0)
    finally:
        await ctx.close()
    ops = [record.op for record in clients.history.records]
    outcomes = [op.outcome for op in ops]
    assert outcomes[:2] == ["ok", "info"] and "ok" in outcomes[2:]
    assert ops[0].process == ops[1].process != ops[2].process
    # Every write has its own value, and the history is one a checker accepts.
    assert len({op.value for op in ops}) == len(ops)
    validate_processes(ops)
    # The new process has a new session: its client id differs.
    assert script.requests[0]["client_id"] != script.requests[-1]["client_id"]
