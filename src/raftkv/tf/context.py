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
from .writes import WriteLog


class ExpectationFailed(RaftKVError):
    """An expectation does not hold; the message says what was seen."""


class WorkloadFailed(RaftKVError):
    """A workload could not do its job; the message names the step."""


@dataclass(slots=True)
class RunContext:
    """One run of a scenario. `writes` records every write of the run's cluster clients;
    `acknowledged` (key to the last acknowledged value) is what expectations compare with
    what the nodes hold. `run_duration` is the scenario's run window (None: unbounded)."""

    topology: Topology
    deployer: Deployer
    endpoints: dict[str, NodeEndpoint]
    observer: Observer
    clients: ClientPool
    rng: random.Random
    report: RunReport
    reporter: Reporter
    started: float = field(default_factory=time.monotonic)
    writes: WriteLog = field(default_factory=WriteLog)
    run_duration: float | None = None

    @property
    def acknowledged(self) -> dict[str, str]:
        return self.writes.acknowledged

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


def describe_error(error: BaseException) -> str:
    """Our own errors say what happened; anything else also needs its type."""
    text = str(error)
    if isinstance(error, RaftKVError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
