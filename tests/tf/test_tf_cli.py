"""`raftkv-tf`: the scenario registry, `list`, options, the JSON report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import msgspec
import pytest

from raftkv.tf import cli
from raftkv.tf.registry import ScenarioEntry, register, scenarios
from raftkv.tf.report import RunReport, StepRecord


def test_list_shows_every_registered_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert "basic_failover" in names
    assert names == [entry.name for entry in scenarios()]


def test_basic_failover_options_reach_the_scenario() -> None:
    entry = next(e for e in scenarios() if e.name == "basic_failover")
    parser = cli.build_parser([entry])
    args = parser.parse_args(
        ["basic_failover", "--restart-mode", "kill", "--heartbeat-ms", "50", "--seed", "3"]
    )
    scenario = entry.build(args)
    assert scenario.topology.nodes == 3
    assert scenario.topology.settings.heartbeat_interval_ms == 50
    assert scenario.workloads[0].restart_mode == "kill"  # type: ignore[attr-defined]
    assert args.seed == 3


def test_unknown_restart_mode_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["basic_failover", "--restart-mode", "reboot"])
    assert exit_.value.code == 2
    assert "invalid choice: 'reboot'" in capsys.readouterr().err


def test_a_second_scenario_with_the_same_name_is_refused() -> None:
    def build(args: argparse.Namespace):
        raise AssertionError("never built")

    with pytest.raises(ValueError, match="registered twice"):
        register(ScenarioEntry("basic_failover", "an impostor", build))


def test_json_report_is_machine_readable(tmp_path: Path) -> None:
    report = RunReport("demo", 5, {"nodes": 3})
    report.steps.append(StepRecord("deploy", 0.0, 0.5))
    report.timings["failover_first_write_s"] = 0.7
    report.verdict = "PASS"
    path = tmp_path / "out" / "report.json"
    report.write_json(path)
    loaded = json.loads(path.read_text())
    assert loaded["verdict"] == "PASS" and loaded["seed"] == 5
    assert loaded["steps"][0] == {
        "name": "deploy",
        "started_s": 0.0,
        "duration_s": 0.5,
        "ok": True,
        "detail": "",
    }
    assert msgspec.json.decode(report.to_json())["timings"] == {"failover_first_write_s": 0.7}


def test_basic_failover_kills_the_leader_by_default_like_the_seed() -> None:
    entry = next(e for e in scenarios() if e.name == "basic_failover")
    scenario = entry.build(cli.build_parser([entry]).parse_args(["basic_failover"]))
    assert scenario.workloads[0].restart_mode == "kill"  # type: ignore[attr-defined]
    assert [e.name for e in scenario.expectations] == ["invariants", "convergence"]
