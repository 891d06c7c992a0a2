"""The mutants of `scripts/mutation-check.sh` still apply to the core as it is: each search
text occurs exactly once in its file (a core change that moves the code must come with the
mutant rewritten, or the check would stop), and planting one changes only the scratch copy."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mutation_check", ROOT / "scripts" / "mutation_check.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_check"] = module
    spec.loader.exec_module(module)
    return module


CHECK = load_check()
MUTANTS = CHECK.load_mutants()


def test_there_are_the_eight_kinds_and_the_executor_orderings() -> None:
    names = {m.name for m in MUTANTS}
    assert len(names) >= 11
    assert {m.file for m in MUTANTS} >= {
        "raftkv/core/quorum.py",
        "raftkv/core/election.py",
        "raftkv/core/replication.py",
        "raftkv/core/follower.py",
        "raftkv/core/read_index.py",
        "raftkv/core/plan.py",
    }


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mutant_plants_its_bug_in_a_scratch_copy(mutant: object, tmp_path: Path) -> None:
    before = (ROOT / "src" / mutant.file).read_text()  # type: ignore[attr-defined]
    src = CHECK.scratch_copy(tmp_path, mutant)
    after = (src / mutant.file).read_text()  # type: ignore[attr-defined]
    assert after != before
    assert (ROOT / "src" / mutant.file).read_text() == before  # type: ignore[attr-defined]
    compile(after, mutant.file, "exec")  # type: ignore[attr-defined]


def test_a_mutant_that_no_longer_applies_stops_the_check(tmp_path: Path) -> None:
    stale = CHECK.Mutant("stale", "gone", "raftkv/core/quorum.py", (("no such code\n", ""),))
    message = "mutant stale: pattern not found in raftkv/core/quorum.py"
    with pytest.raises(CHECK.MutantError, match=re.escape(message)):
        CHECK.scratch_copy(tmp_path, stale)
