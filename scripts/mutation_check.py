"""The mutation check: does each known Raft safety bug get caught by `tests/core` and by the
simulator at its CI budget? (`scripts/mutation-check.sh` runs this; see the README.)

For each mutant of `scripts/mutants/mutants.toml` (search/replace pairs against the core), copy
`src/` to a scratch directory, plant the bug there, and run against that copy:

- `tests/core` (stopping at the first failure: one is enough to kill the mutant);
- `python -m raftkv.sim` over the seeds, counting the seeds that report a violation.

Then print the kill matrix. Nothing in the repository is changed. A pair whose `search` text
is not in its file exactly once stops the check before anything runs: a mutant that no longer
applies must be rewritten, never counted as killed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MUTANTS = ROOT / "scripts" / "mutants" / "mutants.toml"
FAIL_LINE = re.compile(r"^FAIL seed=(\d+) (\w+) \[([^\]]*)\]", re.MULTILINE)
SUMMARY = re.compile(r"^seeds: (\d+), steps: \d+, violations: (\d+) .*?([\d.]+)s\)$", re.MULTILINE)


class MutantError(Exception):
    """A mutant that cannot be planted (its code changed): the check must not go on."""


@dataclass(frozen=True, slots=True)
class Mutant:
    name: str
    description: str
    file: str
    pairs: tuple[tuple[str, str], ...]

    def plant(self, src: Path) -> None:
        """Apply every pair to the copy of the file under `src` (a scratch copy of src/)."""
        path = src / self.file
        if not path.is_file():
            raise MutantError(f"mutant {self.name}: file not found: {self.file}")
        text = path.read_text()
        for search, replace in self.pairs:
            count = text.count(search)
            if count == 0:
                raise MutantError(
                    f"mutant {self.name}: pattern not found in {self.file}:\n{search}"
                )
            if count > 1:
                raise MutantError(
                    f"mutant {self.name}: pattern found {count} times in {self.file}:\n{search}"
                )
            text = text.replace(search, replace)
        path.write_text(text)


@dataclass(slots=True)
class Row:
    mutant: Mutant
    tests: str = "-"
    """killed, MISSED, error (rc N), or - (not run)."""
    sim: str = "-"
    found: list[int] = field(default_factory=list)
    checkers: dict[str, int] = field(default_factory=dict)
    seeds: int = 0
    seconds: float = 0.0


def load_mutants(path: Path = MUTANTS) -> list[Mutant]:
    with path.open("rb") as f:
        data = tomllib.load(f)
    mutants = []
    for item in data["mutant"]:
        pairs = tuple((p["search"], p["replace"]) for p in item["replace"])
        mutants.append(Mutant(item["name"], item["description"], item["file"], pairs))
    names = [m.name for m in mutants]
    if len(set(names)) != len(names):
        raise MutantError(f"duplicate mutant names in {path}")
    return mutants


def scratch_copy(workdir: Path, mutant: Mutant | None) -> Path:
    """A copy of src/ with `mutant` planted (or none: the control)."""
    src = workdir / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    if mutant is not None:
        mutant.plant(src)
    return src


def env_for(src: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(src), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def check_imports_copy(src: Path) -> None:
    """The runs must import the scratch copy, not an installed raftkv."""
    out = subprocess.run(
        [sys.executable, "-c", "import raftkv.core; print(raftkv.core.__file__)"],
        env=env_for(src),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not Path(out).resolve().is_relative_to(src.resolve()):
        raise MutantError(f"the scratch run imports {out}, not the copy under {src}")


def run_tests(src: Path, timeout: int) -> str:
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/core"]
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env_for(src), capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    if proc.returncode == 0:
        return "MISSED"
    if proc.returncode == 1:
        return "killed"
    return f"error (rc {proc.returncode})"


def run_sim(src: Path, args: argparse.Namespace, row: Row) -> None:
    cmd = [sys.executable, "-m", "raftkv.sim", "--seed", str(args.seed), "--seeds", str(args.seeds)]
    cmd += ["--steps", str(args.steps), "--jobs", str(args.jobs)]
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=env_for(src), capture_output=True, text=True, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        row.sim = "timeout"
        return
    out = proc.stdout + proc.stderr
    for seed, status, checker in FAIL_LINE.findall(out):
        row.found.append(int(seed))
        key = f"{status}:{checker}" if status != "safety" else checker
        row.checkers[key] = row.checkers.get(key, 0) + 1
    summary = SUMMARY.search(out)
    if summary is None:
        row.sim = f"error (rc {proc.returncode})"
        sys.stderr.write(out[-3000:])
        return
    row.seeds = int(summary.group(1))
    row.seconds = float(summary.group(3))
    row.sim = "killed" if row.found else ("MISSED" if row.mutant.file else "passes")


def seeds_per_kill(row: Row) -> str:
    if not row.found:
        return "-"
    return f"{row.seeds / len(row.found):.1f}"


def print_matrix(rows: list[Row], args: argparse.Namespace) -> None:
    print()
    print(
        f"kill matrix: tests/core, and the simulator over seeds {args.seed}.."
        f"{args.seed + args.seeds - 1} x {args.steps} steps (--jobs {args.jobs})"
    )
    print()
    print(
        "| mutant | bug | tests/core | simulator | seeds that found it | seeds per kill | checkers |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        checkers = ", ".join(
            f"{k} {v}" for k, v in sorted(row.checkers.items(), key=lambda kv: -kv[1])
        )
        found = f"{len(row.found)}/{row.seeds}" if row.seeds else "-"
        print(
            f"| {row.mutant.name} | {row.mutant.description} | {row.tests} | {row.sim} "
            f"| {found} | {seeds_per_kill(row)} | {checkers} |"
        )
    print(flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mutation-check.sh", description="Plant known Raft bugs; print the kill matrix."
    )
    parser.add_argument(
        "--mutant", action="append", default=[], help="run only this one (repeatable)"
    )
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument(
        "--seeds", type=int, default=300, help="seeds (default: the CI budget, 300)"
    )
    parser.add_argument("--steps", type=int, default=2000, help="steps per seed (default 2000)")
    parser.add_argument("--jobs", type=int, default=2, help="simulator worker processes")
    parser.add_argument("--no-tests", action="store_true", help="skip tests/core")
    parser.add_argument("--no-sim", action="store_true", help="skip the simulator")
    parser.add_argument(
        "--control", action="store_true", help="also run an unmutated copy (must be missed)"
    )
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per run")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        mutants = load_mutants()
        unknown = sorted(set(args.mutant) - {m.name for m in mutants})
        if unknown:
            raise MutantError(f"unknown mutant(s): {', '.join(unknown)}")
        if args.list:
            for m in mutants:
                print(f"{m.name:28} {m.file:28} {m.description}")
            return 0
        chosen = [m for m in mutants if not args.mutant or m.name in args.mutant]
        with tempfile.TemporaryDirectory(prefix="raftkv-mutants-") as tmp:
            for m in chosen:  # every pattern must apply before anything runs
                scratch_copy(Path(tmp) / f"probe-{m.name}", m)
            control = Mutant("(none)", "control: the core as it is", "", ())
            rows = [Row(m) for m in ([control] if args.control else []) + chosen]
            for row in rows:
                run_row(row, Path(tmp), args)
    except MutantError as exc:
        print(f"mutation-check: {exc}", file=sys.stderr)
        return 2
    print_matrix(rows, args)
    survivors = [r.mutant.name for r in rows if r.mutant.file and "MISSED" in (r.tests, r.sim)]
    errors = [
        r.mutant.name for r in rows if "error" in r.tests + r.sim or "timeout" in r.tests + r.sim
    ]
    control_killed = [r for r in rows if not r.mutant.file and "killed" in (r.tests, r.sim)]
    if control_killed:
        print("the unmutated control failed: the matrix means nothing until that is fixed")
    if survivors:
        print(f"survivors: {', '.join(survivors)}")
    return 1 if survivors or errors or control_killed else 0


def run_row(row: Row, tmp: Path, args: argparse.Namespace) -> None:
    mutant = row.mutant
    started = time.perf_counter()
    src = scratch_copy(tmp / f"run-{mutant.name.strip('()')}", mutant if mutant.file else None)
    check_imports_copy(src)
    print(f"== {mutant.name}: {mutant.description}", flush=True)
    if not args.no_tests:
        row.tests = run_tests(src, args.timeout)
        if not mutant.file and row.tests == "MISSED":
            row.tests = "passes"
        print(f"   tests/core: {row.tests}", flush=True)
    if not args.no_sim:
        run_sim(src, args, row)
        print(
            f"   simulator: {row.sim}, {len(row.found)} of {row.seeds} seeds "
            f"{sorted(row.found)[:12]}{' ...' if len(row.found) > 12 else ''} ({row.seconds:.0f}s)",
            flush=True,
        )
    shutil.rmtree(src.parent, ignore_errors=True)
    row.seconds = row.seconds or time.perf_counter() - started


if __name__ == "__main__":
    sys.exit(main())
