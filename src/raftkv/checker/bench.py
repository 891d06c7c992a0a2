"""Benchmark of the checker on random valid histories: `python -m raftkv.checker.bench`.

Each history is what concurrent clients of a real register would see: every operation takes
effect at one instant inside its interval, so every history is linearizable and the checker
must search all the way to the end (the common case in CI).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from .check import check_key
from .operation import Operation, OperationKind


@dataclass(frozen=True, slots=True)
class WorkloadShape:
    """The knobs of a random history."""

    ops: int = 300
    processes: int = 8
    write_share: float = 0.5
    info_share: float = 0.03
    """Share of writes whose outcome is unknown (half of them never take effect)."""


@dataclass(frozen=True, slots=True)
class _Planned:
    """An operation before execution: `effect` is the instant it takes effect, if ever."""

    effect: float
    process: int
    kind: OperationKind
    invoke: float
    complete: float
    info: bool
    applied: bool


def random_valid_history(
    rng: random.Random, shape: WorkloadShape, key: str = "k"
) -> list[Operation]:
    """A linearizable history of one key by `shape.processes` concurrent clients."""
    planned: list[_Planned] = []
    clock_of = dict.fromkeys(range(shape.processes), 0.0)
    next_process = shape.processes
    for _ in range(shape.ops):
        slot = rng.choice(list(clock_of))
        invoke = clock_of.pop(slot) + rng.expovariate(1.0)
        complete = invoke + rng.expovariate(0.5)
        kind: OperationKind = "write" if rng.random() < shape.write_share else "read"
        info = kind == "write" and rng.random() < shape.info_share
        applied = not info or rng.random() < 0.5
        effect = rng.uniform(invoke, complete)
        planned.append(_Planned(effect, slot, kind, invoke, complete, info, applied))
        # After an unknown outcome the client carries on under a new process id.
        clock_of[next_process if info else slot] = complete
        next_process += info
    return _execute(sorted(planned, key=lambda op: op.effect), key)


def _execute(planned: Sequence[_Planned], key: str) -> list[Operation]:
    """Run the operations on a register in the order they take effect."""
    history = []
    value: str | None = None
    for serial, op in enumerate(planned):
        if op.kind == "read":
            history.append(Operation(op.process, "read", key, value, op.invoke, op.complete, "ok"))
            continue
        written = f"v{serial}"
        if op.applied:
            value = written
        if op.info:
            history.append(Operation(op.process, "write", key, written, op.invoke, None, "info"))
        else:
            history.append(
                Operation(op.process, "write", key, written, op.invoke, op.complete, "ok")
            )
    return history


def main(argv: Sequence[str] | None = None) -> None:
    """Check `--histories` random histories and print throughput and the slowest key."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--histories", type=int, default=50)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--info-share", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    shape = WorkloadShape(ops=args.ops, processes=args.processes, info_share=args.info_share)
    rng = random.Random(args.seed)
    histories = [random_valid_history(rng, shape) for _ in range(args.histories)]
    slowest = 0.0
    started = time.perf_counter()
    for history in histories:
        before = time.perf_counter()
        verdict = check_key(history)
        if verdict.status != "ok":
            raise SystemExit(f"bench history judged {verdict.status}:\n{verdict.describe()}")
        slowest = max(slowest, time.perf_counter() - before)
    elapsed = time.perf_counter() - started
    total = sum(len(history) for history in histories)
    print(
        f"seed={args.seed} histories={len(histories)} ops/history={shape.ops} "
        f"processes={shape.processes}: {total / elapsed:,.0f} ops/s, "
        f"{elapsed / len(histories) * 1000:.1f} ms/history mean, {slowest * 1000:.1f} ms max"
    )


if __name__ == "__main__":
    main()
