"""Nemeses of the chaos scenario: faults injected into a live cluster under load.

`NemesisWorkload` draws a reproducible schedule of faults (seeded from the run's RNG),
injects each, holds it, heals it, and records a `FaultEvent` per fault. Kinds that the
deployer or machine cannot do are listed by `unsupported_kinds` and skipped.
"""

from .events import KINDS, FaultEvent
from .support import unsupported_kinds
from .workload import NemesisWorkload

__all__ = ["KINDS", "FaultEvent", "NemesisWorkload", "unsupported_kinds"]
