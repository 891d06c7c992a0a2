"""Every kind of bad input gets a definite error in the `{"Err": ...}` envelope, never a 500
or a stack trace: one initialized node and one pristine node, real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from node_harness import NodeProcess, call, free_port, write

from raftkv.core import AppendRequest
from raftkv.node.wire import PeerEnvelope, envelope_encoder, stream_frame

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    workdir: Path = tmp_path_factory.mktemp("bad-input")
    ready = NodeProcess(0, free_port(), workdir, {"max_body_bytes": 4096})
    pristine = NodeProcess(1, free_port(), workdir)
    try:
        for node in (ready, pristine):
            node.write_config({})
            node.start()
        assert call(ready.addr, "POST", "/admin/init") == (200, {"Ok": None})
        yield ready, pristine
    finally:
        for node in (ready, pristine):
            if node.proc is not None:
                node.proc.kill()
                node.proc.wait(5)


def envelope(to: int, storage_id: str = "") -> bytes:
    msg = AppendRequest(
        term=1, frm=7, to=to, prev_index=0, prev_term=0, entries=(), leader_commit=0, seq=1
    )
    return envelope_encoder.encode(
        PeerEnvelope(cluster_id="", frm=7, to=to, to_storage_id=storage_id, msg=msg)
    )


W = "/kv/write"
CASES: list[tuple[str, str, str, Any, int, str, str]] = [
    # (id, method, path, body (bytes = raw), status, code, text the message must contain)
    ("not-json", "POST", W, b"{nope", 400, "bad_request", "not valid JSON"),
    # A number, then bytes that are not UTF-8: the typed decoder stops at the number.
    ("number-then-garbage", "POST", W, b"2\xff\x05", 400, "bad_request", "not valid JSON"),
    (
        "fractional-serial",
        "POST",
        W,
        {"key": "k", "value": "v", "serial": 1.5},
        400,
        "bad_request",
        "$.serial",
    ),
    ("state-kv-not-bool", "GET", "/state?kv=null", None, 400, "bad_request", "kv"),
    ("missing-key", "POST", W, {"value": "v", "serial": 1}, 400, "bad_request", "`key`"),
    (
        "serial-type",
        "POST",
        W,
        {"key": "k", "value": "v", "serial": "1"},
        400,
        "bad_request",
        "$.serial",
    ),
    (
        "serial-negative",
        "POST",
        W,
        {"key": "k", "value": "v", "serial": -1},
        400,
        "bad_request",
        "$.serial",
    ),
    ("empty-key", "POST", W, {"key": "", "value": "v", "serial": 1}, 400, "bad_request", "$.key"),
    (
        "unknown-field",
        "POST",
        W,
        {"key": "k", "value": "v", "serial": 1, "x": 1},
        400,
        "bad_request",
        "`x`",
    ),
    ("array-body", "POST", W, [1, 2], 400, "bad_request", "object"),
    ("too-large", "POST", W, b"x" * 5000, 413, "body_too_large", "4096"),
    (
        "read-consistency",
        "POST",
        "/kv/read",
        {"key": "k", "consistency": "eventual"},
        400,
        "bad_request",
        "$.consistency",
    ),
    ("wrong-method", "GET", W, None, 405, "method_not_allowed", "not allowed"),
    ("unknown-path", "GET", "/nope", None, 404, "not_found", "no such path"),
    ("learner-no-addr", "POST", "/admin/add-learner", {"node_id": 1}, 400, "bad_request", "`addr`"),
    (
        "learner-bad-id",
        "POST",
        "/admin/add-learner",
        {"node_id": -3, "addr": "a:1"},
        400,
        "bad_request",
        "$.node_id",
    ),
    (
        "voters-empty",
        "POST",
        "/admin/change-membership",
        {"voters": []},
        400,
        "bad_request",
        "$.voters",
    ),
    (
        "voters-unknown",
        "POST",
        "/admin/change-membership",
        {"voters": [0, 5]},
        409,
        "learner_not_found",
        "5",
    ),
    ("init-body", "POST", "/admin/init", {"members": [1]}, 400, "bad_request", "members"),
    ("raft-garbage", "POST", "/raft/append", b"\x01\x02garbage", 400, "bad_request", "envelope"),
    ("raft-wrong-node", "POST", "/raft/append", envelope(to=5), 409, "cluster_mismatch", "node 5"),
    (
        "raft-wiped-storage",
        "POST",
        "/raft/append",
        envelope(to=0, storage_id="old"),
        409,
        "cluster_mismatch",
        "storage old",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code", "text"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_bad_input_gets_a_definite_error_envelope(
    nodes: tuple[NodeProcess, NodeProcess],
    method: str,
    path: str,
    body: Any,
    status: int,
    code: str,
    text: str,
) -> None:
    raw = body if isinstance(body, bytes) else None
    got_status, got = call(nodes[0].addr, method, path, None if raw else body, raw=raw)
    assert got_status == status, got
    assert got["Err"]["code"] == code
    assert got["Err"]["indeterminate"] is False
    assert text in got["Err"]["message"]
    assert "Traceback" not in got["Err"]["message"]


def test_add_learner_refuses_a_node_with_another_id(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    ready, pristine = nodes
    body = {"node_id": 9, "addr": pristine.addr}
    status, got = call(ready.addr, "POST", "/admin/add-learner", body)
    assert (status, got["Err"]["code"]) == (409, "cluster_mismatch")
    assert "node 1, not 9" in got["Err"]["message"]


def test_add_learner_refuses_an_unreachable_node(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    body = {"node_id": 4, "addr": f"127.0.0.1:{free_port()}"}
    status, got = call(nodes[0].addr, "POST", "/admin/add-learner", body)
    assert (status, got["Err"]["code"], got["Err"]["indeterminate"]) == (
        502,
        "learner_unreachable",
        False,
    )


def test_init_is_idempotent_on_a_single_node_cluster(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    assert call(nodes[0].addr, "POST", "/admin/init", raw=b"{}") == (200, {"Ok": None})
    assert call(nodes[0].addr, "POST", "/admin/init", raw=b"null") == (200, {"Ok": None})


def test_write_on_a_pristine_node_has_no_leader(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    status, got = write(nodes[1].addr, "k", "v", 1)
    assert (status, got["Err"]["code"], got["Err"]["indeterminate"]) == (503, "no_leader", False)


def test_openapi_lists_every_route(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    status, doc = call(nodes[0].addr, "GET", "/openapi.json")
    assert status == 200
    for path in [
        "/kv/write",
        "/kv/read",
        "/kv/scan",
        "/admin/init",
        "/admin/add-learner",
        "/state",
        "/metrics",
    ]:
        assert path in doc["paths"], path
    assert "WriteRequest" in doc["components"]["schemas"]


def test_prometheus_metrics_are_text(nodes: tuple[NodeProcess, NodeProcess]) -> None:
    status, text = call(nodes[0].addr, "GET", "/metrics")
    assert status == 200 and "raftkv_commit_index" in text and "raftkv_api_errors_total" in text
    assert "raftkv_event_loop_lag_seconds_bucket" in text and "raftkv_snapshots_refused" in text


async def stream_refusal(addr: str, frame: bytes | str) -> tuple[int | None, str]:
    """Send one frame on `/raft/stream`; the close code and reason the node answers with."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"http://{addr}/raft/stream") as stream,
    ):
        if isinstance(frame, str):
            await stream.send_str(frame)
        else:
            await stream.send_bytes(frame)
        answer = await stream.receive(timeout=5)
    assert answer.type is aiohttp.WSMsgType.CLOSE, answer
    return answer.data, answer.extra


