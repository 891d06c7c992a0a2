"""Series drawn by the report: per-second throughput and latency, and each node's role over
time, computed from the JSON records (so a saved history.json can be drawn again)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SecondBucket:
    """Operations that ended in [second, second + 1): counts by outcome, ok latencies."""

    second: int
    ok: int
    fail: int
    info: int
    p50_ms: float | None
    p99_ms: float | None

    @property
    def total(self) -> int:
        return self.ok + self.fail + self.info


@dataclass(frozen=True, slots=True)
class Segment:
    """A node in one state from `start` to `end` (seconds since the run started)."""

    start: float
    end: float
    state: str
    """The role (Leader, Follower, Candidate, Learner, ...) or "unreachable"."""
    detail: str


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted `values` (fraction in (0, 1])."""
    if not values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def per_second(operations: Sequence[Mapping[str, Any]]) -> list[SecondBucket]:
    """One bucket per second from the first to the last operation's end (gaps included)."""
    outcomes: dict[int, dict[str, int]] = defaultdict(lambda: {"ok": 0, "fail": 0, "info": 0})
    latencies: dict[int, list[float]] = defaultdict(list)
    for op in operations:
        second = int(op["ended"])
        outcomes[second][op["outcome"]] += 1
        if op["outcome"] == "ok":
            latencies[second].append((op["ended"] - op["invoke"]) * 1000)
    if not outcomes:
        return []
    buckets = []
    for second in range(min(outcomes), max(outcomes) + 1):
        counts = outcomes.get(second, {"ok": 0, "fail": 0, "info": 0})
        ordered = sorted(latencies.get(second, []))
        p50 = percentile(ordered, 0.5) if ordered else None
        p99 = percentile(ordered, 0.99) if ordered else None
        buckets.append(SecondBucket(second, counts["ok"], counts["fail"], counts["info"], p50, p99))
    return buckets


def role_segments(transitions: Sequence[Mapping[str, Any]], end: float) -> dict[str, list[Segment]]:
    """Each node's states over time, from the observer's transitions, up to `end`."""
    by_node: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for change in transitions:
        by_node[str(change["node"])].append(change)
    segments: dict[str, list[Segment]] = {}
    for node, changes in by_node.items():
        ordered = sorted(changes, key=lambda change: float(change["t"]))
        segments[node] = [
            Segment(
                float(change["t"]),
                float(ordered[i + 1]["t"]) if i + 1 < len(ordered) else max(end, change["t"]),
                _state_of(change),
                _detail_of(change),
            )
            for i, change in enumerate(ordered)
        ]
    return segments


def _state_of(change: Mapping[str, Any]) -> str:
    return "unreachable" if change.get("error") else str(change.get("role"))


def _detail_of(change: Mapping[str, Any]) -> str:
    if change.get("error"):
        return str(change["error"])
    return f"{change.get('role')} term {change.get('term')} leader {change.get('leader')}"
