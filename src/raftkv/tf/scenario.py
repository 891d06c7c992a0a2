"""A scenario is data: topology, deployer, workloads, expectations, observer, run timeout.

Build one with the fluent builder and hand it to the runner:

    scenario = (
        Scenario.builder("basic_failover")
        .nodes(3)
        .node_settings(heartbeat_interval_ms=100)
        .deployer(LocalDeployer)
        .workload(FailoverWorkload())
        .expectation(ConvergenceExpectation())
        .run_timeout(60)
        .build()
    )

Workloads run concurrently and the first failure aborts the others; expectations run after
the workloads and every failure is reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .deployer import Deployer, NodeSettings, Topology
from .observer import DEFAULT_INTERVAL

if TYPE_CHECKING:
    from .context import RunContext

DeployerFactory = Callable[[], Deployer]


class Workload(Protocol):
    """Drives the cluster; raises to fail the run."""

    @property
    def name(self) -> str: ...

    async def run(self, ctx: RunContext) -> None: ...


class Expectation(Protocol):
    """Checks the cluster after the workloads; raises `ExpectationFailed` (or anything) to
    fail the run."""

    @property
    def name(self) -> str: ...

    async def check(self, ctx: RunContext) -> None: ...


@dataclass(frozen=True, slots=True)
class ObserverSettings:
    interval: float = DEFAULT_INTERVAL
    request_timeout: float = 1.0


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    topology: Topology
    deployer_factory: DeployerFactory
    workloads: tuple[Workload, ...]
    expectations: tuple[Expectation, ...]
    observer: ObserverSettings
    run_timeout: float
    description: str = ""

    @staticmethod
    def builder(name: str) -> ScenarioBuilder:
        return ScenarioBuilder(name)


class ScenarioError(ValueError):
    """A scenario that cannot run; the message says which part is wrong."""


class ScenarioBuilder:
    """Fluent construction of a `Scenario`; every method returns the builder."""

    def __init__(self, name: str) -> None:
        if not name:
            raise ScenarioError("a scenario needs a name")
        self._name = name
        self._description = ""
        self._topology = Topology()
        self._deployer: DeployerFactory | None = None
        self._workloads: list[Workload] = []
        self._expectations: list[Expectation] = []
        self._observer = ObserverSettings()
        self._run_timeout = 120.0

    def describe(self, text: str) -> ScenarioBuilder:
        self._description = text
        return self

    def nodes(self, count: int) -> ScenarioBuilder:
        self._topology = dataclasses.replace(self._topology, nodes=count)
        return self

    def node_settings(
        self, settings: NodeSettings | None = None, **overrides: object
    ) -> ScenarioBuilder:
        """Replaces the node settings, then applies `overrides` field by field."""
        base = settings or self._topology.settings
        try:
            updated = dataclasses.replace(base, **overrides)  # type: ignore[arg-type]
        except TypeError as error:
            raise ScenarioError(f"node settings: {error}") from None
        self._topology = dataclasses.replace(self._topology, settings=updated)
        return self

    def topology(self, topology: Topology) -> ScenarioBuilder:
        self._topology = topology
        return self

    def deployer(self, factory: DeployerFactory) -> ScenarioBuilder:
        """A callable returning a fresh deployer (a Deployer class works), called per run."""
        self._deployer = factory
        return self

    def workload(self, workload: Workload) -> ScenarioBuilder:
        self._workloads.append(workload)
        return self

    def expectation(self, expectation: Expectation) -> ScenarioBuilder:
        self._expectations.append(expectation)
        return self

    def observer(
        self, interval: float = DEFAULT_INTERVAL, request_timeout: float = 1.0
    ) -> ScenarioBuilder:
        self._observer = ObserverSettings(interval, request_timeout)
        return self

    def run_timeout(self, seconds: float) -> ScenarioBuilder:
        self._run_timeout = seconds
        return self

    def build(self) -> Scenario:
        self._check()
        assert self._deployer is not None, "_check requires a deployer"
        return Scenario(
            name=self._name,
            topology=self._topology,
            deployer_factory=self._deployer,
            workloads=tuple(self._workloads),
            expectations=tuple(self._expectations),
            observer=self._observer,
            run_timeout=self._run_timeout,
            description=self._description,
        )

    def _check(self) -> None:
        where = f"scenario {self._name!r}"
        settings = self._topology.settings
        if self._topology.nodes < 1:
            raise ScenarioError(f"{where}: needs at least one node, got {self._topology.nodes}")
        if not 0 < settings.heartbeat_interval_ms < settings.election_timeout_min_ms:
            raise ScenarioError(
                f"{where}: heartbeat must be positive and below the election timeout"
            )
        if settings.election_timeout_min_ms >= settings.election_timeout_max_ms:
            raise ScenarioError(f"{where}: election timeout min must be below max")
        if self._deployer is None:
            raise ScenarioError(f"{where}: no deployer (call .deployer(...))")
        if not self._workloads:
            raise ScenarioError(f"{where}: no workload (call .workload(...))")
        names = [w.name for w in self._workloads] + [e.name for e in self._expectations]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ScenarioError(f"{where}: duplicate workload/expectation names {duplicates}")
        if self._run_timeout <= 0 or self._observer.interval <= 0:
            raise ScenarioError(f"{where}: run timeout and observer interval must be positive")
