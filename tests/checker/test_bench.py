"""The benchmark's histories are valid and concurrent, and the script reports throughput."""

from __future__ import annotations

import itertools
import random

import pytest

from raftkv.checker import check_key, validate_processes
from raftkv.checker.bench import WorkloadShape, main, random_valid_history


@pytest.mark.parametrize("seed", range(3))
def test_random_histories_are_valid_concurrent_and_linearizable(seed: int) -> None:
    shape = WorkloadShape(ops=300, processes=8, info_share=0.2)
    history = random_valid_history(random.Random(seed), shape)
    validate_processes(history)
    assert len(history) == 300
    assert any(op.outcome == "info" for op in history)
    overlapping = sum(
        a.invoke < b.finish and b.invoke < a.finish for a, b in itertools.pairwise(history)
    )
    assert overlapping > 0
    assert check_key(history).status == "ok"


def test_main_prints_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--histories", "2", "--ops", "40", "--seed", "3"])
    out = capsys.readouterr().out
    assert out.startswith("seed=3 histories=2 ops/history=40 processes=8: ")
    assert "ops/s" in out
