"""The workloads of the bench and the key space they share.

Every workload runs the same client loop (`harness.run_load`); they differ in the number of
concurrent clients, the share of reads, and whether clients talk to the leader only or are
spread over all members (a follower forwards, which is what a client that does not track the
leader pays).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .protocol import VALUE_BYTES

KEY_COUNT = 1000
KEYS = [f"bench-key-{index:06d}" for index in range(KEY_COUNT)]
"""Invariant: every key is exactly 16 ASCII bytes."""


@dataclass(frozen=True, slots=True)
class Workload:
    """One load shape. Invariant: 0 <= read_fraction <= 1 and clients >= 1."""

    name: str
    clients: int
    read_fraction: float
    spread: bool
    """True: client i talks to member i % 3; False: every client talks to the leader."""
    description: str

    @property
    def writes_only(self) -> bool:
        return self.read_fraction == 0.0


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("seq-write", 1, 0.0, False, "sequential writes, 1 client, to the leader"),
        Workload("write-8", 8, 0.0, False, "concurrent writes, 8 clients, to the leader"),
        Workload("write-64", 64, 0.0, False, "concurrent writes, 64 clients, to the leader"),
        Workload("write-64-all", 64, 0.0, True, "concurrent writes, 64 clients, all members"),
        Workload("read-64", 64, 1.0, False, "linearizable reads, 64 clients, to the leader"),
        Workload("mixed-64", 64, 0.9, False, "90% reads / 10% writes, 64 clients, to the leader"),
    )
}


def parse_workloads(spec: str) -> list[Workload]:
    """`all` or a comma-separated list of names, in the order given, without duplicates."""
    if spec.strip() == "all":
        return list(WORKLOADS.values())
    chosen: list[Workload] = []
    for name in (part.strip() for part in spec.split(",")):
        if name not in WORKLOADS:
            known = ", ".join(WORKLOADS)
            raise ValueError(f"--workloads: unknown workload {name!r} (known: {known}, all)")
        if WORKLOADS[name] not in chosen:
            chosen.append(WORKLOADS[name])
    return chosen


def value_pool(rng: random.Random, size: int = 256, value_bytes: int = VALUE_BYTES) -> list[str]:
    """Random ASCII values (hex) of `value_bytes` each, made once so the loop only picks one."""
    return [rng.randbytes((value_bytes + 1) // 2).hex()[:value_bytes] for _ in range(size)]
