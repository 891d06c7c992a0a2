"""`raftkv-bench` end to end: a ~2 s run against real clusters on loopback that must print a
table with numbers, write the JSON, stop by itself, and leave no server or directory behind."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 150
needs_etcd = pytest.mark.skipif(
    shutil.which("etcd") is None, reason="etcd is not installed (apt-get install etcd-server)"
)


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (our temp dir)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


def run_bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    """Runs the bench with its temp dir under `tmp_path`; asserts it ended by itself and
    cleaned up; returns the process and the JSON document."""
    json_path = tmp_path / "results.json"
    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    env = {**os.environ, "TMPDIR": str(temp_root)}
    argv = [sys.executable, "-m", "raftkv.bench.main", *args, "--json", str(json_path)]
    # check=False and a timeout: a hung bench fails here (TimeoutExpired kills it).
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(temp_root.iterdir()) == [], "the work dir was not removed"
    assert _processes_mentioning(str(temp_root)) == [], "a server outlived the bench"
    return done, json.loads(json_path.read_text())


def _table_row(stdout: str, workload: str, system: str) -> list[str]:
    for line in stdout.splitlines():
        cells = line.split()
        if cells[:2] == [workload, system]:
            return cells
    raise AssertionError(f"no {workload}/{system} row in:\n{stdout}")


def _assert_measured(stdout: str, document: Any, workload: str, system: str) -> None:
    ops, p50, p99 = (
        float(cell.replace(",", "")) for cell in _table_row(stdout, workload, system)[2:5]
    )
    assert ops > 0 and 0 < p50 <= p99
    (summary,) = [
        s for s in document["summary"] if (s["workload"], s["system"]) == (workload, system)
    ]
    assert summary["runs"] == 1 and summary["ops_per_s"] > 0
    assert summary["cpu_us_per_op"]["leader"] > 0 and summary["cpu_us_per_op"]["client"] > 0


def _assert_failover(document: Any, system: str) -> None:
    (failover,) = [f for f in document["failover"] if f["system"] == system]
    assert failover["failed"] == 0 and len(failover["times_s"]) == 1
    assert 0 < failover["median_s"] < 10


def test_raftkv_run_prints_numbers_and_stops_by_itself(tmp_path: Path) -> None:
    done, document = run_bench(
        tmp_path,
        "--workloads",
        "seq-write,write-64-all",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        "--rounds",
        "1",
        "--failover-rounds",
        "1",
    )
    for workload in ("seq-write", "write-64-all"):
        _assert_measured(done.stdout, document, workload, "raftkv")
    assert all(summary["errors"] == 0 for summary in document["summary"]), document["summary"]
    _assert_failover(document, "raftkv")
    assert document["settings"]["numbers_are_medians_of_runs"] == 1


@needs_etcd
def test_raftkv_vs_etcd_alternates_and_prints_ratios(tmp_path: Path) -> None:
    done, document = run_bench(
        tmp_path,
        "--vs",
        "etcd",
        "--workloads",
        "write-8,read-64",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        "--rounds",
        "1",
        "--failover-rounds",
        "1",
    )
    for workload in ("write-8", "read-64"):
        for system in ("raftkv", "etcd"):
            _assert_measured(done.stdout, document, workload, system)
    order = [(run["workload"], run["system"]) for run in document["runs"]]
    assert order == [
        ("write-8", "raftkv"),
        ("write-8", "etcd"),
        ("read-64", "raftkv"),
        ("read-64", "etcd"),
    ]
    ratios = {row["workload"]: row for row in document["ratios_raftkv_over_etcd"]}
    assert set(ratios) == {"write-8", "read-64"} and ratios["write-8"]["ops_per_s"] > 0
    assert "raftkv/etcd" in done.stdout
    for system in ("raftkv", "raftkv-timeouts", "etcd"):
        _assert_failover(document, system)
    assert document["settings"]["etcd_version"].startswith("3.")


def test_missing_etcd_says_how_to_install_it(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "raftkv.bench.main",
            "--vs",
            "etcd",
            "--etcd-bin",
            str(tmp_path / "no-etcd-here"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "apt-get install -y etcd-server" in done.stderr


@pytest.mark.skipif(shutil.which("py-spy") is None, reason="py-spy is not installed")
def test_profile_summarizes_the_raftkv_leader(tmp_path: Path) -> None:
    done, document = run_bench(
        tmp_path,
        "--workloads",
        "write-8",
        "--duration",
        "1",
        "--warmup",
        "0.3",
        "--rounds",
        "1",
        "--failover-rounds",
        "0",
        "--profile",
        str(tmp_path / "profiles"),
    )
    (profile,) = document["profiles"]
    assert profile["label"] == "raftkv leader, write-8, round 1"
    assert profile["samples"] > 0 and abs(sum(profile["shares"].values()) - 1.0) < 1e-9
    assert Path(profile["raw"]).read_text().strip()
    assert "Profiles (py-spy" in done.stdout
