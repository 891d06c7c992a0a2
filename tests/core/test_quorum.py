"""Quorum arithmetic against naive definitions (property tests)."""

from __future__ import annotations

from itertools import chain, combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from raftkv.core.quorum import (
    UNBOUNDED,
    VoteResult,
    has_quorum,
    joint_value,
    joint_vote_result,
    majority_value,
)

voter_sets = st.frozensets(st.integers(0, 6), min_size=1, max_size=5)
values = st.dictionaries(st.integers(0, 6), st.integers(0, 20))


def naive_majority_value(voters: frozenset[int], value: dict[int, int]) -> int:
    """The largest v such that more than half the voters have value >= v, by brute force."""
    best = 0
    for v in range(0, 21):
        if sum(1 for n in voters if value.get(n, 0) >= v) * 2 > len(voters):
            best = v
    return best


def naive_is_majority(voters: frozenset[int], members: set[int]) -> bool:
    return len(voters & members) * 2 > len(voters)


@settings(derandomize=True, max_examples=300)
@given(voters=voter_sets, value=values)
def test_majority_value_matches_naive(voters: frozenset[int], value: dict[int, int]) -> None:
    assert majority_value(voters, lambda n: value.get(n, 0)) == naive_majority_value(voters, value)


@settings(derandomize=True, max_examples=300)
@given(old=voter_sets, new=voter_sets, value=values)
def test_joint_value_is_min_of_both(
    old: frozenset[int], new: frozenset[int], value: dict[int, int]
) -> None:
    expected = min(naive_majority_value(old, value), naive_majority_value(new, value))
    assert joint_value((old, new), lambda n: value.get(n, 0)) == expected


@settings(derandomize=True, max_examples=300)
@given(
    old=voter_sets,
    new=voter_sets,
    granted=st.sets(st.integers(0, 6)),
    rejected=st.sets(st.integers(0, 6)),
)
def test_joint_vote_result_matches_naive(
    old: frozenset[int], new: frozenset[int], granted: set[int], rejected: set[int]
) -> None:
    rejected = rejected - granted
    configs = (old, new)
    undecided = (old | new) - granted - rejected
    outcomes = []
    # Naive: try every way the undecided voters could still answer.
    for extra in chain.from_iterable(
        combinations(sorted(undecided), k) for k in range(len(undecided) + 1)
    ):
        yes = granted | set(extra)
        outcomes.append(all(naive_is_majority(c, yes) for c in configs))
    if all(naive_is_majority(c, granted) for c in configs):
        expected = VoteResult.WON
    elif not any(outcomes):
        expected = VoteResult.LOST
    else:
        expected = VoteResult.PENDING
    assert joint_vote_result(configs, granted, rejected) is expected


@settings(derandomize=True, max_examples=200)
@given(voters=voter_sets, members=st.sets(st.integers(0, 6)))
def test_has_quorum_matches_naive(voters: frozenset[int], members: set[int]) -> None:
    assert has_quorum((voters,), members) == naive_is_majority(voters, members)


def test_empty_config_never_limits() -> None:
    assert majority_value(frozenset(), lambda n: 0) == UNBOUNDED
