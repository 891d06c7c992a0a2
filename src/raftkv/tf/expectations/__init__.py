"""Expectations: what must hold once the workloads are done."""

from .convergence import ConvergenceExpectation, convergence

__all__ = ["ConvergenceExpectation", "convergence"]
