"""The checkers catch real bugs: the core or the disk is broken on purpose, and the simulator
must report the violation (and a clean run of the same seeds must not).

Each broken variant is tried on a handful of seeds with harsher faults; the test asserts at
least one seed reports the expected safety violation.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from raftkv.core import CoreConfig
from raftkv.core import replication as core_replication
from raftkv.core.state import NodeState
from raftkv.sim.options import SimOptions, derive_options
from raftkv.sim.runner import SeedResult, run_seed
from raftkv.sim.storage import SimStorage

SEEDS = range(40)
STEPS = 1500


def harsh(seed: int, **config: object) -> SimOptions:
    """Frequent random crashes and no membership changes; none of the swarm's aimed faults
    (pauses, crashes of a write in flight, stalled fsyncs, bursts), so each test below
    exercises the one rule its bug breaks."""
    options = derive_options(seed, STEPS, nodes=3)
    faults = replace(
        options.faults,
        crash=0.01,
        restart_min=50,
        restart_max=600,
        membership=0.0,
        pause=0.0,
        crash_writing=0.0,
        slow_write=0.0,
        fault_burst=0.0,
    )
    config = {"check_quorum": True, **config}
    cfg: CoreConfig = replace(options.config, **config)  # type: ignore[arg-type]
    return replace(options, faults=faults, config=cfg)


def first_failure(runs: Iterator[SeedResult]) -> SeedResult | None:
    for result in runs:
        if result.status != "ok":
            return result
    return None


def test_a_disk_that_acknowledges_votes_without_keeping_them_is_caught() -> None:
    # A restarted node forgets its term and vote: it votes again in a term it voted in, or
    # leads a term a second time and writes other entries under the same (index, term).
    runs = (
        run_seed(
            harsh(seed, pre_vote=False), storage_factory=lambda: SimStorage(ack_hard_state=False)
        )
        for seed in SEEDS
    )
    failure = first_failure(runs)
    assert failure is not None, "no seed caught the lost votes"
    assert failure.status == "safety", failure.message
    assert failure.checker in ("election-safety", "log-matching"), failure.message
    assert failure.events


def test_a_node_that_grants_two_votes_in_one_term_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The voter forgets whom it voted for: `vote` always reads None.
    monkeypatch.setattr(
        NodeState, "vote", property(lambda st: None, lambda st, value: None), raising=False
    )
    # Contested elections show a double vote: timeouts only (no early campaign on a leader's
    # lost connection, which settles most elections after a crash at once).
    runs = (
        run_seed(harsh(seed, pre_vote=False, campaign_on_leader_disconnect=False)) for seed in SEEDS
    )
    failure = first_failure(runs)
    assert failure is not None, "no seed caught the double votes"
    assert (failure.status, failure.checker) == ("safety", "election-safety"), failure.message


def test_a_leader_that_commits_an_old_term_entry_by_counting_replicas_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def commit_by_counting(st: NodeState) -> None:
        index = core_replication.joint_value(
            st.membership.configs, lambda node: core_replication.self_match(st, node)
        )
        if index > st.log.commit_index:
            st.log.commit_to(index)
            core_replication.on_commit_advanced(st)

    monkeypatch.setattr(core_replication, "maybe_commit", commit_by_counting)
    failure = first_failure(run_seed(harsh(seed, max_append_entries=1)) for seed in SEEDS)
    assert failure is not None, "no seed caught the commit of an old-term entry"
    assert (failure.status, failure.checker) == ("safety", "commit-rule"), failure.message


def test_the_same_harsh_seeds_pass_with_the_real_core_and_disk() -> None:
    for seed in range(5):
        result = run_seed(harsh(seed))
        assert result.status == "ok", f"seed {seed}: {result.checker} {result.message}"
