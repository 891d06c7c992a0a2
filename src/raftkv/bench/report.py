"""The printed report: throughput and latency per workload and system with raftkv/etcd
ratios, CPU microseconds per operation per process, and failover times."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .results import BenchResults, Summary

CPU_LABELS = ("leader", "follower1", "follower2", "client")


def _num(value: float, digits: int = 0) -> str:
    return "-" if not math.isfinite(value) else f"{value:,.{digits}f}"


def _ratio(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.2f}x"


def _load(averages: object) -> str:
    if isinstance(averages, list) and averages:
        return "/".join(f"{value:.1f}" for value in averages)
    return "-"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the first column left-aligned, the rest right."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _summary_row(summary: Summary) -> list[str]:
    cpu = [_num(summary.cpu_us_per_op.get(label, math.nan)) for label in CPU_LABELS]
    return [
        summary.workload,
        summary.system,
        _num(summary.ops_per_s),
        _num(summary.p50_ms, 2),
        _num(summary.p99_ms, 2),
        str(summary.errors),
        *cpu,
    ]


def throughput_report(results: BenchResults) -> str:
    settings = results.settings
    title = (
        f"Throughput and latency: each number is the median of {settings['rounds']} run(s) of "
        f"{settings['duration_s']:g} s measured after {settings['warmup_s']:g} s of warm-up; "
        "systems alternate run by run. CPU: microseconds of CPU per successful operation. "
        f"Load average at start: {_load(settings.get('load_average_at_start'))}, "
        f"at end: {_load(settings.get('load_average_at_end'))} ({settings.get('cpus')} CPUs)."
    )
    header = ["workload", "system", "ops/s", "p50 ms", "p99 ms", "errors"]
    header += [f"cpu us/op {label}" for label in CPU_LABELS]
    rows = [_summary_row(summary) for summary in results.summaries()]
    ratio_rows = [
        [row["workload"], _ratio(row["ops_per_s"]), _ratio(row["p50_ms"]), _ratio(row["p99_ms"])]
        for row in results.ratios()
    ]
    parts = [title, format_table(header, rows)]
    if ratio_rows:
        parts += [
            "raftkv/etcd (ops/s: higher is better for raftkv; latency: lower is better)",
            format_table(["workload", "ops/s", "p50", "p99"], ratio_rows),
        ]
    return "\n\n".join(parts)


def failover_report(results: BenchResults) -> str:
    first = results.failover[0]
    title = (
        f"Failover: kill -9 the leader, time until a write through a surviving member "
        f"succeeds; heartbeat {first.heartbeat_ms} ms, election timeout {first.election_ms} ms "
        f"(etcd randomizes in [{first.election_ms}, {2 * first.election_ms}) ms; raftkv gets "
        f"that range); {len(first.times_s)} round(s). raftkv's followers also campaign "
        f"within election/4 when the leader's stream closes without a goodbye (its process "
        f"died); raftkv-timeouts turns that off and, like etcd, waits for the timeout."
    )
    rows = [
        [f.system, _num(f.min_s, 3), _num(f.median_s, 3), _num(f.max_s, 3), str(f.failed)]
        for f in results.failover
    ]
    return "\n\n".join(
        [title, format_table(["system", "min s", "median s", "max s", "no write"], rows)]
    )


def profile_report(results: BenchResults) -> str:
    blocks = ["Profiles (py-spy, CPU samples by innermost category; profiled runs are slower)"]
    for profile in results.profiles:
        shares = ", ".join(f"{name} {share:.0%}" for name, share in profile.shares())
        top = "; ".join(f"{frame} {count}" for frame, count in profile.top[:5])
        blocks.append(
            f"{profile.label} ({profile.total} samples, {profile.path}):\n  {shares}\n"
            f"  top frames: {top}"
        )
    return "\n".join(blocks)


def render(results: BenchResults) -> str:
    parts = []
    if results.records:
        parts.append(throughput_report(results))
    if results.failover:
        parts.append(failover_report(results))
    if results.profiles:
        parts.append(profile_report(results))
    return "\n\n".join(parts) + "\n"
