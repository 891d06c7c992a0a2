"""The simulator sweep CI owes the core: 300 seeds x 2,000 steps, no violation.

Runs the console entry point in a child process, as a person would, so the summary line and
the exit code are the ones `raftkv-sim` really prints.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

SEEDS = 300
STEPS = 2000


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_three_hundred_seeds_of_two_thousand_steps_find_no_violation() -> None:
    sweep = ["--seeds", str(SEEDS), "--steps", str(STEPS), "--jobs", "2"]
    proc = subprocess.run(
        [sys.executable, "-m", "raftkv.sim", *sweep],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    summary = re.search(r"seeds: (\d+), steps: \d+, violations: (\d+) \(.*node-steps/s", output)
    assert summary is not None, output[-2000:]
    assert (int(summary.group(1)), int(summary.group(2))) == (SEEDS, 0)
    print(summary.group(0))
