"""Bad headers and malformed addresses are the client's mistake: 400 `bad_request` (never a
500, never a 502), nothing proposed, nothing in the membership; a NUL byte in a header is
logged as one warning line, not an error with a traceback. A proposal refused during a
leadership transfer is 503 `proposal_dropped`, definite.

One three-node cluster with a bearer token, real processes; after each attack the node is up,
its log did not move, and the cluster still commits."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from node_harness import TOKEN, Cluster, call, running_cluster, wait_for, write

pytestmark = pytest.mark.e2e

SLOW_ELECTIONS = {
    "heartbeat_interval_ms": 100,
    "election_timeout_min_ms": 3000,
    "election_timeout_max_ms": 4000,
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    workdir: Path = tmp_path_factory.mktemp("bad-headers")
    with running_cluster(workdir, 3, token=TOKEN, **SLOW_ELECTIONS) as cluster:
        yield cluster


def raw_exchange(addr: str, head: bytes, body: bytes = b"") -> bytes:
    """Send a hand-made request (bytes no HTTP library would send); the whole answer."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b"\r\n" + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def raw_request(addr: str, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
    """`raw_exchange`'s status and body."""
    status_line, _, rest = raw_exchange(addr, head, body).partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def post_head(path: str, body: bytes, *headers: bytes) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1".encode(),
        b"Host: x",
        b"Connection: close",
        b"Content-Type: application/json",
        f"Content-Length: {len(body)}".encode(),
        *headers,
    ]
    return b"\r\n".join(lines) + b"\r\n"


def log_position(cluster: Cluster) -> dict[int, tuple[Any, ...]]:
    """What a refused request must not move: each node's log and membership."""
    out = {}
    for node in cluster.nodes:
        state = node.state()
        out[node.node_id] = (state["last_log_index"], json.dumps(state["membership"]))
    return out


