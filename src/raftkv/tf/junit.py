"""A run as a JUnit XML report (`--junit PATH`), for the CI systems that read that format.

One `<testsuite>` named after the scenario, with the seed, settings and deployer as
properties; one `<testcase>` per step (deploy, each workload step, `expect <name>`, ...),
failed when the step failed; and a last `<testcase>` "verdict" that fails with the run's
reason and every expectation failure (its time is the run's). A skipped scenario is one
skipped verdict case; an interrupted run is an error.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .report import INTERRUPTED, RunReport

VERDICT_CASE = "verdict"


def junit_document(report: RunReport) -> ET.ElementTree:
    suite = ET.Element("testsuite", name=report.scenario, timestamp=report.started_at)
    properties = ET.SubElement(suite, "properties")
    for name, value in {
        "seed": report.seed,
        **report.settings,
        "deployer": report.deployer,
    }.items():
        ET.SubElement(properties, "property", name=str(name), value=str(value))
    for step in report.steps:
        case = _case(suite, report.scenario, step.name, step.duration_s)
        if not step.ok:
            ET.SubElement(case, "failure", message=f"step {step.name} failed").text = step.detail
    verdict = _case(suite, report.scenario, VERDICT_CASE, report.total_s)
    if not report.passed:
        kind = "error" if report.verdict == INTERRUPTED else "failure"
        text = "\n".join([report.reason, *report.failures])
        ET.SubElement(verdict, kind, message=report.reason or report.verdict).text = text
    _count(suite)
    return ET.ElementTree(suite)


def skipped_document(scenario: str, reason: str, *, failed: bool = False) -> ET.ElementTree:
    """A scenario that could not run here: skipped, or failed when that was asked for
    (K8S_RUNNER_REQUIRE_CLUSTER)."""
    suite = ET.Element("testsuite", name=scenario)
    case = _case(suite, scenario, VERDICT_CASE, 0.0)
    ET.SubElement(case, "failure" if failed else "skipped", message=reason)
    _count(suite)
    return ET.ElementTree(suite)


def write_junit(document: ET.ElementTree, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.indent(document)
    document.write(path, encoding="utf-8", xml_declaration=True)


def _case(suite: ET.Element, scenario: str, name: str, seconds: float) -> ET.Element:
    return ET.SubElement(
        suite, "testcase", classname=f"raftkv-tf.{scenario}", name=name, time=f"{seconds:.3f}"
    )


def _count(suite: ET.Element) -> None:
    cases = suite.findall("testcase")
    suite.set("tests", str(len(cases)))
    for kind, attribute in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        suite.set(attribute, str(sum(case.find(kind) is not None for case in cases)))
    suite.set("time", cases[-1].get("time", "0") if cases else "0")
