"""The boot rule (DESIGN "Boot"): a restarted node acts as if it had just heard from a leader,
so after a leader is killed and respawned the survivors move first."""

from __future__ import annotations

import random

import msgspec
import pytest

from raftkv.core import RawNode, Role, VoteRequest

from .harness import FAST, bootstrap
from .test_election import NO_PREVOTE, boot_node, member_boot


@pytest.mark.parametrize("seed", range(12))
def test_restarted_leader_does_not_win_again(seed: int) -> None:
    """Boot rule: survivors move first after the leader is killed and respawned."""
    cluster = bootstrap([0, 1, 2], FAST, seed=seed)
    cluster.run(20)
    cluster.crash(0)
    cluster.restart(0)
    cluster.run(600)
    assert cluster.leader() != 0


def test_restarted_node_waits_spread_plus_timeout_before_campaigning() -> None:
    node = boot_node(0)
    spread = NO_PREVOTE.election_timeout_max - NO_PREVOTE.election_timeout_min
    for now in range(0, spread + NO_PREVOTE.election_timeout_min, 1):
        node.tick(now)
        assert node.role is Role.FOLLOWER, now
    node.tick(spread + NO_PREVOTE.election_timeout_max)
    assert node.role is Role.CANDIDATE and node.term == 2


def test_restarted_node_refuses_votes_during_boot_lease() -> None:
    node = RawNode(1, FAST, random.Random(7), 0, member_boot([0, 1, 2], term=3))
    node.tick(FAST.election_timeout_min - 1)
    node.step(VoteRequest(term=4, frm=0, to=1, last_log_index=1, last_log_term=1))
    assert not node.has_ready() and node.term == 3


def test_the_state_machines_applied_index_is_a_commit_floor_at_boot() -> None:
    """A restarted core starts with commit and applied at the state store's applied index: it
    hands out only what comes after, and can describe the state it serves at once (a leader
    whose store is ahead of its volatile commit must be able to send that state: sim seed
    1857)."""
    boot = msgspec.structs.replace(member_boot([0, 1, 2], last_index=6), applied_index=4)
    node = RawNode(1, FAST, random.Random(7), 0, boot)
    status = node.status()
    assert (status.commit_index, status.applied_index) == (4, 4)
    assert node.snapshot_meta(4).last_index == 4
    assert not node.has_ready()  # nothing at or below 4 is handed out again


def test_an_applied_index_beyond_the_log_is_refused() -> None:
    boot = msgspec.structs.replace(member_boot([0, 1, 2], last_index=3), applied_index=9)
    with pytest.raises(ValueError, match="beyond the log"):
        RawNode(1, FAST, random.Random(7), 0, boot)
