"""What workloads and expectations get: the deployed cluster and the run's bookkeeping."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from raftkv.core.errors import RaftKVError

from .clients import ClientPool
from .deployer import Deployer, NodeEndpoint, Topology
from .observer import Observer
from .report import Reporter, RunReport, StepRecord


class ExpectationFailed(RaftKVError):
    """An expectation does not hold; the message says what was seen."""


class WorkloadFailed(RaftKVError):
    """A workload could not do its job; the message names the step."""


@dataclass(slots=True)
class RunContext:
    """One run of a scenario. `acknowledged` holds every write a node acknowledged (key to
    value), which expectations compare with what the nodes hold."""

    topology: Topology
    deployer: Deployer
    endpoints: dict[str, NodeEndpoint]
    observer: Observer
    clients: ClientPool
    rng: random.Random
    report: RunReport
    reporter: Reporter
    started: float = field(default_factory=time.monotonic)
    acknowledged: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return self.topology.names()

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @contextlib.asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[StepRecord]:
        """Times a step and reports it when it ends; set `.detail` on the record to add to
        its line. A step that raises is reported as failed and the error goes on."""
        record = StepRecord(name=name, started_s=round(self.elapsed(), 4))
        begun = time.monotonic()
        try:
            yield record
        except BaseException:
            record.ok = False
            raise
        finally:
            record.duration_s = round(time.monotonic() - begun, 4)
            self.report.steps.append(record)
            self.reporter.step(record)

    def measure(self, name: str, seconds: float) -> None:
        """Records a named measurement (seconds) for the summary and the JSON report."""
        self.report.timings[name] = round(seconds, 4)

    def fact(self, name: str, value: object) -> None:
        self.report.facts[name] = value
