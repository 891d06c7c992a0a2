"""What the bench measured, as plain data: one record per run, medians per (workload, system),
raftkv/etcd ratios, failover times, and the state-growth windows and restart times. `to_json`
gives the `--json` document."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .harness import LoadResult
from .profile import ProfileSummary
from .stats import median, percentile, ratio


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One measured run of one workload on one system."""

    system: str
    workload: str
    round: int
    ok: int
    errors: dict[str, int]
    ops_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_op: dict[str, float]
    cpu_s: dict[str, float]
    """CPU seconds over the measured window, per server (by role) and for the client."""
    leader_changed: bool

    @classmethod
    def from_load(
        cls, system: str, workload: str, round_index: int, load: LoadResult, leader_changed: bool
    ) -> RunRecord:
        latencies = sorted(load.latencies_s)
        return cls(
            system=system,
            workload=workload,
            round=round_index,
            ok=load.ok,
            errors=dict(load.errors),
            ops_per_s=load.ops_per_s,
            p50_ms=percentile(latencies, 0.50) * 1e3,
            p99_ms=percentile(latencies, 0.99) * 1e3,
            cpu_us_per_op=load.cpu.per_op_us(load.ok) if load.cpu else {},
            cpu_s={**load.cpu.servers, "client": load.cpu.client} if load.cpu else {},
            leader_changed=leader_changed,
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """Medians over the runs of one (workload, system)."""

    system: str
    workload: str
    runs: int
    ops_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_us_per_op: dict[str, float]

    @classmethod
    def of(cls, records: list[RunRecord]) -> Summary:
        labels = sorted({label for record in records for label in record.cpu_us_per_op})
        return cls(
            system=records[0].system,
            workload=records[0].workload,
            runs=len(records),
            ops_per_s=median([r.ops_per_s for r in records]),
            p50_ms=median([r.p50_ms for r in records]),
            p99_ms=median([r.p99_ms for r in records]),
            errors=sum(sum(r.errors.values()) for r in records),
            cpu_us_per_op={
                label: median([r.cpu_us_per_op.get(label, math.nan) for r in records])
                for label in labels
            },
        )


@dataclass(frozen=True, slots=True)
class FailoverSummary:
    """Seconds from `kill -9` of the leader to the first write through a survivor; None for
    a round in which no write succeeded before the deadline."""

    system: str
    times_s: list[float | None]
    heartbeat_ms: int
    election_ms: int

    def _measured(self) -> list[float]:
        return [t for t in self.times_s if t is not None]

    @property
    def min_s(self) -> float:
        return min(self._measured(), default=math.nan)

    @property
    def median_s(self) -> float:
        return median(self._measured())

    @property
    def max_s(self) -> float:
        return max(self._measured(), default=math.nan)

    @property
    def failed(self) -> int:
        return sum(t is None for t in self.times_s)


@dataclass(frozen=True, slots=True)
class GrowthWindow:
    """One window of the state-growth load: the writes acknowledged since the previous window
    closed, and each member's memory and disk when this one closed (index = member)."""

    system: str
    keys: int
    """Keys acknowledged from the start of the load to the end of this window."""
    writes: int
    seconds: float
    writes_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    """Latencies of acknowledged writes, from the first attempt to the success."""
    failed: int
    """Failed attempts (each one retried) during the window."""
    leader_changes: int
    rss_bytes: list[int]
    disk_bytes: list[int]

    @classmethod
    def of(
        cls,
        system: str,
        *,
        keys: int,
        seconds: float,
        latencies_s: list[float],
        failed: int,
        leader_changes: int,
        rss_bytes: list[int],
        disk_bytes: list[int],
    ) -> GrowthWindow:
        latencies = sorted(latencies_s)
        return cls(
            system=system,
            keys=keys,
            writes=len(latencies),
            seconds=seconds,
            writes_per_s=ratio(len(latencies), seconds),
            p50_ms=percentile(latencies, 0.50) * 1e3,
            p99_ms=percentile(latencies, 0.99) * 1e3,
            max_ms=percentile(latencies, 1.0) * 1e3,
            failed=failed,
            leader_changes=leader_changes,
            rss_bytes=rss_bytes,
            disk_bytes=disk_bytes,
        )


@dataclass(frozen=True, slots=True)
class Timed:
    """Seconds a step took, or None and why it was not measured."""

    seconds: float | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class StateGrowthRecord:
    """The state-growth phase on one system: the load's windows, then the times a restarted
    follower, a new learner and the whole restarted cluster took to serve again."""

    system: str
    value_bytes: int
    clients: int
    windows: list[GrowthWindow]
    abandoned: int
    """Writes given up after their deadline (their keys were replaced by new ones)."""
    follower_restart: Timed
    learner_catch_up: Timed
    learner_bytes: int
    """The leader's disk bytes when the learner was added: what it had to catch up on."""
    full_restart: Timed

    @property
    def learner_mb_per_s(self) -> float:
        seconds = self.learner_catch_up.seconds
        return math.nan if seconds is None else ratio(self.learner_bytes / 1e6, seconds)


@dataclass(slots=True)
class BenchResults:
    settings: dict[str, Any]
    records: list[RunRecord] = field(default_factory=list)
    failover: list[FailoverSummary] = field(default_factory=list)
    profiles: list[ProfileSummary] = field(default_factory=list)
    state_growth: list[StateGrowthRecord] = field(default_factory=list)

    def summaries(self) -> list[Summary]:
        """One summary per (workload, system), in the order the runs happened."""
        groups: dict[tuple[str, str], list[RunRecord]] = {}
        for record in self.records:
            groups.setdefault((record.workload, record.system), []).append(record)
        return [Summary.of(group) for group in groups.values()]

    def ratios(self) -> list[dict[str, Any]]:
        """raftkv/etcd per workload: ops/s (higher is better), p50 and p99 (lower is better)."""
        by_key = {(s.workload, s.system): s for s in self.summaries()}
        rows = []
        for (workload, system), raftkv in by_key.items():
            etcd = by_key.get((workload, "etcd"))
            if system != "raftkv" or etcd is None:
                continue
            rows.append(
                {
                    "workload": workload,
                    "ops_per_s": ratio(raftkv.ops_per_s, etcd.ops_per_s),
                    "p50_ms": ratio(raftkv.p50_ms, etcd.p50_ms),
                    "p99_ms": ratio(raftkv.p99_ms, etcd.p99_ms),
                }
            )
        return rows

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = _finite(
            {
                "settings": self.settings,
                "summary": [asdict(s) for s in self.summaries()],
                "ratios_raftkv_over_etcd": self.ratios(),
                "failover": [
                    {
                        **asdict(f),
                        "min_s": f.min_s,
                        "median_s": f.median_s,
                        "max_s": f.max_s,
                        "failed": f.failed,
                    }
                    for f in self.failover
                ],
                "profiles": [
                    {
                        "label": p.label,
                        "samples": p.total,
                        "shares": dict(p.shares()),
                        "top_frames": p.top,
                        "raw": str(p.path),
                    }
                    for p in self.profiles
                ],
                "state_growth": [
                    {**asdict(g), "learner_mb_per_s": g.learner_mb_per_s} for g in self.state_growth
                ],
                "runs": [asdict(r) for r in self.records],
            }
        )
        return document


def _finite(value: Any) -> Any:
    """JSON has no NaN: missing numbers become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value
