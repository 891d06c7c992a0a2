"""Peer transport against a recording aiohttp server: paths, envelope, snapshot chunking and
reassembly, and one log line per peer going down or coming back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

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
from raftkv.kv import StateStore
from raftkv.kv.state_files import StateFile, copy_state
from raftkv.node.driver import DriverStats
from raftkv.node.peer_rejections import PeerRejections
from raftkv.node.raft_routes import SnapshotReceiver
from raftkv.node.state_snapshots import SnapshotToSend, StateFiles, token_install_name
from raftkv.node.transport import PeerBook, PeerTransport
from raftkv.node.wire import ApiFailure, PeerEnvelope, envelope_decoder, stream_frame_decoder

META = SnapshotMeta(last_index=0, last_term=0, membership=EMPTY_MEMBERSHIP)


def state_file(directory: Path) -> StateFile:
    """A real (empty) state store copy, as the node sends it: about 20 KB."""
    store = StateStore(directory / "source.sqlite3")
    store.close()
    return copy_state(directory / "source.sqlite3", directory / "copy.sqlite3")


def source_of(
    file: StateFile | None,
) -> Callable[[SnapshotRequest], Awaitable[SnapshotToSend | None]]:
    async def source(msg: SnapshotRequest) -> SnapshotToSend | None:
        return None if file is None else SnapshotToSend(META, file)

    return source


class Recorder:
    """A peer that records what arrives; with `stream`, it also takes `/raft/stream`."""

    def __init__(self, port: int, *, stream: bool = False) -> None:
        self.port = port
        self.stream = stream
        self.received: list[tuple[str, PeerEnvelope, str | None]] = []
        self.frames = 0
        self.arrived = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        env = envelope_decoder.decode(await request.read())
        self.received.append((request.path, env, request.headers.get("Authorization")))
        self.arrived.set()
        return web.Response()

    async def handle_stream(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for frame in ws:
            self.frames += 1
            for env in stream_frame_decoder.decode(frame.data):
                self.received.append((request.path, env, request.headers.get("Authorization")))
            self.arrived.set()
        return ws

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/raft/{kind}", self.handle)
        if self.stream:
            app.router.add_get("/raft/stream", self.handle_stream)
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


def transport_to(
    port: int, session: aiohttp.ClientSession, log: logging.Logger, file: StateFile | None = None
) -> PeerTransport:
    peers = PeerBook(static_addrs={2: "127.0.0.1:1"}, cluster_id="c1")
    peers.members = {2: NodeInfo(addr=f"127.0.0.1:{port}", storage_id="s2")}
    return PeerTransport(
        node_id=1,
        session=session,
        peers=peers,
        auth_token="tok",
        snapshot_source=source_of(file),
        chunk_bytes=8192,
        backoff_cap_s=0.05,
        request_timeout_s=1.0,
        log=log,
    )


@contextlib.asynccontextmanager
async def recorded(
    session: aiohttp.ClientSession, *, stream: bool
) -> AsyncIterator[tuple[Recorder, PeerTransport]]:
    """A recording peer and a transport to it, both stopped afterwards."""
    recorder = Recorder(free_port(), stream=stream)
    await recorder.start()
    transport = transport_to(recorder.port, session, logging.getLogger("t"))
    try:
        yield recorder, transport
    finally:
        await transport.close()
        await recorder.stop()


async def wait_count(recorder: Recorder, count: int) -> None:
    async with asyncio.timeout(5):
        while len(recorder.received) < count:
            recorder.arrived.clear()
            await recorder.arrived.wait()


async def test_a_peer_without_the_stream_gets_posts_on_each_path(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="t")
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
    fallbacks = [r for r in caplog.records if "no /raft/stream" in r.getMessage()]
    assert len(fallbacks) == 1
    _, env, auth = recorder.received[0]
    assert (env.cluster_id, env.frm, env.to, env.to_storage_id, auth) == (
        "c1",
        1,
        2,
        "s2",
        "Bearer tok",
    )


async def test_a_snapshot_travels_in_chunks_and_is_verified_on_arrival(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    file = state_file(tmp_path)
    chunks = -(-file.size // 8192)
    recorder = Recorder(free_port())
    await recorder.start()
    transport = transport_to(recorder.port, session, logging.getLogger("t"), file)
    try:
        transport.send(SnapshotRequest(term=3, frm=1, to=2, meta=META, seq=9))
        await wait_count(recorder, chunks)
    finally:
        await transport.close()
        await recorder.stop()
    envelopes = [env for _, env, _ in recorder.received]
    assert [e.chunk_offset for e in envelopes] == [i * 8192 for i in range(chunks)]
    assert {e.snapshot_sha256 for e in envelopes} == {file.sha256}
    receiver = receiver_in(tmp_path / "node")
    results = [await receiver.add(env, env.msg) for env in envelopes]  # type: ignore[arg-type]
    assert results[:-1] == [None] * (chunks - 1)
    assembled = results[-1]
    assert assembled is not None
    name = token_install_name(assembled.data)
    assert name is not None
    assert (tmp_path / "node" / name).read_bytes() == file.path.read_bytes()


def receiver_in(directory: Path) -> SnapshotReceiver:
    directory.mkdir(parents=True, exist_ok=True)
    files = StateFiles(StateStore(directory / "state.sqlite3"), directory)
    log = logging.getLogger("t")
    return SnapshotReceiver(
        files,
        log,
        DriverStats(),
        PeerRejections(log),
        max_bytes=1 << 30,
        term=lambda: 0,
        members=lambda: {1},
    )


async def test_a_damaged_snapshot_is_refused_and_counted(tmp_path: Path) -> None:
    file = state_file(tmp_path)
    data = bytearray(file.path.read_bytes())
    data[100] ^= 0xFF
    msg = SnapshotRequest(term=3, frm=1, to=2, meta=META, seq=9, data=bytes(data))
    env = PeerEnvelope(
        cluster_id="c1", frm=1, to=2, msg=msg, chunk_total=len(data), snapshot_sha256=file.sha256
    )
    receiver = receiver_in(tmp_path / "node")
    with pytest.raises(ApiFailure, match="checksum mismatch"):
        await receiver.add(env, msg)
    assert receiver._stats.snapshots_refused == 1
    assert not list((tmp_path / "node").glob("install-*"))
    assert not list((tmp_path / "node").glob("recv-*"))


async def test_an_out_of_order_chunk_is_refused(tmp_path: Path) -> None:
    msg = SnapshotRequest(term=3, frm=1, to=2, meta=META, seq=9, data=b"x" * 10)
    receiver = receiver_in(tmp_path)
    late = PeerEnvelope(cluster_id="c1", frm=1, to=2, msg=msg, chunk_offset=10, chunk_total=30)
    with pytest.raises(ApiFailure, match="out of order"):
        await receiver.add(late, msg)


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


async def test_messages_stream_in_order_batched_with_the_token(
    session: aiohttp.ClientSession,
) -> None:
    async with recorded(session, stream=True) as (recorder, transport):
        transport.send(VoteRequest(term=2, frm=1, to=2, last_log_index=0, last_log_term=0))
        await wait_count(recorder, 1)
        for seq in range(300):  # queued in one go: they leave in a few frames
            transport.send(AppendRequest(2, 1, 2, 0, 0, (), 0, seq))
        await wait_count(recorder, 301)
    assert {path for path, _, _ in recorder.received} == {"/raft/stream"}
    seqs = [env.msg.seq for _, env, _ in recorder.received[1:]]  # type: ignore[union-attr]
    assert seqs == list(range(300))
    assert recorder.frames < 10
    _, env, auth = recorder.received[0]
    assert (env.cluster_id, env.frm, env.to, env.to_storage_id, auth) == (
        "c1",
        1,
        2,
        "s2",
        "Bearer tok",
    )
    assert transport.sent_messages == 301


async def test_a_snapshot_goes_as_posts_beside_the_stream(
    session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    file = state_file(tmp_path)
    chunks = -(-file.size // 8192)
    recorder = Recorder(free_port(), stream=True)
    await recorder.start()
    transport = transport_to(recorder.port, session, logging.getLogger("t"), file)
    try:
        transport.send(SnapshotRequest(term=3, frm=1, to=2, meta=META, seq=9))
        transport.send(AppendRequest(3, 1, 2, 0, 0, (), 0, 10))
        await wait_count(recorder, chunks + 1)
    finally:
        await transport.close()
        await recorder.stop()
    paths = sorted(path for path, _, _ in recorder.received)
    assert paths == ["/raft/snapshot"] * chunks + ["/raft/stream"]


async def stream_then(port: int, action: str) -> web.AppRunner:
    """A peer whose stream, once a frame arrived, is closed with a reason or goes silent."""

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=action != "silent")
        await ws.prepare(request)
        await ws.receive()
        if action == "close":
            await ws.close(code=4409, message=b"addressed to node 2, this is node 3")
        else:
            await asyncio.sleep(30)  # reads nothing more, answers no ping
        return ws

    app = web.Application()
    app.router.add_get("/raft/stream", handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@pytest.mark.parametrize(
    ("action", "reason"),
    [("close", "this is node 3"), ("silent", "stream failed")],
)
async def test_a_stream_the_peer_ends_or_abandons_marks_it_down(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, action: str, reason: str
) -> None:
    """`silent` is a peer that stopped reading (paused): the ping goes unanswered."""
    port = free_port()
    log = logging.getLogger("test.transport.stream")
    caplog.set_level(logging.INFO, logger=log.name)
    runner = await stream_then(port, action)
    transport = transport_to(port, session, log)
    try:
        transport.send(AppendRequest(2, 1, 2, 0, 0, (), 0, 1))
        async with asyncio.timeout(10):
            while transport.peers_up().get(2, True):
                await asyncio.sleep(0.02)
    finally:
        await transport.close()
        await runner.cleanup()
    downs = [r for r in caplog.records if r.getMessage() == "peer down"]
    assert len(downs) == 1
    assert reason in downs[0].fields["reason"]  # type: ignore[attr-defined]


async def test_a_peer_moved_by_the_membership_is_streamed_to_at_its_new_address(
    session: aiohttp.ClientSession,
) -> None:
    async with recorded(session, stream=True) as (old, transport):
        transport.send(AppendRequest(2, 1, 2, 0, 0, (), 0, 1))
        await wait_count(old, 1)
        new = Recorder(free_port(), stream=True)
        await new.start()
        try:
            transport.peers.members[2] = NodeInfo(addr=f"127.0.0.1:{new.port}", storage_id="s2")
            transport.send(AppendRequest(2, 1, 2, 0, 0, (), 0, 2))
            await wait_count(new, 1)
        finally:
            await new.stop()
    assert [env.msg.seq for _, env, _ in old.received] == [1]  # type: ignore[union-attr]
    assert [env.msg.seq for _, env, _ in new.received] == [2]  # type: ignore[union-attr]