def refusals(node: Any, code: str = "bad_request") -> float:
    """How many requests the node refused with `code` (its `raftkv_api_errors_total`)."""
    text = call(node.addr, "GET", "/metrics")[1]
    match = re.search(rf'^raftkv_api_errors_total{{code="{code}"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def assert_still_commits(cluster: Cluster, key: str) -> None:
    key = key[:100]
    leader = cluster.leader()
    status, answer = write(leader.addr, key, "after", 1, client_id=key)
    assert status == 200, answer
    for node in cluster.nodes:
        assert node.proc is not None and node.proc.poll() is None, node.tail_log()


@pytest.mark.parametrize(
    "value",
    [
        b"abc",
        b"9" * 400,
        b"-5",
        b"1.5",
        b"\xc2\xb2",  # a superscript two: a digit to str.isdigit, not to int()
        b"\xd9\xa1\xd9\xa2",  # Arabic-Indic digits
        b"",
    ],
    ids=["letters", "enormous", "negative", "fraction", "superscript", "arabic-indic", "empty"],
)
def test_a_bad_deadline_header_is_a_400_and_writes_nothing(cluster: Cluster, value: bytes) -> None:
    leader = cluster.leader()
    before = log_position(cluster)
    body = json.dumps({"key": "deadline", "value": "v", "serial": 1}).encode()
    for node in cluster.nodes:  # the leader, and the followers that would forward
        counted = refusals(node)
        head = post_head("/kv/write", body, b"X-Raftkv-Deadline-Ms: " + value)
        status, answer = raw_request(node.addr, head, body)
        err = json.loads(answer)["Err"]
        assert (status, err["code"], err["indeterminate"]) == (400, "bad_request", False), err
        assert "X-Raftkv-Deadline-Ms" in err["message"]
        assert refusals(node) == counted + 1
    assert log_position(cluster) == before
    assert call(leader.addr, "POST", "/kv/read", {"key": "deadline"}) == (
        200,
        {"Ok": {"value": None}},
    )
    assert_still_commits(cluster, f"after-deadline-{value.hex()}")


def test_a_good_deadline_header_is_honoured(cluster: Cluster) -> None:
    leader = cluster.leader()
    status, _ = call(
        leader.addr,
        "POST",
        "/kv/write",
        {"key": "good-deadline", "value": "v", "serial": 1, "client_id": "gd"},
        headers={"X-Raftkv-Deadline-Ms": "5000"},
    )
    assert status == 200


@pytest.mark.parametrize(
    "value",
    [b"Bearer \xff\xfe", b"\xc3\x28", b"Bearer test-token\x80"],
    ids=["bearer-ff", "broken-utf8", "token-and-a-byte"],
)
def test_a_non_utf8_authorization_header_is_a_400(cluster: Cluster, value: bytes) -> None:
    leader = cluster.leader()
    before = log_position(cluster)
    body = json.dumps({"voters": [0, 1]}).encode()
    head = post_head("/admin/change-membership", body, b"Authorization: " + value)
    counted = refusals(leader)
    status, answer = raw_request(leader.addr, head, body)
    assert refusals(leader) == counted + 1
    err = json.loads(answer)["Err"]
    assert (status, err["code"], err["indeterminate"]) == (400, "bad_request", False), err
    assert "Authorization" in err["message"]
    assert log_position(cluster) == before
    assert_still_commits(cluster, f"after-auth-{value.hex()}")


BAD_ADDRS = [
    "no-port",
    "host:",
    ":8080",
    "host:0",
    "host:99999",
    "host:80x",
    "http://127.0.0.1:9",
    "127.0.0.1:9/path",
    "a b:1",
    "[::1:9",
    "[nope]:9",
    "h\u00e9:1",
    "host:\u0661\u0662",
    "x" * 300 + ":1",
    "",
]


@pytest.mark.parametrize("addr", BAD_ADDRS, ids=[ascii(a)[1:25] or "empty" for a in BAD_ADDRS])
def test_an_add_learner_addr_that_is_not_host_port_is_a_400(cluster: Cluster, addr: str) -> None:
    before = log_position(cluster)
    for node in cluster.nodes:  # on a follower too: refused before any forward
        counted = refusals(node)
        status, answer = cluster.admin(node, "/admin/add-learner", {"node_id": 7, "addr": addr})
        assert refusals(node) == counted + 1
        assert status == 400, answer
        assert answer["Err"]["code"] == "bad_request" and answer["Err"]["indeterminate"] is False
        assert answer["Err"]["message"].startswith("addr: ")
    assert log_position(cluster) == before
    assert 7 not in cluster.leader().state()["learners"]


def test_a_nul_byte_in_a_header_is_the_clients_mistake(cluster: Cluster) -> None:
    node = cluster.node(1)
    size = node.log_path.stat().st_size
    before = log_position(cluster)
    for n in range(3):
        head = (
            b"GET /state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + f"X-Probe-{n}: a\x00b\r\n".encode()
        )
        status, _ = raw_request(node.addr, head)
        assert status == 400
    wait_for(
        lambda: b"refused a request the client malformed" in node.log_path.read_bytes()[size:],
        10,
        "the warning line",
    )
    logged = node.log_path.read_bytes()[size:].decode(errors="replace")
    assert "Traceback" not in logged and " ERROR " not in logged, logged
    assert re.search(r"WARNING? refused a request the client malformed", logged), logged
    metrics = call(node.addr, "GET", "/metrics")[1]
    match = re.search(r"^raftkv_http_malformed_requests_total (\S+)$", metrics, re.M)
    assert match and float(match.group(1)) >= 3
    assert log_position(cluster) == before
    assert_still_commits(cluster, "after-nul")


def test_a_proposal_during_a_leadership_transfer_is_a_definite_503(cluster: Cluster) -> None:
    """The transfer's target is paused, so the transfer stays in progress (until an election
    timeout, 3-4 s here); membership calls and writes meanwhile are refused, not proposed."""
    leader = cluster.leader()
    target = next(n for n in cluster.nodes if n is not leader)
    target.signal(19)  # SIGSTOP
    transfer_done = threading.Event()

    def transfer() -> None:
        cluster.admin(
            leader,
            "/admin/transfer-leader",
            {"to": target.node_id},
            headers={"X-Raftkv-Deadline-Ms": "2500"},
        )
        transfer_done.set()

    worker = threading.Thread(target=transfer)
    try:
        worker.start()
        before = log_position_of(leader)

        def dropped() -> dict[str, Any] | None:
            status, answer = cluster.admin(
                leader, "/admin/change-membership", {"voters": [n.node_id for n in cluster.nodes]}
            )
            return answer if status == 503 else None

        counted = refusals(leader, "proposal_dropped")
        answer = wait_for(dropped, 2.0, "a change refused while transferring")
        assert refusals(leader, "proposal_dropped") > counted
        err = answer["Err"]
        assert (err["code"], err["indeterminate"]) == ("proposal_dropped", False), err
        status, answer = write(leader.addr, "during-transfer", "v", 1, client_id="dt")
        if not transfer_done.is_set():
            assert status == 503, answer
            assert answer["Err"]["code"] == "proposal_dropped"
            assert answer["Err"]["indeterminate"] is False
        assert log_position_of(leader) == before
    finally:
        target.signal(18)  # SIGCONT
        worker.join(30)
    wait_for(lambda: target.state().get("role") in ("Follower", "Leader"), 20, "target back")
    assert_still_commits(cluster, "after-transfer")


def log_position_of(node: Any) -> int:
    return int(node.state()["last_log_index"])


def test_a_405_names_the_allowed_methods_in_the_allow_header(cluster: Cluster) -> None:
    head = b"GET /kv/write HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    data = raw_exchange(cluster.node(0).addr, head)
    assert data.startswith(b"HTTP/1.1 405")
    assert b"\r\nAllow: POST\r\n" in data
    assert json.loads(data.partition(b"\r\n\r\n")[2])["Err"]["allowed"] == ["POST"]
