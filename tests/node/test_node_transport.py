"""Peer transport against a recording aiohttp server: paths, envelope, snapshot chunking and
reassembly, and one log line per peer going down or coming back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from node_harness import free_port

from raftkv.core import (
    EMPTY_MEMBERSHIP,
    AppendRequest,
    NodeInfo,
    SnapshotMeta,
    SnapshotRequest,
    TimeoutNow,
    VoteRequest,
)
from raftkv.node.raft_routes import SnapshotAssembler
from raftkv.node.transport import PeerBook, PeerTransport
from raftkv.node.wire import ApiFailure, PeerEnvelope, envelope_decoder

META = SnapshotMeta(last_index=40, last_term=3, membership=EMPTY_MEMBERSHIP)
SNAPSHOT = bytes(range(256)) * 14  # 3584 bytes: four chunks of 1000


class Recorder:
    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[tuple[str, PeerEnvelope, str | None]] = []
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        env = envelope_decoder.decode(await request.read())
        self.received.append((request.path, env, request.headers.get("Authorization")))
        self.arrived.set()
        return web.Response()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/raft/{kind}", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def transport_to(port: int, session: aiohttp.ClientSession, log: logging.Logger) -> PeerTransport:
    peers = PeerBook(static_addrs={2: "127.0.0.1:1"}, cluster_id="c1")
    peers.members = {2: NodeInfo(addr=f"127.0.0.1:{port}", storage_id="s2")}
    return PeerTransport(
        node_id=1,
        session=session,
        peers=peers,
        auth_token="tok",
        snapshot_source=lambda: (META, SNAPSHOT),
        chunk_bytes=1000,
        backoff_cap_s=0.05,
        request_timeout_s=1.0,
        log=log,
    )


async def wait_count(recorder: Recorder, count: int) -> None:
    async with asyncio.timeout(5):
        while len(recorder.received) < count:
            recorder.arrived.clear()
            await recorder.arrived.wait()


async def test_messages_go_to_their_path_in_a_checked_envelope(
    session: aiohttp.ClientSession,
) -> None:
    recorder = Recorder(free_port())
    await recorder.start()
    transport = transport_to(recorder.port, session, logging.getLogger("t"))
    try:
        transport.send(VoteRequest(term=2, frm=1, to=2, last_log_index=0, last_log_term=0))
        await wait_count(recorder, 1)
        transport.send(TimeoutNow(term=2, frm=1, to=2))
        await wait_count(recorder, 2)
        transport.send(AppendRequest(2, 1, 2, 0, 0, (), 0, 1))
        await wait_count(recorder, 3)
    finally:
        await transport.close()
        await recorder.stop()
    paths = [path for path, _, _ in recorder.received]
    assert paths == ["/raft/vote", "/raft/vote", "/raft/append"]
    _, env, auth = recorder.received[0]
    assert (env.cluster_id, env.frm, env.to, env.to_storage_id, auth) == (
        "c1",
        1,
        2,
        "s2",
        "Bearer tok",
    )


async def test_a_snapshot_travels_in_chunks_and_is_reassembled(
    session: aiohttp.ClientSession,
) -> None:
    recorder = Recorder(free_port())
    await recorder.start()
    transport = transport_to(recorder.port, session, logging.getLogger("t"))
    try:
        transport.send(SnapshotRequest(term=3, frm=1, to=2, meta=META, seq=9))
        await wait_count(recorder, 4)
    finally:
        await transport.close()
        await recorder.stop()
    envelopes = [env for _, env, _ in recorder.received]
    assert [e.chunk_offset for e in envelopes] == [0, 1000, 2000, 3000]
    assert all(len(e.msg.data) <= 1000 for e in envelopes)  # type: ignore[union-attr]
    assembler = SnapshotAssembler()
    results = [assembler.add(env, env.msg) for env in envelopes]  # type: ignore[arg-type]
    assert results[:3] == [None, None, None]
    assert results[3] is not None and results[3].data == SNAPSHOT


async def test_an_out_of_order_chunk_is_refused() -> None:
    msg = SnapshotRequest(term=3, frm=1, to=2, meta=META, seq=9, data=b"x" * 10)
    assembler = SnapshotAssembler()
    late = PeerEnvelope(cluster_id="c1", frm=1, to=2, msg=msg, chunk_offset=10, chunk_total=30)
    with pytest.raises(ApiFailure, match="out of order"):
        assembler.add(late, msg)


async def test_a_peer_going_down_and_up_is_logged_once_each(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    log = logging.getLogger("test.transport")
    transport = transport_to(port, session, log)
    recorder = Recorder(port)
    caplog.set_level(logging.INFO, logger="test.transport")
    try:
        for seq in range(30):
            transport.send(AppendRequest(2, 1, 2, 0, 0, (), 0, seq))
            await asyncio.sleep(0.01)
        await recorder.start()
        transport.send(AppendRequest(2, 1, 2, 0, 0, (), 0, 99))
        await wait_count(recorder, 1)
        async with asyncio.timeout(5):
            while not any(r.getMessage() == "peer up" for r in caplog.records):
                await asyncio.sleep(0.01)
    finally:
        await transport.close()
        await recorder.stop()
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("peer down") == 1
    assert messages.count("peer up") == 1
