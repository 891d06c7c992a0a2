"""Runnable scenarios: basic_failover, compose_failover, k8s_failover."""
