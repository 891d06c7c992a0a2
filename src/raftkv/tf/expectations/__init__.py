"""Expectations: what must hold during and after the run."""

from .convergence import ConvergenceExpectation, missing_writes
from .invariants import InvariantsExpectation

__all__ = ["ConvergenceExpectation", "InvariantsExpectation", "missing_writes"]
