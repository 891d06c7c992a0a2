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

The run window (the reference's): every workload starts at once. Driving workloads (the
default) end the window when the last of them returns; background ones (monitors, nemeses:
`.workload(w, background=True)`, or a workload whose `background` attribute is true) are
then stopped. A scenario with only background workloads runs for its `run_duration`. The
first workload failure aborts the run. Then comes the `cooldown` (a settle window after the
last fault), then every expectation's `evaluate`, all failures reported together.

Expectations have a lifecycle: `start` once the nodes are up, `check_during_run` every
`check_interval` seconds (1 s) from then until the cooldown ends (a failure there ends the
run at once), `evaluate` at the end. Subclass `Expectation` to inherit the no-op `start`
and `check_during_run`. A workload may bring its own expectations (`expectations()`).
Every scenario also checks the Raft invariants during the run (`InvariantsExpectation`)
unless built with `.invariants(False)`.
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


DEFAULT_CHECK_INTERVAL_S = 1.0


class Workload(Protocol):
    """Drives the cluster; raises to fail the run. Optional attributes: `background`
    (true: stopped by the runner when the driving workloads are done) and
    `expectations()` (expectations this workload brings along)."""

    @property
    def name(self) -> str: ...

    async def run(self, ctx: RunContext) -> None: ...


class Expectation(Protocol):
    """What must hold: `start` once the nodes are up, `check_during_run` about once per
    `check_interval` while the run goes on, `evaluate` at the end. Each raises
    `ExpectationFailed` (or anything) to fail the run. Subclass this to inherit the
    no-op `start` and `check_during_run`."""

    name: str

    async def start(self, ctx: RunContext) -> None:
        """Begin capturing (the nodes are deployed, the workloads not started yet)."""
        return None

    async def check_during_run(self, ctx: RunContext) -> None:
        """A continuous check; raising ends the run at once as failed."""
        return None

    async def evaluate(self, ctx: RunContext) -> None: ...


EXPECTATION_METHODS = ("start", "check_during_run", "evaluate")


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
    background: tuple[Workload, ...] = ()
    """Workloads the runner stops once the driving ones (`workloads`) are done."""
    run_duration: float | None = None
    """The run window: how long background-only scenarios run, and what workloads read
    from `ctx.run_duration` to bound themselves. Driving workloads that finish earlier end
    the window earlier; ones still running when it is over are waited for."""
    cooldown: float = 0.0
    """Seconds between the end of the window (background workloads stopped) and the
    evaluation, continuous checks still running: a settle window after the last fault."""
    check_interval: float = DEFAULT_CHECK_INTERVAL_S

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
        self._background: list[Workload] = []
        self._expectations: list[Expectation] = []
        self._observer = ObserverSettings()
        self._run_timeout = 120.0
        self._run_duration: float | None = None
        self._cooldown = 0.0
        self._check_interval = DEFAULT_CHECK_INTERVAL_S
        self._invariants = True

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

    def workload(self, workload: Workload, *, background: bool | None = None) -> ScenarioBuilder:
        """Adds a workload; `background` defaults to the workload's own `background`
        attribute (false when it has none)."""
        if background is None:
            background = bool(getattr(workload, "background", False))
        (self._background if background else self._workloads).append(workload)
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

    def run_duration(self, seconds: float) -> ScenarioBuilder:
        self._run_duration = seconds
        return self

    def cooldown(self, seconds: float) -> ScenarioBuilder:
        self._cooldown = seconds
        return self

    def check_interval(self, seconds: float) -> ScenarioBuilder:
        """How often `check_during_run` is called (default 1 s)."""
        self._check_interval = seconds
        return self

    def invariants(self, enabled: bool = True) -> ScenarioBuilder:
        """Whether the built-in `InvariantsExpectation` is added (default: yes)."""
        self._invariants = enabled
        return self

    def build(self) -> Scenario:
        expectations = self._all_expectations()
        self._check(expectations)
        assert self._deployer is not None, "_check requires a deployer"
        return Scenario(
            name=self._name,
            topology=self._topology,
            deployer_factory=self._deployer,
            workloads=tuple(self._workloads),
            expectations=tuple(expectations),
            observer=self._observer,
            run_timeout=self._run_timeout,
            description=self._description,
            background=tuple(self._background),
            run_duration=self._run_duration,
            cooldown=self._cooldown,
            check_interval=self._check_interval,
        )

    def _all_expectations(self) -> list[Expectation]:
        """The invariants first (unless turned off), then the workloads' own, then the
        scenario's."""
        from .expectations.invariants import InvariantsExpectation

        found: list[Expectation] = [InvariantsExpectation()] if self._invariants else []
        for workload in (*self._workloads, *self._background):
            brought = getattr(workload, "expectations", None)
            if callable(brought):
                found.extend(brought())
        found.extend(self._expectations)
        return found

    def _check(self, expectations: list[Expectation]) -> None:
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
        if not self._workloads and not self._background:
            raise ScenarioError(f"{where}: no workload (call .workload(...))")
        if not self._workloads and self._run_duration is None:
            raise ScenarioError(
                f"{where}: only background workloads: set .run_duration(...) to end the run"
            )
        workloads = [*self._workloads, *self._background]
        names = [w.name for w in workloads] + [e.name for e in expectations]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ScenarioError(f"{where}: duplicate workload/expectation names {duplicates}")
        for expectation in expectations:
            missing = [
                m for m in EXPECTATION_METHODS if not callable(getattr(expectation, m, None))
            ]
            if missing:
                raise ScenarioError(
                    f"{where}: expectation {expectation.name!r} has no {', '.join(missing)} "
                    "(subclass raftkv.tf.Expectation for the defaults)"
                )
        if self._run_timeout <= 0 or self._observer.interval <= 0:
            raise ScenarioError(f"{where}: run timeout and observer interval must be positive")
        if self._check_interval <= 0 or self._cooldown < 0:
            raise ScenarioError(f"{where}: check interval must be positive, cooldown >= 0")
        if self._run_duration is not None and self._run_duration <= 0:
            raise ScenarioError(f"{where}: run duration must be positive")
