"""`raftkv-tf chaos` options: bad ones are refused with one clear line; good ones build the
scenario (local deployer, the chaos workload, its checks and the report writer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftkv.tf.cli import build_parser
from raftkv.tf.cli import main as tf_main
from raftkv.tf.registry import scenarios


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nemesis", "kill,flood"], "argument --nemesis: unknown nemesis flood: choose from"),
        (["--nemesis", ","], "argument --nemesis: unknown nemesis"),
        (["--duration", "0"], "argument --duration: must be positive, got 0"),
        (["--duration", "soon"], "argument --duration: not a number of seconds: 'soon'"),
        (["--clients", "0"], "argument --clients: must be at least 1, got 0"),
        (["--keys", "-1"], "argument --keys: must be at least 1, got -1"),
    ],
)
def test_bad_options_are_refused_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        tf_main(["chaos", *argv])
    assert exit_info.value.code == 2
    error_lines = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and message in error_lines[0]


def parse(argv: list[str]) -> object:
    entries = scenarios()
    args = build_parser(entries).parse_args(["chaos", *argv])
    entry = next(entry for entry in entries if entry.name == "chaos")
    return entry, args


def test_options_build_the_scenario(tmp_path: Path) -> None:
    entry, args = parse(
        [
            "--nemesis",
            "pause,kill,pause",
            "--duration",
            "5",
            "--clients",
            "3",
            "--seed",
            "9",
            "--json",
            str(tmp_path / "run.json"),
        ]
    )
    scenario = entry.build(args)  # type: ignore[attr-defined]
    assert args.nemesis == ("pause", "kill")  # type: ignore[attr-defined]
    assert [w.name for w in scenario.workloads] == ["chaos"]
    names = [e.name for e in scenario.expectations]
    assert names == [
        "invariants",
        "linearizability",
        "durability",
        "convergence",
        "local-reads",
        "report",
    ]
    workload = scenario.workloads[0]
    assert workload.chaos.settings.clients.clients == 3
    assert workload.chaos.settings.clients.retry
    assert workload.chaos.settings.kinds == ("pause", "kill")
    # Without --report-dir, the report goes beside the JSON file, named by the seed.
    assert workload.report_dir.parent == tmp_path
    assert workload.report_dir.name.startswith("chaos-9-")
    assert scenario.run_timeout > 5


def test_report_dir_and_no_retry_options_are_used_as_given(tmp_path: Path) -> None:
    entry, args = parse(["--report-dir", str(tmp_path / "out"), "--seed", "1", "--no-retry"])
    scenario = entry.build(args)  # type: ignore[attr-defined]
    assert scenario.workloads[0].report_dir == tmp_path / "out"
    assert not scenario.workloads[0].chaos.settings.clients.retry
