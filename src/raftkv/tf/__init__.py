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
- workloads in `workloads`, expectations in `expectations`; both get a `RunContext`;
  `window` runs the workloads, the cooldown and the expectations' continuous checks;
  `invariants` holds the rules `InvariantsExpectation` checks during every run;
- `writes` records every write of the run's cluster clients.

Writing a scenario of your own: docs/writing-scenarios.md.
"""

from .agreement import Leadership
from .context import ExpectationFailed, RunContext, WorkloadFailed
from .deployer import Deployer, NodeEndpoint, NodeSettings, RestartMode, Topology, node_name
from .expectations import ConvergenceExpectation, InvariantsExpectation
from .local import LocalDeployer
from .observer import Observer, RuleBroken, WaitTimeout
from .registry import ScenarioEntry, ScenarioSkipped, load_file, register
from .report import Reporter, RunReport
from .runner import new_report, run_scenario
from .scenario import Expectation, Scenario, ScenarioBuilder, Workload
from .workloads import FailoverWorkload, bootstrap_cluster
from .writes import RecordingClusterClient, WriteLog

__all__ = [
    "ConvergenceExpectation",
    "Deployer",
    "Expectation",
    "ExpectationFailed",
    "FailoverWorkload",
    "InvariantsExpectation",
    "Leadership",
    "LocalDeployer",
    "NodeEndpoint",
    "NodeSettings",
    "Observer",
    "RecordingClusterClient",
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
    "WriteLog",
    "bootstrap_cluster",
    "load_file",
    "new_report",
    "node_name",
    "register",
    "run_scenario",
]
