"""Command-line options of `raftkv-bench`, checked before anything starts."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .cluster import Timings
from .workloads import WORKLOADS, Workload, parse_workloads

SYSTEMS = ("raftkv", "raftkv-timeouts", "etcd")
"""`raftkv-timeouts`: raftkv with campaign_on_leader_disconnect off (the failover phase adds
it beside `raftkv`, so a crash failover is also compared on timeouts alone)."""


MAX_VALUE_BYTES = 512 * 1024
"""Below both systems' request limits: raftkv's 1 MiB body, etcd's 1.5 MiB (base64 adds 1/3)."""


@dataclass(frozen=True, slots=True)
class StateGrowthOptions:
    """The state-growth phase: `keys` unique keys of `value_bytes` each, written by `clients`
    concurrent clients and reported per `window` acknowledged keys. Invariant: keys == 0
    (the phase is off) or every field is >= 1."""

    keys: int = 0
    window: int = 100_000
    value_bytes: int = 1000
    clients: int = 64


@dataclass(frozen=True, slots=True)
class BenchOptions:
    systems: tuple[str, ...]
    workloads: tuple[Workload, ...]
    duration_s: float
    warmup_s: float
    rounds: int
    failover_rounds: int
    failover_timings: Timings
    failover_deadline_s: float
    request_timeout_s: float
    json_path: Path | None
    work_dir: Path | None
    etcd_bin: str | None
    seed: int
    profile_dir: Path | None = None
    state_growth: StateGrowthOptions = StateGrowthOptions()


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high] (no upper bound when high is None)."""

    def integer(text: str) -> int:
        value = int(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"must be >= {low}, got {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be <= {high}, got {text}")
        return value

    return integer


_count = _int_in(0)
_positive_int = _int_in(1)


def _add_state_growth_options(add: Callable[..., object]) -> None:
    add(
        "--state-growth",
        type=_count,
        default=0,
        metavar="KEYS",
        help="write KEYS unique keys per system and report how it behaves as data grows (0: off)",
    )
    add("--state-growth-window", type=_positive_int, default=100_000, help="keys per row (100000)")
    add(
        "--state-growth-value-bytes",
        type=_int_in(1, MAX_VALUE_BYTES),
        default=1000,
        help="value size (1000)",
    )
    add("--state-growth-clients", type=_positive_int, default=64, help="writing clients (64)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="raftkv-bench",
        description="Benchmark a 3-node raftkv cluster on loopback, side by side with etcd.",
        epilog=f"Workloads: {', '.join(f'{w.name} ({w.description})' for w in WORKLOADS.values())}.",
    )
    add = parser.add_argument
    add("--vs", choices=["etcd"], help="also run a 3-member etcd cluster and compare")
    add("--systems", help="comma-separated systems to run (default: raftkv, plus --vs)")
    add("--workloads", default="all", help="comma-separated workloads, `all` or `none`")
    add("--duration", type=_positive_float, default=5.0, help="measured seconds per run (5)")
    add("--warmup", type=float, default=1.0, help="unmeasured seconds before each run (1)")
    add("--rounds", type=_count, default=2, help="runs per workload and system (2)")
    add("--failover-rounds", type=_count, default=5, help="leader kills per system (5; 0: none)")
    add("--failover-heartbeat-ms", type=int, default=100, help="heartbeat for failover (100)")
    add("--failover-election-ms", type=int, default=1000, help="election timeout (1000)")
    add("--failover-deadline", type=_positive_float, default=30.0, help="seconds per kill (30)")
    add("--request-timeout", type=_positive_float, default=5.0, help="seconds per request (5)")
    add("--json", type=Path, dest="json_path", help="also write the results as JSON here")
    add("--work-dir", type=Path, help="keep data dirs and server logs here (default: a temp dir)")
    add("--etcd-bin", help="the etcd binary (default: `etcd` on PATH)")
    add(
        "--profile",
        type=Path,
        dest="profile_dir",
        help="record the raftkv leader with py-spy during each raftkv run, into this directory",
    )
    add("--seed", type=int, default=1, help="seed of the clients' key and value choices (1)")
    _add_state_growth_options(add)
    return parser


def _systems(args: argparse.Namespace) -> tuple[str, ...]:
    names = args.systems.split(",") if args.systems else ["raftkv"]
    if args.vs and args.vs not in names:
        names.append(args.vs)
    systems = tuple(dict.fromkeys(name.strip() for name in names))
    for name in systems:
        if name not in SYSTEMS:
            raise ValueError(f"--systems: unknown system {name!r} (known: {', '.join(SYSTEMS)})")
    return systems


def parse_options(argv: list[str] | None) -> BenchOptions:
    """Parses and checks the command line; argparse exits 2 with a message on bad input."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        systems = _systems(args)
        workloads = () if args.workloads == "none" else tuple(parse_workloads(args.workloads))
    except ValueError as exc:
        parser.error(str(exc))
    if args.warmup < 0:
        parser.error("--warmup: must be >= 0")
    if not 0 < args.failover_heartbeat_ms < args.failover_election_ms:
        parser.error("--failover-heartbeat-ms: must be > 0 and below --failover-election-ms")
    return BenchOptions(
        systems=systems,
        workloads=workloads,
        duration_s=args.duration,
        warmup_s=args.warmup,
        rounds=args.rounds,
        failover_rounds=args.failover_rounds,
        failover_timings=Timings(args.failover_heartbeat_ms, args.failover_election_ms),
        failover_deadline_s=args.failover_deadline,
        request_timeout_s=args.request_timeout,
        json_path=args.json_path,
        work_dir=args.work_dir,
        etcd_bin=args.etcd_bin,
        seed=args.seed,
        profile_dir=args.profile_dir,
        state_growth=StateGrowthOptions(
            keys=args.state_growth,
            window=args.state_growth_window,
            value_bytes=args.state_growth_value_bytes,
            clients=args.state_growth_clients,
        ),
    )
