"""The observer's agreement rules (DESIGN.md "Observer agreement"), table driven."""

from __future__ import annotations

import pytest
from tf_fakes import fake_state, pristine

from raftkv.tf.agreement import (
    Leadership,
    agreed_leader,
    keys_everywhere,
    voters_everywhere,
)

L, F = "Leader", "Follower"

LEADER_CASES = [
    pytest.param(
        {"n0": fake_state(0, L, term=1, voters=[0]), "n1": pristine(1), "n2": pristine(2)},
        None,
        Leadership(0, 1),
        id="after-init-pristine-nodes-do-not-block",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=3),
            "n1": fake_state(1, F, leader=0, term=3),
            "n2": None,
        },
        None,
        Leadership(0, 3),
        id="majority-with-one-node-unreachable",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=3),
            "n1": fake_state(1, F, leader=None, term=3),
            "n2": fake_state(2, F, leader=None, term=3),
        },
        None,
        None,
        id="leader-alone-is-not-a-majority",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=2),
            "n1": fake_state(1, L, term=3),
            "n2": fake_state(2, F, leader=1, term=3),
        },
        None,
        Leadership(1, 3),
        id="stale-leader-in-lower-term-does-not-count",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=3),
            "n1": fake_state(1, F, leader=0, term=3),
            "n2": fake_state(2, F, leader=2, term=3),
        },
        None,
        None,
        id="node-reporting-another-leader-in-same-term-blocks",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=3),
            "n1": fake_state(1, F, leader=0, term=3),
            "n2": fake_state(2, L, term=4),
        },
        None,
        None,
        id="another-leader-in-higher-term-blocks",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=3),
            "n1": fake_state(1, F, leader=0, term=3),
            "n2": fake_state(2, "Candidate", term=4),
        },
        None,
        Leadership(0, 3),
        id="candidate-without-leader-does-not-block",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=3),
            "n1": fake_state(1, F, leader=0, term=2),
            "n2": fake_state(2, F, leader=0, term=2),
        },
        None,
        None,
        id="backers-in-an-older-term-do-not-count",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=1),
            "n1": fake_state(1, F, leader=0, term=1),
            "n2": fake_state(2, F, leader=0, term=1),
        },
        Leadership(0, 1),
        None,
        id="different-from-rejects-the-same-leader",
    ),
    pytest.param(
        {
            "n0": None,
            "n1": fake_state(1, L, term=1),
            "n2": fake_state(2, F, leader=1, term=1),
        },
        Leadership(0, 1),
        None,
        id="different-from-needs-a-higher-term",
    ),
    pytest.param(
        {
            "n0": None,
            "n1": fake_state(1, L, term=2),
            "n2": fake_state(2, F, leader=1, term=2),
        },
        Leadership(0, 1),
        Leadership(1, 2),
        id="different-leader-in-higher-term",
    ),
    pytest.param(
        {
            "n0": fake_state(0, L, term=2, voters=[0], joint_configs=[[0], [0, 1, 2]]),
            "n1": fake_state(1, "Learner", leader=None, term=2),
            "n2": fake_state(2, "Learner", leader=None, term=2),
        },
        None,
        None,
        id="joint-config-needs-majority-of-both",
    ),
]


@pytest.mark.parametrize(("view", "different_from", "expected"), LEADER_CASES)
def test_agreed_leader(view, different_from, expected) -> None:
    outcome = agreed_leader(view, different_from)
    assert outcome.value == expected
    if expected is None:
        assert outcome.pending, "a pending outcome says why"


def test_pending_reason_names_the_blocking_node() -> None:
    view = {
        "n0": fake_state(0, L, term=3),
        "n1": fake_state(1, F, leader=0, term=3),
        "n2": fake_state(2, F, leader=2, term=5),
    }
    assert "node-2 reports leader node-2 in term 5" in agreed_leader(view).pending


VOTER_CASES = [
    pytest.param([[0, 1, 2]] * 3, False, True, id="same-voters-everywhere"),
    pytest.param([[0, 1, 2], [0, 1, 2], [0]], False, False, id="one-node-behind"),
    pytest.param([[0, 1, 2]] * 3, True, False, id="joint-does-not-count"),
]


@pytest.mark.parametrize(("voters", "joint", "holds"), VOTER_CASES)
def test_voters_everywhere(voters, joint, holds) -> None:
    configs = [[0], [0, 1, 2]] if joint else None
    view = {f"n{i}": fake_state(i, voters=v, joint_configs=configs) for i, v in enumerate(voters)}
    assert voters_everywhere(view, frozenset({0, 1, 2})).holds is holds


def test_voters_everywhere_needs_every_node_to_answer() -> None:
    view = {"n0": fake_state(0), "n1": None}
    assert voters_everywhere(view, frozenset({0, 1, 2})).pending == "n1 did not answer"


def test_keys_everywhere() -> None:
    expected = {"a": "1", "b": "2"}
    full = {"a": "1", "b": "2", "c": "3"}
    assert keys_everywhere({"n0": fake_state(0, kv=full)}, expected).value == 2
    wrong = keys_everywhere({"n0": fake_state(0, kv={"a": "1", "b": "x"})}, expected)
    assert wrong.pending == "n0 lacks 1 expected keys (first: 'b')"
    assert "not polled" in keys_everywhere({"n0": fake_state(0, kv=None)}, expected).pending
    large = fake_state(0, kv=None, digest="00" * 8, keys=9, kv_omitted="9 keys exceed 4")
    assert keys_everywhere({"n0": large}, expected).pending == (
        "n0 left its key/value map out (9 keys exceed 4)"
    )
