"""The fluent scenario builder: what it builds and what it refuses."""

from __future__ import annotations

import pytest
from tf_fakes import RecordingDeployer

from raftkv.tf.deployer import NodeSettings
from raftkv.tf.expectations import ConvergenceExpectation
from raftkv.tf.scenario import Scenario, ScenarioError
from raftkv.tf.workloads import FailoverWorkload


def base() -> object:
    return (
        Scenario.builder("demo")
        .deployer(lambda: RecordingDeployer([]))
        .workload(FailoverWorkload())
    )


def test_builds_a_scenario_from_every_part() -> None:
    scenario = (
        Scenario.builder("demo")
        .describe("a demo")
        .nodes(5)
        .node_settings(heartbeat_interval_ms=50, election_timeout_min_ms=300)
        .deployer(lambda: RecordingDeployer([]))
        .workload(FailoverWorkload(restart_mode="kill"))
        .expectation(ConvergenceExpectation(timeout=3))
        .observer(interval=0.05, request_timeout=0.5)
        .run_timeout(30)
        .build()
    )
    assert scenario.topology.nodes == 5
    assert scenario.topology.settings == NodeSettings(
        heartbeat_interval_ms=50, election_timeout_min_ms=300, election_timeout_max_ms=1000
    )
    assert [w.name for w in scenario.workloads] == ["failover"]
    assert [e.name for e in scenario.expectations] == ["invariants", "convergence"]
    assert scenario.observer.interval == 0.05 and scenario.run_timeout == 30
    assert isinstance(scenario.deployer_factory(), RecordingDeployer)


REFUSED = [
    pytest.param(lambda b: b.nodes(0), "at least one node", id="no-nodes"),
    pytest.param(
        lambda b: b.node_settings(heartbeat_interval_ms=600), "heartbeat", id="slow-heartbeat"
    ),
    pytest.param(
        lambda b: b.node_settings(election_timeout_min_ms=1000), "min must be below", id="min>=max"
    ),
    pytest.param(lambda b: b.workload(FailoverWorkload()), "duplicate", id="duplicate-names"),
    pytest.param(lambda b: b.run_timeout(0), "must be positive", id="zero-timeout"),
]


@pytest.mark.parametrize(("change", "message"), REFUSED)
def test_refuses_a_scenario_that_cannot_run(change, message) -> None:
    builder = base()
    change(builder)
    with pytest.raises(ScenarioError, match=message):
        builder.build()  # type: ignore[attr-defined]


def test_refuses_unknown_node_settings() -> None:
    with pytest.raises(ScenarioError, match="heartbeat_ms"):
        Scenario.builder("demo").node_settings(heartbeat_ms=10)


def test_needs_a_deployer_and_a_workload() -> None:
    with pytest.raises(ScenarioError, match="no deployer"):
        Scenario.builder("demo").workload(FailoverWorkload()).build()
    with pytest.raises(ScenarioError, match="no workload"):
        Scenario.builder("demo").deployer(lambda: RecordingDeployer([])).build()


def test_failover_workload_checks_its_options() -> None:
    with pytest.raises(ValueError, match="restart mode"):
        FailoverWorkload(restart_mode="reboot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one write"):
        FailoverWorkload(first_batch=0)
    settings = NodeSettings(election_timeout_max_ms=2000)
    assert FailoverWorkload().write_deadline(settings) == pytest.approx(16.0)
    assert FailoverWorkload(write_timeout=4).write_deadline(settings) == 4
