"""A hypothesis fuzz of the client and admin API of a leader and a follower (real processes).

Requests are drawn from valid ones with one part broken (a field of another type or out of
range, a field too many or missing, JSON that does not parse, bytes that are not UTF-8, a bad
`X-Raftkv-Deadline-Ms` or `Authorization`), and from random bodies on random paths. The
properties, for every request:
- the answer is no 5xx but a documented one (`wire.ERROR_CODES`, never `internal`), in the
  `{"Err": ...}` envelope with the status its code has;
- the node is still up;
- a refused request (4xx) changed nothing: the leader's log, membership and digest are as
  before.

Requests that would reshape the cluster or leave the machine are kept out: a valid
change-membership or transfer-leader is skipped, and a valid add-learner's `addr` is pointed
at a closed port on loopback (a documented 502 `learner_unreachable`).

`RAFTKV_FUZZ_EXAMPLES` sets the number of examples (150 by default, derandomized, as in CI;
e.g. `RAFTKV_FUZZ_EXAMPLES=5000 RAFTKV_FUZZ_SEED=random scripts/test.sh
tests/node/test_node_fuzz_client_api.py -s` for a longer run with a fresh seed).
"""

from __future__ import annotations

import http.client
import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import msgspec
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from node_harness import TOKEN, Cluster, NodeProcess, free_port, running_cluster

from raftkv.node.admin import TransferLeaderRequest
from raftkv.node.config import host_port_problem
from raftkv.node.wire import (
    ERROR_CODES,
    AddLearnerRequest,
    ChangeMembershipRequest,
)

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("RAFTKV_FUZZ_EXAMPLES", "150"))
RANDOM_SEED = os.environ.get("RAFTKV_FUZZ_SEED") == "random"
CLOSED_PORT = free_port()
SEEN: Counter[str] = Counter()

VALID_BODIES: dict[str, dict[str, Any]] = {
    "/kv/write": {"key": "k", "value": "v", "serial": 1, "client_id": "fuzz"},
    "/kv/read": {"key": "k", "consistency": "linearizable"},
    "/admin/init": {},
    "/admin/add-learner": {"node_id": 9, "addr": "127.0.0.1:1", "blocking": False},
    "/admin/change-membership": {"voters": [0, 1], "retain": False},
    "/admin/transfer-leader": {"to": None},
}
GET_PATHS = ["/state", "/kv/scan", "/healthz", "/metrics", "/admin/metrics", "/raft/identity"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def broken_body(draw: st.DrawFn, path: str) -> bytes:
    body = dict(VALID_BODIES[path])
    how = draw(st.sampled_from(["replace", "extra", "drop", "json", "raw", "valid"]))
    if how == "replace" and body:
        body[draw(st.sampled_from(sorted(body)))] = draw(json_values)
    elif how == "extra":
        body[draw(st.text(min_size=1, max_size=8))] = draw(json_values)
    elif how == "drop" and body:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif how == "json":
        return json.dumps(draw(json_values)).encode()
    elif how == "raw":
        return draw(st.binary(max_size=64))
    return json.dumps(body).encode()


header_values = st.one_of(
    st.binary(min_size=0, max_size=24).filter(lambda b: b"\r" not in b and b"\n" not in b),
    st.integers(min_value=-(10**20), max_value=10**20).map(lambda n: str(n).encode()),
    st.sampled_from([b"5000", b"0", b"1.5", b"\xc2\xb2", b"9" * 40]),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, bytes | None, dict[str, bytes]]:
    headers: dict[str, bytes] = {"Authorization": f"Bearer {TOKEN}".encode()}
    if draw(st.booleans()):
        headers["X-Raftkv-Deadline-Ms"] = draw(header_values)
    if draw(st.integers(0, 5)) == 0:
        headers["Authorization"] = draw(header_values)
    kind = draw(st.sampled_from(["post", "get", "random"]))
    if kind == "post":
        path = draw(st.sampled_from(sorted(VALID_BODIES)))
        return "POST", path, draw(broken_body(path)), headers
    if kind == "get":
        path = draw(st.sampled_from(GET_PATHS))
        query = draw(
            st.dictionaries(
                st.sampled_from(["kv", "prefix", "after", "limit", "x"]),
                st.text(max_size=6),
                max_size=3,
            )
        )
        suffix = urlencode(query)
        return "GET", path + ("?" + suffix if suffix else ""), None, headers
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"]))
    path = "/" + draw(st.sampled_from(["kv", "admin", "raft", "state", "x"])) + "/"
    path += draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_", max_size=12))
    return method, path, draw(st.binary(max_size=32)), headers


def made_safe(path: str, body: bytes | None) -> bytes | None:
    """Keep the cluster's shape and traffic on loopback (see the module doc)."""
    try:
        if path == "/admin/change-membership":
            msgspec.json.decode(body or b"", type=ChangeMembershipRequest)
            assume(False)
        if path == "/admin/transfer-leader":
            if (body or b"").strip() in (b"", b"null"):
                assume(False)
            msgspec.json.decode(body or b"", type=TransferLeaderRequest)
            assume(False)
        if path == "/admin/add-learner":
            req = msgspec.json.decode(body or b"", type=AddLearnerRequest)
            if host_port_problem(req.addr) is None:
                safe = msgspec.structs.replace(req, addr=f"127.0.0.1:{CLOSED_PORT}")
                return msgspec.json.encode(safe)
    except (msgspec.ValidationError, msgspec.DecodeError):
        pass
    return body


def send(
    addr: str, method: str, path: str, body: bytes | None, headers: dict[str, bytes]
) -> tuple[int, bytes]:
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body or b"")
        answer = conn.getresponse()
        return answer.status, answer.read()
    finally:
        conn.close()


def fingerprint(node: NodeProcess) -> tuple[Any, ...]:
    state = node.state()
    return (
        state["last_log_index"],
        json.dumps(state["membership"]),
        state["kv_digest"],
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("fuzz"), 2, token=TOKEN) as cluster:
        yield cluster
    print(f"\nclient API fuzz: {sum(SEEN.values())} requests, answers {dict(sorted(SEEN.items()))}")


@pytest.mark.parametrize("role", ["leader", "follower"])
def test_no_request_crashes_a_node_or_changes_it_when_refused(cluster: Cluster, role: str) -> None:
    leader = cluster.leader()
    node = leader if role == "leader" else cluster.followers(leader)[0]

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM_SEED,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(requests())
    def check(request: tuple[str, str, bytes | None, dict[str, bytes]]) -> None:
        method, path, body, headers = request
        body = made_safe(path, body)
        before = fingerprint(leader)
        status, answer = send(node.addr, method, path, body, headers)
        assert node.proc is not None and node.proc.poll() is None, node.tail_log()
        code = "-"
        if status >= 400:
            try:
                err = json.loads(answer)["Err"]
            except (ValueError, KeyError, TypeError):
                # Only the HTTP parser's own refusals are plain text, and only 400s.
                assert status == 400, (status, answer[:300])
            else:
                code = err["code"]
                assert code in ERROR_CODES and code != "internal", err
                assert ERROR_CODES[code][0] == status, (status, err)
                assert isinstance(err["indeterminate"], bool)
        SEEN[f"{status} {code}"] += 1
        if 400 <= status < 500:
            assert fingerprint(leader) == before, (method, path, body, status, answer)
        assert status < 500 or code in ERROR_CODES, (status, answer[:300])

    check()
    assert cluster.leader() is leader
