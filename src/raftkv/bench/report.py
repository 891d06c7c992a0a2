"""The printed report: throughput and latency per workload and system with raftkv/etcd
ratios, CPU microseconds per operation per process, failover times, and state growth."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .results import BenchResults, GrowthWindow, StateGrowthRecord, Summary, Timed

CPU_LABELS = ("leader", "follower1", "follower2", "client")


def _num(value: float, digits: int = 0) -> str:
    return "-" if not math.isfinite(value) else f"{value:,.{digits}f}"


def _ratio(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.2f}x"


def _load(averages: object) -> str:
    if isinstance(averages, list) and averages:
        return "/".join(f"{value:.1f}" for value in averages)
    return "-"


def megabytes(values: Sequence[int]) -> str:
    """Bytes per member in MB (10^6), `/`-separated in member order."""
    return "/".join(f"{value / 1e6:,.0f}" for value in values)


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


def _window_row(row: GrowthWindow) -> list[str]:
    return [
        row.system,
        f"{row.keys:,}",
        _num(row.writes_per_s),
        _num(row.p50_ms, 2),
        _num(row.p99_ms, 2),
        _num(row.max_ms, 2),
        str(row.failed),
        str(row.leader_changes),
        megabytes(row.rss_bytes),
        megabytes(row.disk_bytes),
    ]


def _seconds(timed: Timed) -> str:
    return "not measured" if timed.seconds is None else _num(timed.seconds, 2)


def _restart_row(record: StateGrowthRecord) -> list[str]:
    return [
        record.system,
        _seconds(record.follower_restart),
        _seconds(record.learner_catch_up),
        _num(record.learner_mb_per_s, 1),
        _seconds(record.full_restart),
        str(record.abandoned),
    ]


def not_measured(record: StateGrowthRecord) -> list[str]:
    """One line per step that has no time, with the reason."""
    steps = {
        "follower restart": record.follower_restart,
        "new learner": record.learner_catch_up,
        "full restart": record.full_restart,
    }
    return [
        f"{record.system} {step} not measured: {timed.note}"
        for step, timed in steps.items()
        if timed.seconds is None
    ]


def state_growth_report(results: BenchResults) -> str:
    settings = results.settings
    spec = settings.get("state_growth", {})
    first = results.state_growth[0]
    title = (
        f"State growth: {spec.get('keys', 0):,} unique keys of {first.value_bytes} bytes written "
        f"by {first.clients} clients through the leader, one row per {spec.get('window', 0):,} "
        f"acknowledged keys, one system at a time on a fresh cluster (heartbeat "
        f"{settings.get('failover_heartbeat_ms')} ms, election timeout "
        f"{settings.get('failover_election_ms')} ms). Latency: from a key's first attempt to "
        "its acknowledgement, retries included. RSS and disk (every file under the data "
        "directory) in MB per member, members 0/1/2."
    )
    if any(record.system == "etcd" for record in results.state_growth):
        title += " etcd preallocates its write-ahead log 64 MB at a time."
    header = ["system", "keys", "writes/s", "p50 ms", "p99 ms", "max ms", "failed"]
    header += ["leader changes", "RSS MB", "disk MB"]
    rows = [_window_row(row) for record in results.state_growth for row in record.windows]
    restarts = (
        "Then, in seconds: a follower killed (-9) and restarted until it has applied what the "
        "leader had committed; a new empty learner, from the first step of adding it (raftkv: "
        "starting its process; etcd: member add --learner) until it has applied what the "
        "leader had committed (MB/s: the leader's data on disk over that time); every member "
        "killed and restarted until a linearizable read of a loaded key returns its value."
    )
    restart_header = ["system", "follower restart s", "new learner s", "learner MB/s"]
    restart_header += ["full restart s", "abandoned writes"]
    notes = [note for record in results.state_growth for note in not_measured(record)]
    parts = [
        title,
        format_table(header, rows),
        restarts,
        format_table(restart_header, [_restart_row(r) for r in results.state_growth]),
    ]
    return "\n\n".join(parts + (["\n".join(notes)] if notes else []))


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
    if results.state_growth:
        parts.append(state_growth_report(results))
    if results.profiles:
        parts.append(profile_report(results))
    return "\n\n".join(parts) + "\n"
