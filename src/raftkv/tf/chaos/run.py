"""What the parts of one chaos run share: settings, clients, nemesis, final state, verdicts.

The workload fills the history and nemesis events; the convergence expectation fills the
final state, which the durability expectation waits for; the report expectation waits for
every check's result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from raftkv.tf.nemesis import KINDS, NemesisWorkload

from .checks import CHECK_NAMES, CheckResult
from .clients import ChaosClients, ClientSettings


@dataclass(frozen=True, slots=True)
class ChaosSettings:
    """Everything a chaos run is configured with (besides seed and node timings)."""

    kinds: tuple[str, ...] = KINDS
    duration: float = 60.0
    clients: ClientSettings = field(default_factory=ClientSettings)
    check_time_limit: float = 60.0
    """Seconds the linearizability search may take over all keys."""
    settle_timeout: float = 60.0
    """Seconds to wait for a leader, then again for convergence, after the faults."""
    report_dir: Path | None = None

    def __post_init__(self) -> None:
        unknown = [kind for kind in self.kinds if kind not in KINDS]
        if unknown or not self.kinds:
            raise ValueError(f"--nemesis takes some of {','.join(KINDS)}; got {list(self.kinds)}")
        if not self.duration > 0:
            raise ValueError(f"--duration must be positive, got {self.duration:g}")
        if not self.check_time_limit > 0 or not self.settle_timeout > 0:
            raise ValueError("check time limit and settle timeout must be positive")


@dataclass(frozen=True, slots=True)
class FinalState:
    """The state every member converged on after the faults were healed."""

    applied: int
    kv: dict[str, str]
    """The whole map (`kv_whole`), or the final values of the keys the history wrote when
    the nodes left their maps out of `/state` for their size."""
    nodes: tuple[str, ...]
    digest: str | None = None
    """The `kv_digest` every member reported (None: the nodes report none)."""
    kv_whole: bool = True


class ChaosRun:
    """The shared state of one run; `begin` starts it afresh (a scenario may run again)."""

    def __init__(self, settings: ChaosSettings) -> None:
        self.settings = settings
        self.begin()

    def begin(self) -> None:
        """Fresh clients, nemesis and results for a new run."""
        settings = self.settings
        self.clients = ChaosClients(settings.clients)
        self.nemesis = NemesisWorkload(settings.kinds, duration=settings.duration)
        self.final: FinalState | None = None
        self.unsettled = ""
        """Why there is no final state (the wait that timed out)."""
        self.aborted = ""
        """Why the workload stopped early, if it did."""
        self.results: dict[str, CheckResult] = {}
        self._settled = asyncio.Event()
        self._checked = asyncio.Event()

    def settle(self, final: FinalState | None, why_not: str = "") -> None:
        """Records the final state, or why there is none; wakes `wait_settled`."""
        self.final, self.unsettled = final, why_not
        self._settled.set()

    async def wait_settled(self) -> FinalState | None:
        await self._settled.wait()
        return self.final

    def record(self, result: CheckResult) -> None:
        self.results[result.name] = result
        if all(name in self.results for name in CHECK_NAMES):
            self._checked.set()

    async def wait_checked(self) -> Sequence[CheckResult]:
        """Every check's result, once all are in, in `CHECK_NAMES` order."""
        await self._checked.wait()
        return [self.results[name] for name in CHECK_NAMES]

    @property
    def passed(self) -> bool:
        checked = all(name in self.results for name in CHECK_NAMES)
        return checked and not self.aborted and all(r.ok for r in self.results.values())
