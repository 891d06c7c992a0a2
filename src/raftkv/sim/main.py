"""`raftkv-sim`: run many seeded simulations and report every failing seed with its replay.

Exit codes: 0 no violation; 2 bad usage; 3 safety violation; 4 liveness failure;
5 linearizability failure; 6 simulator error (an exception that is no verdict). With several
failure classes, the first in that order wins.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections.abc import Iterator, Sequence

from .linearizability import checker_available
from .options import derive_options
from .runner import SeedResult, run_seed

EXIT_CODES = {"safety": 3, "liveness": 4, "linearizability": 5, "error": 6}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="raftkv-sim", description="Seeded simulation of raftkv clusters under faults."
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="run this seed (first seed with --seeds)"
    )
    parser.add_argument(
        "--seeds", type=int, default=None, help="number of consecutive seeds to run"
    )
    parser.add_argument(
        "--steps", type=int, default=2000, help="steps of the safety phase per seed"
    )
    parser.add_argument(
        "--nodes", type=int, default=None, help="voters (default: the seed picks 3-5)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--verbose", action="store_true", help="print each seed and the last events on failure"
    )
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error("--seeds must be >= 1")
    if args.jobs < 1:
        parser.error("--jobs must be >= 1")
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    if args.nodes is not None and not 1 <= args.nodes <= 7:
        parser.error("--nodes must be between 1 and 7")
    return args


def replay_command(seed: int, args: argparse.Namespace) -> str:
    cmd = f"raftkv-sim --seed {seed} --steps {args.steps}"
    return cmd + (f" --nodes {args.nodes}" if args.nodes is not None else "")


def _run_one(job: tuple[int, int, int | None]) -> SeedResult:
    seed, steps, nodes = job
    return run_seed(derive_options(seed, steps, nodes))


def results(seeds: list[int], args: argparse.Namespace) -> Iterator[SeedResult]:
    jobs = [(seed, args.steps, args.nodes) for seed in seeds]
    if args.jobs == 1 or len(jobs) == 1:
        yield from map(_run_one, jobs)
        return
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        yield from pool.imap(_run_one, jobs, chunksize=1)


def report_failure(result: SeedResult, args: argparse.Namespace) -> None:
    first_line = result.message.splitlines()[0] if result.message else ""
    print(
        f"FAIL seed={result.seed} {result.status} [{result.checker}] at step {result.step}: "
        f"{first_line} -- replay: {replay_command(result.seed, args)}",
        flush=True,
    )
    if args.verbose:
        print(derive_options(result.seed, args.steps, args.nodes).describe())
        print(result.message)
        print(f"last events:\n{result.events}", flush=True)


def _pin_hash_seed() -> None:
    """Re-run this process with PYTHONHASHSEED=0: iterating a set of str is otherwise not
    reproducible between runs, and a seed must replay bit for bit."""
    if os.environ.get("PYTHONHASHSEED") == "0":
        return
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    os.execve(sys.executable, [sys.executable, "-m", "raftkv.sim", *sys.argv[1:]], env)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        _pin_hash_seed()
    args = parse_args(argv)
    first = args.seed if args.seed is not None else 0
    count = args.seeds if args.seeds is not None else 1
    seeds = list(range(first, first + count))
    if count == 1:
        print(derive_options(first, args.steps, args.nodes).describe())
    else:
        print(
            f"seeds {first}..{first + count - 1} steps={args.steps} nodes={args.nodes or 'seed'} jobs={args.jobs}"
        )
    lin = (
        "raftkv.checker"
        if checker_available()
        else "NOT CHECKED (raftkv.checker.check_history missing)"
    )
    print(f"linearizability: {lin}", flush=True)
    return _run(seeds, args)


def _run(seeds: list[int], args: argparse.Namespace) -> int:
    started = time.perf_counter()
    steps = node_steps = 0
    failures: list[SeedResult] = []
    for result in results(seeds, args):
        steps += result.steps
        node_steps += result.node_steps
        if args.verbose:
            print(
                f"seed={result.seed} {result.status} steps={result.steps} ops={result.ops} "
                f"stats={result.stats} digest={result.digest}"
            )
        if not result.ok:
            failures.append(result)
            report_failure(result, args)
    elapsed = max(time.perf_counter() - started, 1e-9)
    print(
        f"seeds: {len(seeds)}, steps: {steps}, violations: {len(failures)} "
        f"({steps / elapsed:,.0f} steps/s, {node_steps / elapsed:,.0f} node-steps/s, {elapsed:.1f}s)"
    )
    for status, code in EXIT_CODES.items():
        if any(f.status == status for f in failures):
            return code
    return 0
