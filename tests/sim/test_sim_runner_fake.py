"""The simulator's plumbing, run over the hand-made one-voter core (no real Raft needed)."""

from __future__ import annotations

import random
from dataclasses import replace

import msgspec
import pytest
from sim_fake_core import SoloCore

from raftkv.core import BootState, Core, CoreConfig, Ready, Status
from raftkv.sim.options import derive_options
from raftkv.sim.runner import run_seed


def test_a_solo_cluster_runs_clean_and_serves_clients() -> None:
    for seed in range(4):
        options = derive_options(seed, 600, nodes=1)
        # NB: the fake leads at once at boot, before its new term is durable; crashes aimed at
        # a write in flight would make it reuse (index, term) pairs, a bug the real core avoids.
        options = replace(options, faults=replace(options.faults, crash_writing=0.0))
        result = run_seed(options, SoloCore)
        assert result.status == "ok", result.message
        assert result.ops["ok"] > 0
        assert result.steps > 600 and result.node_steps > 0


def test_the_solo_core_is_a_core() -> None:
    core: Core = SoloCore(0, CoreConfig(), random.Random(0), 0, None)  # checked by mypy
    assert core.node_id == 0 and core.leader_id is None


def test_same_seed_gives_the_same_trace_and_another_seed_another() -> None:
    first = run_seed(derive_options(11, 500, nodes=1), SoloCore)
    again = run_seed(derive_options(11, 500, nodes=1), SoloCore)
    other = run_seed(derive_options(12, 500, nodes=1), SoloCore)
    assert first.digest == again.digest
    assert first.digest != other.digest


class CommitsAheadOfItsLog(SoloCore):
    def status(self) -> Status:
        status = super().status()
        return msgspec.structs.replace(status, commit_index=status.last_index + 1)


class ForgetsAfterRestart(SoloCore):
    """Boots with an empty log but keeps the term: re-uses committed indexes for new data."""

    def __init__(
        self, node_id: int, config: CoreConfig, rng: random.Random, now: int, boot: BootState | None
    ) -> None:
        if boot is not None and boot.entries:
            boot = msgspec.structs.replace(boot, entries=boot.entries[:1])
        super().__init__(node_id, config, rng, now, boot)


@pytest.mark.parametrize(
    ("core", "checker"),
    [(CommitsAheadOfItsLog, "index-order"), (ForgetsAfterRestart, "committed-entries")],
    ids=["commit-beyond-log", "forgets-committed-entries"],
)
def test_a_broken_core_is_reported_as_a_safety_violation(core: type, checker: str) -> None:
    options = derive_options(3, 2000, nodes=1)
    options = replace(options, faults=replace(options.faults, crash=0.01))
    result = run_seed(options, core)
    assert (result.status, result.checker) == ("safety", checker), result.message
    assert "step" in result.events


class NeverCommits(SoloCore):
    """Persists but never commits: the cluster cannot converge."""

    def advance(self, rd: Ready) -> None:
        commit = self.commit
        super().advance(rd)
        self.commit = commit


def test_a_cluster_that_never_converges_is_a_liveness_failure() -> None:
    options = replace(derive_options(2, 100, nodes=1), liveness_steps=50)
    result = run_seed(options, NeverCommits)
    assert (result.status, result.checker) == ("liveness", "liveness")
    assert result.message.startswith("no convergence after 50 steps: pending")
