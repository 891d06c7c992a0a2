"""Scenarios users write: `raftkv-tf run FILE` (the documented example runs here, as in
CI), the shapes a file may take, `raftkv.scenarios` entry points in `raftkv-tf list`,
and cluster clients that record their writes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from raftkv.tf import cli
from raftkv.tf.registry import ScenarioNotFound, load_file
from raftkv.tf.writes import WriteLog

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "docs" / "examples" / "steady_writes.py"


def raftkv_tf(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    environment = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    if env and "PYTHONPATH" in env:
        environment["PYTHONPATH"] = f"{env['PYTHONPATH']}{os.pathsep}{REPO / 'src'}"
    return subprocess.run(
        [sys.executable, "-m", "raftkv.tf.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        cwd=REPO,
    )


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_the_documented_example_passes_through_raftkv_tf_run(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    done = raftkv_tf("run", str(EXAMPLE), "--writes", "12", "--seed", "5", "--json", str(report))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS steady_writes" in done.stdout
    for step in ("expect invariants", "expect few-elections", "expect readable-everywhere"):
        assert step in done.stdout
    assert '"keys": 12' in report.read_text(), "the cluster client recorded every write"


SHAPES = {
    "build": """
        from raftkv.tf import Scenario
        SUMMARY = "by build"
        def add_arguments(parser):
            parser.add_argument("--flag", default="x")
        def build(args):
            return Scenario.builder("by_build").deployer(object).workload(W()).build()
        class W:
            name = "w"
            async def run(self, ctx): ...
    """,
    "object": """
        from raftkv.tf import Scenario
        class W:
            name = "w"
            async def run(self, ctx): ...
        scenario = Scenario.builder("by_object").describe("an object").deployer(object).workload(W()).build()
    """,
    "registered": """
        from raftkv.tf import ScenarioEntry, register
        def build(args): raise AssertionError
        register(ScenarioEntry("by_entry", "registered", build))
    """,
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_file_defines_its_scenario_in_any_of_three_shapes(tmp_path: Path, shape: str) -> None:
    path = tmp_path / f"{shape}_scenario.py"
    path.write_text(textwrap.dedent(SHAPES[shape]))
    entry = load_file(path)
    names = {"build": "build_scenario", "object": "by_object", "registered": "by_entry"}
    assert entry.name == names[shape]  # a build function's: NAME, else the file's stem
    assert entry.origin == f"file {path}"
    if shape == "build":
        args = cli.file_parser(entry, path).parse_args(["--flag", "y", "--seed", "2"])
        assert entry.summary == "by build" and args.flag == "y"
        assert entry.build(args).name == "by_build"


def test_a_file_without_a_scenario_is_a_usage_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "empty.py"
    path.write_text("x = 1\n")
    with pytest.raises(ScenarioNotFound, match="defines no scenario"):
        load_file(path)
    assert cli.main(["run", str(path)]) == 2
    assert cli.main(["run", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_a_failing_file_scenario_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "failing.py"
    path.write_text(
        textwrap.dedent(
            """
            from raftkv.tf import Scenario
            from tf_fakes import RecordingDeployer
            class Breaks:
                name = "breaks"
                async def run(self, ctx):
                    raise RuntimeError("on purpose")
            def build(args):
                return (Scenario.builder("failing").nodes(1)
                        .deployer(lambda: RecordingDeployer([])).workload(Breaks()).build())
            """
        )
    )
    done = raftkv_tf("run", str(path), "--seed", "1", env={"PYTHONPATH": str(REPO / "tests/tf")})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "reason: workload breaks: RuntimeError: on purpose" in done.stdout


def test_an_installed_entry_point_is_listed_and_runs(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "acme_scenarios-1.0.dist-info").mkdir(parents=True)
    (site / "acme_scenarios-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: acme-scenarios\nVersion: 1.0\n"
    )
    (site / "acme_scenarios-1.0.dist-info" / "entry_points.txt").write_text(
        "[raftkv.scenarios]\nacme_quick = acme_scenarios:build\n"
    )
    (site / "acme_scenarios.py").write_text(
        textwrap.dedent(
            '''
            """A quick acme check."""
            from raftkv.tf import Scenario
            from tf_fakes import RecordingDeployer
            class Quick:
                name = "quick"
                async def run(self, ctx): ...
            def build(args):
                """The acme quick scenario."""
                return (Scenario.builder("acme_quick").nodes(1)
                        .deployer(lambda: RecordingDeployer([])).workload(Quick()).build())
            '''
        )
    )
    paths = f"{site}{os.pathsep}{REPO / 'tests/tf'}"
    listed = raftkv_tf("list", env={"PYTHONPATH": paths})
    assert listed.returncode == 0, listed.stderr
    line = next(line for line in listed.stdout.splitlines() if line.startswith("acme_quick"))
    assert "The acme quick scenario." in line
    assert "[entry point acme_quick (acme-scenarios)]" in line
    assert any(line.startswith("basic_failover") for line in listed.stdout.splitlines())
    ran = raftkv_tf("acme_quick", "--seed", "3", env={"PYTHONPATH": paths})
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "PASS acme_quick" in ran.stdout


def test_the_write_log_knows_what_was_sent_acknowledged_and_superseded() -> None:
    writes = WriteLog()
    writes.attempted("k", "a")
    writes.acknowledge("k", "a")
    writes.attempted("k", "b")  # sent, outcome unknown
    assert writes.acknowledged == {"k": "a"}
    assert writes.values("k") == {"a", "b"} and writes.values("other") is None
    assert writes.superseded("k", older="a", newer="b")
    assert not writes.superseded("k", older="b", newer="a")
