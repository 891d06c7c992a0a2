"""Idle and half-open connections cannot exhaust a node: beyond `http_max_connections` a new
connection gets 503 `too_many_connections` while the open ones are served; a connection that
sends no request head is closed after `http_header_timeout_s`, an idle one after
`http_idle_timeout_s`; the cap fits the open-file limit, so the storage layer still opens its
files (snapshots every few writes here) while hundreds of sockets are held.

Real processes on loopback; the node's open-file limit is lowered for the test."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from node_harness import NodeProcess, call, free_port, wait_for, write

pytestmark = pytest.mark.e2e

FD_LIMIT = 1024
CAP = FD_LIMIT - 512 - 128
"""The cap the node derives from the limit (peer connections and files kept aside)."""


def limited_fds() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.fixture
def node(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[NodeProcess]:
    """A single-node cluster; `@pytest.mark.parametrize("node", [settings], indirect=True)`
    sets its timeouts."""
    settings = {"snapshot_threshold": 3, **getattr(request, "param", {})}
    node = NodeProcess(0, free_port(), tmp_path, settings, preexec=limited_fds)
    node.write_config({})
    try:
        node.start()
        assert call(node.addr, "POST", "/admin/init") == (200, {"Ok": None})
        yield node
    finally:
        if node.proc is not None and node.proc.poll() is None:
            node.proc.kill()
            node.proc.wait(5)


SHORT_TIMEOUTS = {"http_header_timeout_s": 1.0, "http_idle_timeout_s": 2.0}


def open_idle(addr: str, count: int) -> list[socket.socket]:
    host, port = addr.rsplit(":", 1)
    return [socket.create_connection((host, int(port)), timeout=5) for _ in range(count)]


def metric(addr: str, name: str) -> float:
    text = call(addr, "GET", "/metrics")[1]
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match, name
    return float(match.group(1))


def closed_by_peer(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_beyond_the_cap_new_connections_are_refused_and_open_ones_served(
    node: NodeProcess,
) -> None:
    host, port = node.addr.rsplit(":", 1)
    kept = http.client.HTTPConnection(host, int(port), timeout=10)  # a client already in
    kept.request("GET", "/healthz")
    assert kept.getresponse().read() == b"ok"
    assert f"max_connections={CAP}" in node.log_path.read_text()
    idle = open_idle(node.addr, CAP + 200)
    try:
        refused = 0
        for sock in idle:
            sock.settimeout(0.05)
            try:
                data = sock.recv(4096)
            except TimeoutError:
                continue
            if data.startswith(b"HTTP/1.1 503"):
                refused += 1
                assert b"too_many_connections" in data and b"Retry-After: 1" in data
        assert refused >= 200 - 5  # `kept` is one of the CAP, so are a few racing closes
        # The connection that was already open is still served, writes still commit, and the
        # storage layer still opens files (a snapshot every 3 writes).
        for n in range(12):
            body = json.dumps({"key": f"k{n}", "value": "v", "serial": n + 1}).encode()
            kept.request(
                "POST", "/kv/write", body=body, headers={"Content-Type": "application/json"}
            )
            answer = kept.getresponse()
            assert answer.status == 200, answer.read()
            answer.read()
        kept.request("GET", "/metrics")
        text = kept.getresponse().read().decode()
        assert re.search(r"^raftkv_http_connections_refused_total (\d+)", text, re.M)
        assert list((node.workdir / "raftkv-data-0" / "snapshots").glob("snap-*.bin"))
    finally:
        for sock in idle:
            sock.close()
        kept.close()
    # Once the idle ones are gone, new connections are accepted again.
    wait_for(lambda: call(node.addr, "GET", "/healthz", timeout=2)[0] == 200, 10, "healthz")
    assert node.proc is not None and node.proc.poll() is None
    assert metric(node.addr, "raftkv_http_connections_refused_total") >= 195
    assert "Too many open files" not in node.log_path.read_text()
    assert write(node.addr, "after", "v", 1, client_id="after")[0] == 200


@pytest.mark.parametrize("node", [SHORT_TIMEOUTS], indirect=True)
def test_a_connection_without_a_request_head_is_closed(node: NodeProcess) -> None:
    silent, trickle = open_idle(node.addr, 2)
    trickle.sendall(b"GET /state HTTP/1.1\r\nHost: x\r\n")  # never finishes its head
    started = time.monotonic()
    assert closed_by_peer(silent, within=15)
    assert closed_by_peer(trickle, within=15)
    assert time.monotonic() - started < 15
    assert metric(node.addr, "raftkv_http_header_timeouts_total") >= 1
    silent.close()
    trickle.close()


@pytest.mark.parametrize("node", [SHORT_TIMEOUTS], indirect=True)
def test_an_idle_keep_alive_connection_is_closed(node: NodeProcess) -> None:
    (sock,) = open_idle(node.addr, 1)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    sock.settimeout(5)
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    assert closed_by_peer(sock, within=15)  # after http_idle_timeout_s (2 s) without a request
    sock.close()


def test_a_cap_that_does_not_fit_the_fd_limit_is_refused_at_start(tmp_path: Path) -> None:
    port = free_port()
    config = {
        "node_id": 0,
        "http_port": port,
        "public_addr": f"127.0.0.1:{port}",
        "bind_host": "127.0.0.1",
        "http_max_connections": 5000,
    }
    path = tmp_path / "node.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "raftkv.node.main", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        preexec_fn=limited_fds,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("raftkv-node: http_max_connections: 5000")


@pytest.mark.parametrize("node", [{"http_max_streams": 2}], indirect=True)
async def test_peer_streams_beyond_the_cap_are_refused(node: NodeProcess) -> None:
    url = f"http://{node.addr}/raft/stream"
    async with aiohttp.ClientSession() as session:
        first = await session.ws_connect(url)
        second = await session.ws_connect(url)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(url)
        assert refused.value.status == 503
        assert not first.closed and not second.closed
        await first.close()
        for _ in range(100):  # a slot is free again once the node's handler returned
            try:
                third = await session.ws_connect(url)
                break
            except aiohttp.WSServerHandshakeError:
                await asyncio.sleep(0.05)
        else:
            raise AssertionError("the closed stream's slot was never freed")
        await third.close()
        await second.close()
    assert metric(node.addr, "raftkv_http_streams_refused_total") >= 1
    assert write(node.addr, "after-streams", "v", 1, client_id="s")[0] == 200


@pytest.mark.parametrize("node", [SHORT_TIMEOUTS], indirect=True)
async def test_a_peer_stream_that_stays_silent_is_closed(node: NodeProcess) -> None:
    """A stream that carries no frame for `http_idle_timeout_s` is closed (a live peer speaks
    every heartbeat and opens a stream again when it has something to send)."""
    url = f"http://{node.addr}/raft/stream"
    async with aiohttp.ClientSession() as session:
        stream = await session.ws_connect(url)
        frame = await stream.receive(timeout=15.0)
        assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert stream.close_code == aiohttp.WSCloseCode.GOING_AWAY
    assert write(node.addr, "after-idle-stream", "v", 1, client_id="s")[0] == 200
