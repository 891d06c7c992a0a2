"""Expectations: what must hold once the workloads are done."""

from .convergence import ConvergenceExpectation, missing_writes

__all__ = ["ConvergenceExpectation", "missing_writes"]
