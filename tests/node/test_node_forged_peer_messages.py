"""Forged peer messages over the POST routes and `/raft/stream`: each is refused and counted
(`raftkv_peer_messages_rejected_total{reason}`), the node stays up, its data stays intact,
nothing is dialled on the forger's word, and the cluster still commits. Real processes."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from node_harness import TOKEN, Cluster, NodeProcess, call, make_cluster, wait_for, write

from raftkv.core import (
    AppendRequest,
    AppendResponse,
    Entry,
    EntryKind,
    Message,
    SnapshotMeta,
    SnapshotRequest,
    VoteRequest,
)
from raftkv.core.types import EMPTY_MEMBERSHIP
from raftkv.node.wire import PeerEnvelope, envelope_encoder, stream_frame

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir: Path = tmp_path_factory.mktemp("forged")
    formed = make_cluster(workdir, 3, token=TOKEN, max_snapshot_mb=64)
    try:
        formed.start_all()
        formed.form()
        leader = formed.leader()
        assert write(leader.addr, "kept", "before", 1, client_id="forged-tests")[0] == 200
        yield formed
    finally:
        formed.stop_all()


def post(node: NodeProcess, path: str, env: PeerEnvelope) -> tuple[int, object]:
    return call(node.addr, "POST", path, raw=envelope_encoder.encode(env), token=TOKEN)


def envelope(node: NodeProcess, msg: Message, **kw: object) -> PeerEnvelope:
    cluster_id = node.state()["cluster_id"] or ""
    fields: dict[str, object] = {"cluster_id": cluster_id, "frm": msg.frm, "to": node.node_id}
    fields.update(kw)
    return PeerEnvelope(msg=msg, **fields)  # type: ignore[arg-type]


def rejected(node: NodeProcess) -> dict[str, float]:
    status, text = call(node.addr, "GET", "/metrics")
    assert status == 200
    pattern = r'^raftkv_peer_messages_rejected_total\{reason="([a-z_]+)"\} (\S+)$'
    return {m[1]: float(m[2]) for m in re.finditer(pattern, str(text), re.MULTILINE)}


def wait_rejected(node: NodeProcess, reason: str, before: dict[str, float]) -> None:
    wait_for(
        lambda: rejected(node).get(reason, 0) > before.get(reason, 0),
        10.0,
        f"a {reason} refusal counted on node {node.node_id}",
    )


def still_serving(cluster: Cluster, serial: int) -> None:
    """Every node up, the key written before intact everywhere, and a new write commits."""
    leader = cluster.leader()
    for node in cluster.nodes:
        assert node.proc is not None and node.proc.poll() is None, node.tail_log()
    status, answer = write(leader.addr, f"after-{serial}", "v", serial, client_id="forged-tests")
    assert status == 200, answer
    for node in cluster.nodes:
        wait_for(lambda n=node: n.kv().get(f"after-{serial}") == "v", 10.0, "the new write")
        assert node.kv()["kept"] == "before"


def term_of(node: NodeProcess) -> int:
    return int(node.state()["current_term"])


def test_a_vote_with_an_unstorable_term_is_refused(cluster: Cluster) -> None:
    follower = cluster.followers(cluster.leader())[0]
    term, before = term_of(follower), rejected(follower)
    vote = VoteRequest(2**64 - 1, cluster.leader().node_id, follower.node_id, 10**6, 2**64 - 1)
    assert post(follower, "/raft/vote", envelope(follower, vote))[0] == 200  # stepped later
    wait_rejected(follower, "term_out_of_range", before)
    assert term_of(follower) == term
    still_serving(cluster, 10)


def test_a_second_leader_and_acknowledgements_beyond_the_log_are_refused(cluster: Cluster) -> None:
    leader = cluster.leader()
    other = cluster.followers(leader)[0]
    state = leader.state()
    term, last = int(state["current_term"]), int(state["last_log_index"])
    before = rejected(leader)
    forged_append = AppendRequest(term, other.node_id, leader.node_id, last, term, (), 0, 1)
    post(leader, "/raft/append", envelope(leader, forged_append))
    wait_rejected(leader, "second_leader", before)
    beyond = AppendResponse(term, other.node_id, leader.node_id, True, last + 10**6, seq=1)
    post(leader, "/raft/append", envelope(leader, beyond))
    wait_rejected(leader, "match_beyond_log", before)
    assert cluster.leader() is leader and term_of(leader) == term
    still_serving(cluster, 11)


def test_entries_that_do_not_decode_are_refused(cluster: Cluster) -> None:
    leader = cluster.leader()
    follower = cluster.followers(leader)[0]
    state = follower.state()
    term, last = int(state["current_term"]), int(state["last_log_index"])
    before = rejected(follower)
    command = Entry(term, last + 1, EntryKind.COMMAND, b"\xc1 not a command")
    forged = AppendRequest(term, leader.node_id, follower.node_id, last, term, (command,), 0, 1)
    status, answer = post(follower, "/raft/append", envelope(follower, forged))
    assert status == 400 and "bad_command" in str(answer)
    assert rejected(follower)["bad_command"] > before.get("bad_command", 0)
    membership = Entry(term, last + 1, EntryKind.MEMBERSHIP, b"\xc1")
    forged = AppendRequest(term, leader.node_id, follower.node_id, last, term, (membership,), 0, 2)
    post(follower, "/raft/append", envelope(follower, forged))
    wait_rejected(follower, "bad_membership", before)
    still_serving(cluster, 12)


def test_a_sender_that_is_not_a_member_gets_no_answer_and_no_connection(cluster: Cluster) -> None:
    """A response from a stranger is refused at the door; a request from one is answered to
    nobody: its announced address is never dialled and no sender or metric series appears."""
    leader = cluster.leader()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    dialled: list[object] = []

    def accept() -> None:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            dialled.append(conn.recv(4096))
            conn.close()

    watcher = threading.Thread(target=accept)
    watcher.start()
    stranger_addr = f"127.0.0.1:{listener.getsockname()[1]}"
    before = rejected(leader)
    term = term_of(leader)
    answer = AppendResponse(term, 99, leader.node_id, True, 1, seq=1)
    status, body = post(leader, "/raft/append", envelope(leader, answer, from_addr=stranger_addr))
    assert status == 400 and "unknown_sender" in str(body)
    vote = VoteRequest(term + 1, 99, leader.node_id, 0, 0, pre_vote=True)
    assert post(leader, "/raft/vote", envelope(leader, vote, from_addr=stranger_addr))[0] == 200
    watcher.join()
    listener.close()
    assert dialled == []
    text = str(call(leader.addr, "GET", "/metrics")[1])
    unaddressable = re.search(r"^raftkv_peer_messages_unaddressable_total (\S+)$", text, re.M)
    assert unaddressable is not None and float(unaddressable[1]) >= 1
    assert rejected(leader)["unknown_sender"] > before.get("unknown_sender", 0)
    status, metrics = call(leader.addr, "GET", "/admin/metrics", token=TOKEN)
    assert "99" not in metrics["Ok"]["peers_up"]  # type: ignore[index]
    still_serving(cluster, 13)


def test_a_mismatched_sender_is_refused(cluster: Cluster) -> None:
    follower = cluster.followers(cluster.leader())[0]
    vote = VoteRequest(1, 2, follower.node_id, 0, 0, pre_vote=True)
    status, body = post(follower, "/raft/vote", envelope(follower, vote, frm=0))
    assert status == 400 and "sender_mismatch" in str(body)


def test_snapshots_announced_too_large_or_from_an_old_term_are_refused(cluster: Cluster) -> None:
    leader = cluster.leader()
    follower = cluster.followers(leader)[0]
    data_dir = follower.workdir / f"raftkv-data-{follower.node_id}"
    term = term_of(follower)
    meta = SnapshotMeta(10**6, term, EMPTY_MEMBERSHIP, 0)
    huge = SnapshotRequest(term, leader.node_id, follower.node_id, meta, 1, b"x" * 1024)
    for _ in range(10):
        env = envelope(follower, huge, chunk_offset=0, chunk_total=1 << 40)
        status, body = post(follower, "/raft/snapshot", env)
        assert status == 400 and "snapshot_too_large" in str(body)
    old = SnapshotRequest(term - 1, leader.node_id, follower.node_id, meta, 1, b"x")
    status, body = post(follower, "/raft/snapshot", envelope(follower, old, chunk_total=1))
    assert status == 400 and "stale_term" in str(body)
    assert data_dir.is_dir() and not list(data_dir.glob("recv-*.part"))
    still_serving(cluster, 14)


def test_a_snapshot_that_is_not_a_state_file_is_refused_before_anything_is_replaced(
    cluster: Cluster,
) -> None:
    leader = cluster.leader()
    follower = cluster.followers(leader)[0]
    data_dir = follower.workdir / f"raftkv-data-{follower.node_id}"
    state_before = (data_dir / "state.sqlite3").stat().st_ino
    term = term_of(follower)
    garbage = b"not a state file " * 100
    meta = SnapshotMeta(10**6, term, EMPTY_MEMBERSHIP, 0)
    msg = SnapshotRequest(term, leader.node_id, follower.node_id, meta, 1, garbage)
    env = envelope(
        follower,
        msg,
        chunk_total=len(garbage),
        snapshot_sha256=hashlib.sha256(garbage).hexdigest(),
    )
    status, body = post(follower, "/raft/snapshot", env)
    assert status == 400 and "snapshot refused" in str(body)
    assert (data_dir / "state.sqlite3").stat().st_ino == state_before
    assert not list(data_dir.glob("recv-*.part")) and not list(data_dir.glob("install-*"))
    status, metrics = call(follower.addr, "GET", "/admin/metrics", token=TOKEN)
    assert metrics["Ok"]["driver"]["snapshots_refused"] >= 1  # type: ignore[index]
    still_serving(cluster, 16)


async def test_forged_messages_on_the_stream_are_dropped_and_the_stream_stays(
    cluster: Cluster,
) -> None:
    leader = cluster.leader()
    follower = cluster.followers(leader)[0]
    before = rejected(follower)
    term = term_of(follower)
    forged = [
        VoteRequest(2**64 - 1, leader.node_id, follower.node_id, 0, 0),
        AppendResponse(term, 99, follower.node_id, True, 1, seq=1),
    ]
    frame = stream_frame([envelope_encoder.encode(envelope(follower, m)) for m in forged])
    url = f"http://{follower.addr}/raft/stream"
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with session.ws_connect(url, headers=headers) as stream:
            await stream.send_bytes(frame)
            wait_for(
                lambda: (
                    rejected(follower).get("term_out_of_range", 0)
                    > before.get("term_out_of_range", 0)
                ),
                10.0,
                "the stream's refusal counted",
            )
            assert not stream.closed
    assert rejected(follower)["unknown_sender"] > before.get("unknown_sender", 0)
    still_serving(cluster, 17)
