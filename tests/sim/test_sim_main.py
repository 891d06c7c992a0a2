"""The `raftkv-sim` command line: options first, one line per failing seed, summary, exit codes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from raftkv.sim import main as sim_main
from raftkv.sim.options import SimOptions, derive_options
from raftkv.sim.runner import SeedResult


def fake_results(statuses: dict[int, str]) -> Callable[[SimOptions], SeedResult]:
    def run_seed(options: SimOptions) -> SeedResult:
        status = statuses.get(options.seed, "ok")
        return SeedResult(
            seed=options.seed,
            status=status,  # type: ignore[arg-type]
            steps=options.steps,
            node_steps=options.steps * 3,
            seconds=0.0,
            digest="d",
            checker="" if status == "ok" else "election-safety",
            message="" if status == "ok" else "two leaders in term 4\nmore",
            step=17,
            events="  step 17 node 1 ready: soft Leader",
        )

    return run_seed


def test_a_single_seed_prints_its_options_first_and_exits_zero(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sim_main, "run_seed", fake_results({}))
    assert sim_main.main(["--seed", "7", "--steps", "50"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == derive_options(7, 50).describe()
    assert lines[-1].startswith("seeds: 1, steps: 50, violations: 0 (")
    assert "node-steps/s" in lines[-1]


@pytest.mark.parametrize(
    ("status", "code"),
    [("safety", 3), ("liveness", 4), ("linearizability", 5), ("error", 6)],
)
def test_each_failure_class_has_its_exit_code_and_a_replay_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], status: str, code: int
) -> None:
    monkeypatch.setattr(sim_main, "run_seed", fake_results({12: status}))
    assert sim_main.main(["--seed", "10", "--seeds", "4", "--steps", "30", "--nodes", "3"]) == code
    out = capsys.readouterr().out
    fail_lines = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert fail_lines == [
        f"FAIL seed=12 {status} [election-safety] at step 17: two leaders in term 4 "
        "-- replay: raftkv-sim --seed 12 --steps 30 --nodes 3"
    ]
    assert "seeds: 4, steps: 120, violations: 1" in out


def test_safety_wins_over_other_failure_classes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_main, "run_seed", fake_results({0: "liveness", 1: "safety"}))
    assert sim_main.main(["--seeds", "2", "--steps", "10"]) == 3


def test_verbose_prints_the_last_events_of_a_failure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sim_main, "run_seed", fake_results({0: "safety"}))
    sim_main.main(["--seed", "0", "--steps", "10", "--verbose"])
    assert "step 17 node 1 ready: soft Leader" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["--seeds", "0"], ["--jobs", "0"], ["--steps", "0"], ["--nodes", "9"]],
    ids=["seeds", "jobs", "steps", "nodes"],
)
def test_bad_flags_exit_with_usage_error(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        sim_main.main(argv)
    assert caught.value.code == 2
