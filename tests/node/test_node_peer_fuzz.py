"""Fuzzing the peer envelope against a real node: whatever arrives on `/raft/*`, the answer is
200 (queued), 400 (refused) or 409 (misaddressed), never a 5xx, and the node keeps serving.

CI runs a bounded number of examples; `RAFTKV_FUZZ_EXAMPLES=20000` runs a longer campaign.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from node_harness import TOKEN, Cluster, call, make_cluster, write

from raftkv.core import (
    AppendRequest,
    AppendResponse,
    Entry,
    EntryKind,
    ReadIndexRequest,
    SnapshotResponse,
    TimeoutNow,
    VoteRequest,
    VoteResponse,
)
from raftkv.kv import Put, encode_command
from raftkv.node.wire import PeerEnvelope, envelope_encoder

pytestmark = pytest.mark.e2e
EXAMPLES = int(os.environ.get("RAFTKV_FUZZ_EXAMPLES", "150"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    formed = make_cluster(tmp_path_factory.mktemp("peer-fuzz"), 3, token=TOKEN)
    try:
        formed.start_all()
        formed.form()
        yield formed
    finally:
        formed.stop_all()


_ints = st.one_of(
    st.integers(min_value=0, max_value=20), st.integers(min_value=-(2**63), max_value=2**64 - 1)
)
_node = st.integers(min_value=0, max_value=4)
_data = st.one_of(
    st.binary(max_size=16),
    st.builds(lambda k, v: encode_command(Put(k, v, "fuzz", 1)), st.text(max_size=4), st.text()),
)
_entries = st.lists(
    st.builds(Entry, term=_ints, index=_ints, kind=st.sampled_from(EntryKind), data=_data),
    max_size=3,
).map(tuple)
_messages = st.one_of(
    st.builds(
        VoteRequest,
        term=_ints,
        frm=_node,
        to=_node,
        last_log_index=_ints,
        last_log_term=_ints,
        pre_vote=st.booleans(),
        transfer=st.booleans(),
    ),
    st.builds(
        VoteResponse, term=_ints, frm=_node, to=_node, granted=st.booleans(), pre_vote=st.booleans()
    ),
    st.builds(
        AppendRequest,
        term=_ints,
        frm=_node,
        to=_node,
        prev_index=_ints,
        prev_term=_ints,
        entries=_entries,
        leader_commit=_ints,
        seq=_ints,
    ),
    st.builds(
        AppendResponse,
        term=_ints,
        frm=_node,
        to=_node,
        success=st.booleans(),
        match_index=_ints,
        seq=_ints,
        hint_index=_ints,
        hint_term=_ints,
    ),
    st.builds(SnapshotResponse, term=_ints, frm=_node, to=_node, last_index=_ints, seq=_ints),
    st.builds(TimeoutNow, term=_ints, frm=_node, to=_node),
    st.builds(ReadIndexRequest, term=_ints, frm=_node, to=_node, ctx=_ints),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    msg=_messages,
    frm=_node,
    target=st.integers(min_value=0, max_value=2),
    path=st.sampled_from(["/raft/append", "/raft/vote"]),
)
def test_no_peer_envelope_gets_a_server_error(
    cluster: Cluster, msg: object, frm: int, target: int, path: str
) -> None:
    node = cluster.nodes[target]
    env = PeerEnvelope(cluster_id="", frm=frm, to=node.node_id, msg=msg)  # type: ignore[arg-type]
    try:
        raw = envelope_encoder.encode(env)
    except OverflowError:
        return  # msgpack carries 64-bit integers only: nothing to send
    status, body = call(node.addr, "POST", path, raw=raw, token=TOKEN)
    assert status in (200, 400, 409), (status, body)


def test_the_cluster_still_commits_after_the_fuzzing(cluster: Cluster) -> None:
    for node in cluster.nodes:
        assert node.proc is not None and node.proc.poll() is None, node.tail_log()
    leader = cluster.leader(timeout=30.0)
    status, answer = write(leader.addr, "after-fuzz", "v", 1, client_id="fuzz-check")
    assert status == 200, answer