@pytest.mark.parametrize(
    ("frame", "code", "text"),
    [
        pytest.param(b"\x01\x02garbage", 1007, "invalid peer stream frame", id="garbage"),
        pytest.param(stream_frame([envelope(to=5)]), 4409, "node 5", id="wrong-node"),
        pytest.param(
            stream_frame([envelope(to=0, storage_id="old")]), 4409, "storage old", id="wiped"
        ),
        pytest.param("{}", 1003, "binary frames only", id="text-frame"),
    ],
)
async def test_a_bad_stream_frame_closes_the_stream_with_the_reason(
    nodes: tuple[NodeProcess, NodeProcess], frame: bytes | str, code: int, text: str
) -> None:
    ready = nodes[0]
    before = call(ready.addr, "GET", "/state")[1]
    got_code, reason = await stream_refusal(ready.addr, frame)
    assert got_code == code
    assert text in reason
    after = call(ready.addr, "GET", "/state")[1]
    fields = ("role", "current_term", "last_log_index", "committed_index")
    assert [after[f] for f in fields] == [before[f] for f in fields]


def test_a_plain_get_of_the_stream_names_the_upgrade(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    status, got = call(nodes[0].addr, "GET", "/raft/stream")
    assert (status, got["Err"]["code"]) == (400, "bad_request")
    assert "Upgrade: websocket" in got["Err"]["message"]


def test_an_integer_written_as_an_integral_float_is_taken(
    nodes: tuple[NodeProcess, NodeProcess],
) -> None:
    """JSON Schema's `integer` (what /openapi.json says) admits 1.0; so does the node."""
    body = {"key": "float-serial", "value": "v", "serial": 3.0, "client_id": "f"}
    assert call(nodes[0].addr, "POST", W, body) == (200, {"Ok": {"previous": None}})
    assert call(nodes[0].addr, "GET", "/state?kv=false")[1]["kv_keys"] >= 1
