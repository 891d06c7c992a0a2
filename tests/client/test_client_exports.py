"""Guards the client's public surface: the CLI, the TF, the chaos scenarios and the bench
code against these names and keyword arguments."""

from __future__ import annotations

import inspect

import msgspec
import pytest

import raftkv.client as client
from raftkv.core.errors import RaftKVError

INTERFACE = {
    "NodeClient.__init__": ["self", "addr", "timeout", "auth_token", "session"],
    "NodeClient.healthz": ["self"],
    "NodeClient.state": ["self", "kv"],
    "NodeClient.write": ["self", "key", "value", "serial", "client_id", "timeout"],
    "NodeClient.read": ["self", "key", "linearizable", "timeout"],
    "NodeClient.scan": ["self", "prefix", "after", "limit", "timeout"],
    "NodeClient.scan_all": ["self", "prefix", "after", "page_size", "timeout"],
    "NodeClient.init": ["self"],
    "NodeClient.add_learner": ["self", "node_id", "addr", "blocking"],
    "NodeClient.change_membership": ["self", "voters", "retain"],
    "NodeClient.metrics": ["self"],
    "NodeClient.close": ["self"],
    "ClusterClient.__init__": ["self", "addrs", "client_id", "timeout", "auth_token", "rng"],
    "ClusterClient.write": ["self", "key", "value", "deadline"],
    "ClusterClient.read": ["self", "key", "linearizable", "deadline"],
    "ClusterClient.leader": ["self", "deadline"],
    "ClusterClient.close": ["self"],
}


def test_every_exported_name_exists() -> None:
    assert set(client.__all__) >= {
        "NodeClient",
        "ClusterClient",
        "ApiError",
        "NodeState",
        "ScanPage",
    }
    for name in client.__all__:
        assert hasattr(client, name), name


@pytest.mark.parametrize("qualname", sorted(INTERFACE))
def test_documented_parameters_are_accepted(qualname: str) -> None:
    owner, method = qualname.split(".")
    parameters = list(inspect.signature(getattr(getattr(client, owner), method)).parameters)
    expected = INTERFACE[qualname]
    # Extra optional parameters may follow; the documented ones keep their names and order.
    assert [p for p in parameters if p in expected] == expected


def test_api_error_is_a_raftkv_error_with_its_fields() -> None:
    error = client.ApiError(421, "not_leader", "ask 2", details={"leader_id": 2})
    assert isinstance(error, RaftKVError)
    assert (error.status, error.code, error.message, error.indeterminate) == (
        421,
        "not_leader",
        "ask 2",
        False,
    )
    assert error.details == {"leader_id": 2}
    assert isinstance(client.ApiTimeout(0, "timeout", "late"), TimeoutError)


def test_node_state_decodes_the_reference_fields_alone() -> None:
    reference = (
        b'{"node_id": 1, "public_addr": "node-1:8080", "role": "Follower", "current_leader": 0,'
        b' "current_term": 2, "last_log_index": 9, "last_applied_index": 9, "voters": [0, 1, 2],'
        b' "kv": {"a": "1"}}'
    )
    state = msgspec.json.decode(reference, type=client.NodeState)
    assert (state.current_leader, state.voters, state.kv) == (0, [0, 1, 2], {"a": "1"})
    assert (state.learners, state.committed_index, state.membership, state.cluster_id) == (
        [],
        0,
        None,
        None,
    )
    assert (state.kv_digest, state.kv_keys, state.kv_omitted) == (None, None, None)
    assert state.key_count == 1, "counted from the map"


def test_node_state_decodes_a_large_raftkv_state() -> None:
    large = (
        b'{"node_id": 0, "public_addr": "n:1", "role": "Leader", "current_leader": 0,'
        b' "current_term": 1, "last_log_index": 9, "last_applied_index": 9, "voters": [0],'
        b' "kv_digest": "00000000000000ff", "kv_keys": 12000, "kv": null,'
        b' "kv_omitted": "12000 keys exceed state_kv_max_keys=10000"}'
    )
    state = msgspec.json.decode(large, type=client.NodeState)
    assert (state.kv, state.kv_digest, state.kv_keys, state.key_count) == (
        None,
        "00000000000000ff",
        12000,
        12000,
    )
    assert state.kv_omitted == "12000 keys exceed state_kv_max_keys=10000"
    light = msgspec.json.decode(large.replace(b' "kv": null,', b""), type=client.NodeState)
    assert light.kv is None and light.key_count == 12000
