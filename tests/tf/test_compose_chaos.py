"""Chaos on Docker Compose: kill, docker pause and network-disconnect partitions (each
confirmed by a probe from another container), with the local run's history, checks and
report; and a partition whose probe still gets through fails the run."""

from __future__ import annotations

import asyncio
import io
import json
import random
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from docker_support import require_docker_and_image
from rich.console import Console

from raftkv.tf.cli import build_parser
from raftkv.tf.context import RunContext, WorkloadFailed
from raftkv.tf.nemesis.partition import DisconnectPartition
from raftkv.tf.registry import scenarios
from raftkv.tf.report import PASS, Reporter
from raftkv.tf.runner import new_report, run_scenario


class StubbornNetwork:
    """A deployer whose disconnects never take: every probe still gets through."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def disconnect_node(self, name: str) -> None:
        self.calls.append(f"disconnect {name}")

    async def reconnect_node(self, name: str) -> None:
        self.calls.append(f"reconnect {name}")

    async def can_reach(self, source: str, dest: str) -> bool:
        self.calls.append(f"probe {source}->{dest}")
        return True


async def test_an_unconfirmed_partition_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("raftkv.tf.nemesis.partition.asyncio.sleep", _no_sleep)
    network = StubbornNetwork()
    ctx = SimpleNamespace(
        deployer=network,
        observer=SimpleNamespace(nodes=["node-0", "node-1", "node-2"]),
        elapsed=lambda: 1.0,
    )
    nemesis = DisconnectPartition()
    with pytest.raises(WorkloadFailed, match="disconnect node-1: node-0 still reaches node-1"):
        await nemesis.inject(cast(RunContext, ctx), "isolate-one", _Picks("node-1"))
    assert network.calls[0] == "disconnect node-1" and "probe node-0->node-1" in network.calls
    await nemesis.heal_all(cast(RunContext, ctx))
    assert "reconnect node-1" in network.calls and not nemesis.disconnected


class _Picks(random.Random):
    def __init__(self, pick: str) -> None:
        super().__init__(0)
        self.pick = pick

    def choice(self, seq):  # type: ignore[override]
        return self.pick


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.mark.docker
@pytest.mark.timeout(420)
async def test_sixty_seconds_of_compose_chaos_pass_with_the_history_checked(
    tmp_path: Path,
) -> None:
    await asyncio.to_thread(require_docker_and_image, "compose_chaos")  # it runs its own loop
    entries = scenarios()
    entry = next(entry for entry in entries if entry.name == "compose_chaos")
    report_dir = tmp_path / "report"
    argv = ["compose_chaos", "--duration", "60", "--seed", "8", "--report-dir", str(report_dir)]
    args = build_parser(entries).parse_args(argv)
    scenario = entry.build(args)
    assert args.nemesis == ("kill", "pause", "partition")
    output = io.StringIO()
    report = new_report(scenario, 8)
    await run_scenario(scenario, report, reporter=Reporter(Console(file=output, width=200)))
    assert report.verdict == PASS, output.getvalue()
    history = json.loads((report_dir / "history.json").read_text())
    assert history["verdict"] == "PASS"
    assert [c["name"] for c in history["checks"]] == [
        "linearizability",
        "durability",
        "convergence",
        "local-reads",
    ]
    assert all(check["ok"] for check in history["checks"]), history["checks"]
    events = history["nemesis"]["events"]
    assert history["nemesis"]["skipped"] == {}
    assert events and all(event["healed_s"] is not None for event in events)
    kinds = {event["nemesis"] for event in events}
    # Seed 8 draws kill, kill, partition first, then pauses (how many faults fit in 60 s
    # depends on how fast containers restart, so only the first three are certain).
    assert {"kill", "partition"} <= kinds <= {"kill", "pause", "partition"}, events
    partitions = [event for event in events if event["nemesis"] == "partition"]
    assert all(event["detail"]["confirmed_from"] for event in partitions)
    assert all(e["action"].startswith("docker pause") for e in events if e["nemesis"] == "pause")
    assert history["counts"]["ok"] > 100
    assert report.facts["invariants"]["observations"] > 100
    assert (report_dir / "report.html").is_file()
