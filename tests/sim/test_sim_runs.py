"""Whole runs over the real core: determinism, a clean multi-seed run, the console script."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from raftkv.sim import main as sim_main
from raftkv.sim.options import derive_options
from raftkv.sim.runner import run_seed


def test_a_seed_replays_bit_for_bit() -> None:
    first = run_seed(derive_options(5, 800))
    again = run_seed(derive_options(5, 800))
    other = run_seed(derive_options(6, 800))
    assert first.status == "ok", first.message
    assert (first.digest, first.steps, first.ops) == (again.digest, again.steps, again.ops)
    assert first.digest != other.digest


def test_a_short_multi_seed_run_finds_no_violation(capsys: pytest.CaptureFixture[str]) -> None:
    assert sim_main.main(["--seeds", "8", "--steps", "800"]) == 0
    assert "seeds: 8, steps: " in capsys.readouterr().out


def test_the_console_script_replays_a_seed_across_processes() -> None:
    def run() -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "raftkv.sim", "--seed", "3", "--steps", "300", "--verbose"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout.splitlines()

    first, again = run(), run()
    assert first[0] == derive_options(3, 300).describe()
    digest_lines = [line for line in first if "digest=" in line]
    assert digest_lines and digest_lines == [line for line in again if "digest=" in line]
    assert first[-1].startswith("seeds: 1, steps: ")


def test_regression_single_voter_crash_before_vote_fsync() -> None:
    """Seed 5029, one node: it crashed before its (term, vote) was durable; it led and
    appended in that term anyway, then after restart won the same term again and wrote other
    entries at the same indexes (log-matching). The core now counts its own vote only after
    the Ready holding it was advanced."""
    result = run_seed(derive_options(5029, 2000, 1))
    assert result.status == "ok", result.message


@pytest.mark.parametrize("hints", [True, False])
def test_crashes_tell_the_survivors_and_their_early_campaigns_stay_safe(hints: bool) -> None:
    options = derive_options(3, 1500, nodes=3)
    faults = replace(options.faults, crash=0.01, restart_min=50, restart_max=600)
    config = replace(options.config, campaign_on_leader_disconnect=hints)
    result = run_seed(replace(options, faults=faults, config=config))
    assert result.status == "ok", result.message
    assert result.stats["crash"] > 5
    assert (result.stats.get("disconnect", 0) > 0) is hints


def test_regression_replicas_are_compared_with_a_leader_that_applied_everything() -> None:
    """Seed 104810: at the first convergence check the leader's own apply was held back by a
    stalled fsync (218 of 220), and a follower at 220 was compared with it: "different data"."""
    result = run_seed(derive_options(104810, 2000))
    assert result.status == "ok", result.message


def test_regression_a_leader_that_appended_a_configuration_without_itself_then_lost_it() -> None:
    """Seed 100589 (`python -m raftkv.sim --seed 100589 --steps 2000`) was a stuck cluster:
    leader 0 of the joint {0,2} & {1,2} (committed at 105) appended C_new {1,2} at 110 and
    entries up to 113, then lost leadership before any of them reached another node. Node 0's
    latest configuration left it out, so it never campaigned; nodes 1 and 2 (log at 108, still
    joint) needed a majority of {0,2}, and node 0 refused them, its log being longer. Seed
    100639 is the same with {0,1} & {1} (and 104415, 104536, 105773, 107854, 108105, 109293,
    109403 of a 10,000-seed run). A voter of the committed configuration now campaigns while a
    configuration without it is uncommitted (core/state.py `can_campaign`)."""
    for seed in (100589, 100639, 104415, 104536, 105773, 107854, 108105, 109293, 109403):
        result = run_seed(derive_options(seed, 2000))
        assert result.status == "ok", f"seed {seed}: {result.message}"


def test_regression_a_deposed_leader_is_not_the_settled_one() -> None:
    """Seed 104883: leader 0 of term 19 resumed from a pause while the others were at term 20
    with entry 51 committed; the convergence check took it for the settled leader and reported
    committed entries lost. Only a leader of the newest term is settled."""
    result = run_seed(derive_options(104883, 2000))
    assert result.status == "ok", result.message
