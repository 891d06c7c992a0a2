"""Workloads: what a scenario does to the cluster (bootstrap, writes, restarts, ...)."""

from .bootstrap import bootstrap_cluster
from .failover import FailoverWorkload

__all__ = ["FailoverWorkload", "bootstrap_cluster"]
