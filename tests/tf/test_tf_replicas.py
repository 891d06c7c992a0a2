"""Replica convergence (`raftkv.tf.replicas.converged`), table driven: applied index first,
then digests (a difference at one index is broken for good), then maps when every node sent
its map; nodes without digests (the reference) are compared by their maps alone."""

from __future__ import annotations

import pytest
from tf_fakes import fake_state

from raftkv.client import NodeState
from raftkv.tf.replicas import Replicas, converged

A, B = "a" * 16, "b" * 16
OMITTED = "too many keys"


def node(
    i: int,
    applied: int,
    *,
    kv: dict[str, str] | None = None,
    digest: str | None = None,
    keys: int | None = None,
) -> NodeState:
    omitted = OMITTED if kv is None and digest is not None else None
    return fake_state(i, kv=kv, applied=applied, digest=digest, keys=keys, kv_omitted=omitted)


def view(*states: NodeState | None) -> dict[str, NodeState | None]:
    return {f"node-{i}": state for i, state in enumerate(states)}


# (view, held: Replicas or None, pending substring, broken substring)
CASES = [
    pytest.param(
        view(node(0, 5, kv={"a": "1"}), node(1, 5, kv={"a": "1"})),
        Replicas(5, None, 1, ("node-0", "node-1"), {"a": "1"}),
        "",
        "",
        id="reference-identical-maps",
    ),
    pytest.param(
        view(node(0, 5, kv={"a": "1"}), node(1, 4, kv={"a": "1"}), node(2, 5, kv={"a": "1"})),
        None,
        "applied index differs: node-0 5, node-1 4, node-2 5",
        "",
        id="applied-index-differs",
    ),
    pytest.param(
        view(node(0, 5, kv={"a": "1"}), node(1, 5, kv={"a": "2"})),
        None,
        "key/value maps differ at applied index 5 between node-0 and node-1 "
        "(first key: 'a': '1' vs '2')",
        "",
        id="reference-values-differ-is-pending",
    ),
    pytest.param(
        view(node(0, 5, kv={"a": "1"}), node(1, 5)),
        None,
        "node-1 was not polled with its key/value map yet",
        "",
        id="reference-needs-every-map",
    ),
    pytest.param(
        view(node(0, 9, digest=A, keys=7), node(1, 9, digest=A, keys=7)),
        Replicas(9, A, 7, ("node-0", "node-1"), None),
        "",
        "",
        id="equal-digests-without-maps",
    ),
    pytest.param(
        view(node(0, 9, kv={"a": "1"}, digest=A), node(1, 9, digest=A, keys=1)),
        Replicas(9, A, 1, ("node-0", "node-1"), None),
        "",
        "",
        id="equal-digests-one-map-left-out",
    ),
    pytest.param(
        view(node(0, 9, digest=A), node(1, 9, digest=B), node(2, 9, digest=A)),
        None,
        "",
        f"replicas diverged at applied index 9: node-0, node-2 report kv_digest {A}; "
        f"node-1 reports kv_digest {B}",
        id="digest-differs-at-one-index",
    ),
    pytest.param(
        view(node(0, 9, digest=A), node(1, 8, digest=B)),
        None,
        "applied index differs: node-0 9, node-1 8",
        "",
        id="digest-differs-at-two-indexes-is-pending",
    ),
    pytest.param(
        view(node(0, 9, kv={"a": "1"}, digest=A), node(1, 9, kv={"a": "2"}, digest=A)),
        None,
        "",
        "key/value maps differ at applied index 9 between node-0 and node-1",
        id="equal-digests-but-maps-differ",
    ),
    pytest.param(
        view(node(0, 9, kv={"a": "1"}, digest=A), node(1, 9, kv={"a": "1"})),
        Replicas(9, A, 1, ("node-0", "node-1"), {"a": "1"}),
        "",
        "",
        id="a-node-without-digest-compares-maps",
    ),
    pytest.param(
        view(node(0, 9, digest=A), None),
        None,
        "node-1 did not answer",
        "",
        id="a-node-did-not-answer",
    ),
]


@pytest.mark.parametrize(("nodes", "held", "pending", "broken"), CASES)
def test_converged(nodes, held, pending, broken) -> None:
    outcome = converged(nodes)
    assert outcome.value == held
    assert pending in outcome.pending and bool(outcome.pending) is bool(pending)
    assert broken in outcome.broken and bool(outcome.broken) is bool(broken)


def test_voters_are_waited_for_but_a_divergence_is_not() -> None:
    three = frozenset({0, 1, 2})
    lagging = view(fake_state(0, digest=A), fake_state(1, digest=A), fake_state(2, voters=[0]))
    assert converged(lagging, three).pending == "node-2 reports voters [0], want [0, 1, 2]"
    assert converged(lagging, frozenset({0})).pending.startswith("node-0 reports voters")
    diverged = view(fake_state(0, digest=A), fake_state(1, digest=B, voters=[0]))
    assert "replicas diverged at applied index 0" in converged(diverged, three).broken


def test_replicas_describe_names_nodes_index_and_digest() -> None:
    replicas = Replicas(9, A, 7, ("node-0", "node-1"), None)
    assert replicas.describe() == f"node-0, node-1 at applied index 9, kv_digest {A}"
    assert Replicas(9, None, 7, ("node-0",), {}).describe() == "node-0 at applied index 9"
