"""The scenario framework (TF): deployers, workloads, observer, expectations, nemeses.

General layout:
- a `Scenario` (built with `Scenario.builder(name)`) is data: topology, deployer factory,
  workloads, expectations, observer settings, run timeout;
- `run_scenario` deploys it, runs it and fills a `RunReport`; `raftkv-tf` (`cli`) runs any
  scenario registered with `register(ScenarioEntry(...))`;
- `Deployer` is where nodes run: `LocalDeployer` (processes), `ComposeDeployer`,
  `K8sDeployer`;
- `Observer` polls every node and waits for the rules of `agreement` and `replicas`;
  `settle` waits for the replicas to agree at the end of a run;
- workloads in `workloads`, expectations in `expectations`; both get a `RunContext`.
"""

from .agreement import Leadership
from .context import ExpectationFailed, RunContext, WorkloadFailed
from .deployer import Deployer, NodeEndpoint, NodeSettings, RestartMode, Topology, node_name
from .expectations import ConvergenceExpectation
from .local import LocalDeployer
from .observer import Observer, RuleBroken, WaitTimeout
from .registry import ScenarioEntry, ScenarioSkipped, register
from .report import Reporter, RunReport
from .runner import new_report, run_scenario
from .scenario import Expectation, Scenario, ScenarioBuilder, Workload
from .workloads import FailoverWorkload, bootstrap_cluster

__all__ = [
    "ConvergenceExpectation",
    "Deployer",
    "Expectation",
    "ExpectationFailed",
    "FailoverWorkload",
    "Leadership",
    "LocalDeployer",
    "NodeEndpoint",
    "NodeSettings",
    "Observer",
    "Reporter",
    "RestartMode",
    "RuleBroken",
    "RunContext",
    "RunReport",
    "Scenario",
    "ScenarioBuilder",
    "ScenarioEntry",
    "ScenarioSkipped",
    "Topology",
    "WaitTimeout",
    "Workload",
    "WorkloadFailed",
    "bootstrap_cluster",
    "new_report",
    "node_name",
    "register",
    "run_scenario",
]
