"""`raftkv-bench`: throughput, latency, CPU and crash failover of a 3-node raftkv cluster on
loopback, with `--vs etcd` side by side with a 3-member etcd cluster driven by the same client;
with `--state-growth KEYS`, also how each behaves as its data grows to KEYS keys.

Exit status: 0 done, 1 a cluster failed to start or misbehaved (server logs are kept and
named), 2 bad usage or etcd missing, 130 interrupted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from raftkv.core.errors import RaftKVError

from .etcd_cluster import find_etcd
from .options import BenchOptions, parse_options
from .profile import find_py_spy
from .report import render
from .results import BenchResults
from .runner import progress, run_bench


def _event_loop_name() -> str:
    """uvloop when installed, for the same lower client cost with both systems."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    uvloop.install()
    return "uvloop"


async def _run_cancellable(options: BenchOptions, root: Path) -> BenchResults:
    """SIGTERM cancels the run like Ctrl-C does, so the clusters are stopped either way."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    return await run_bench(options, root)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    if "etcd" in options.systems:
        try:
            find_etcd(options.etcd_bin)
        except RaftKVError as exc:
            print(f"raftkv-bench: {exc}", file=sys.stderr)
            return 2
    if options.profile_dir is not None:
        try:
            find_py_spy()
        except RaftKVError as exc:
            print(f"raftkv-bench: {exc}", file=sys.stderr)
            return 2
        options.profile_dir.mkdir(parents=True, exist_ok=True)
    loop_name = _event_loop_name()
    keep = options.work_dir is not None
    root = options.work_dir or Path(tempfile.mkdtemp(prefix="raftkv-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    progress(f"raftkv-bench: work dir {root}, client event loop {loop_name}")
    try:
        results = asyncio.run(_run_cancellable(options, root))
    except (KeyboardInterrupt, asyncio.CancelledError):
        progress("raftkv-bench: interrupted; every server was stopped")
        _cleanup(root, keep)
        return 130
    except RaftKVError as exc:
        print(f"raftkv-bench: {exc}\nraftkv-bench: server logs kept in {root}", file=sys.stderr)
        return 1
    results.settings["client_event_loop"] = loop_name
    # Other work on the machine skews both systems; the load averages let a reader judge.
    results.settings["load_average_at_end"] = list(os.getloadavg())
    sys.stdout.write(render(results))
    if options.json_path is not None:
        options.json_path.write_text(json.dumps(results.to_json(), indent=2) + "\n")
        progress(f"raftkv-bench: results written to {options.json_path}")
    _cleanup(root, keep)
    return 0


def _cleanup(root: Path, keep: bool) -> None:
    if not keep:
        with contextlib.suppress(OSError):
            shutil.rmtree(root)


if __name__ == "__main__":
    sys.exit(main())
