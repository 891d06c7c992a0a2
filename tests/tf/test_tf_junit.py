"""`--junit PATH` on every scenario: a JUnit XML report of steps and verdict, skips included."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from raftkv.tf import cli
from raftkv.tf.junit import junit_document
from raftkv.tf.registry import scenarios
from raftkv.tf.report import RunReport, StepRecord

REPO = Path(__file__).resolve().parents[2]


def test_every_scenario_takes_junit() -> None:
    for entry in scenarios():
        args = cli.build_parser([entry]).parse_args([entry.name, "--junit", "out.xml"])
        assert args.junit == Path("out.xml"), entry.name


def test_a_failed_run_as_junit() -> None:
    report = RunReport("demo", 7, {"nodes": 3}, deployer="local processes")
    report.steps = [
        StepRecord("deploy 3 nodes", 0.0, 1.5),
        StepRecord("expect x", 2.0, 0.1, ok=False),
    ]
    report.reason = "1 expectation(s) failed"
    report.failures = ["expectation x: keys missing"]
    report.total_s = 2.2
    suite = junit_document(report).getroot()
    assert (suite.get("name"), suite.get("tests"), suite.get("failures")) == ("demo", "3", "2")
    assert suite.get("time") == "2.200"
    names = [case.get("name") for case in suite.iter("testcase")]
    assert names == ["deploy 3 nodes", "expect x", "verdict"]
    verdict = suite.findall("testcase")[-1].find("failure")
    assert verdict is not None and "keys missing" in (verdict.text or "")
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["seed"] == "7" and properties["deployer"] == "local processes"


def run_tf(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO / 'tests/tf'}",
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-m", "raftkv.tf.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


@pytest.mark.parametrize("passes", [True, False], ids=["pass", "fail"])
def test_junit_from_the_command_line(tmp_path: Path, passes: bool) -> None:
    path = tmp_path / "scenario.py"
    path.write_text(
        textwrap.dedent(
            f"""
            from raftkv.tf import Scenario
            from tf_fakes import RecordingDeployer
            class Work:
                name = "work"
                async def run(self, ctx):
                    async with ctx.step("do the work"):
                        if not {passes}:
                            raise RuntimeError("broke")
            def build(args):
                return (Scenario.builder("junit_demo").nodes(1).invariants(False)
                        .deployer(lambda: RecordingDeployer([])).workload(Work()).build())
            """
        )
    )
    junit = tmp_path / "reports" / "junit.xml"
    done = run_tf("run", str(path), "--seed", "1", "--junit", str(junit))
    assert done.returncode == (0 if passes else 1), done.stdout + done.stderr
    assert f"JUnit report: {junit}" in done.stdout
    suite = ET.parse(junit).getroot()
    assert suite.get("name") == "junit_demo" and suite.get("failures") == ("0" if passes else "2")
    assert [c.get("name") for c in suite.iter("testcase")] == [
        "deploy 1 nodes",
        "do the work",
        "verdict",
    ]


def test_a_skipped_scenario_is_a_skipped_junit_case(tmp_path: Path) -> None:
    junit = tmp_path / "k8s.xml"
    done = run_tf("k8s_failover", "--junit", str(junit), extra_env={"RAFTKV_KUBECTL": "false"})
    assert done.returncode == 0, done.stdout + done.stderr
    suite = ET.parse(junit).getroot()
    assert suite.get("skipped") == "1" and suite.get("failures") == "0"
    required = run_tf(
        "k8s_failover",
        "--junit",
        str(junit),
        extra_env={"RAFTKV_KUBECTL": "false", "K8S_RUNNER_REQUIRE_CLUSTER": "true"},
    )
    assert required.returncode == 1
    assert ET.parse(junit).getroot().get("failures") == "1"
