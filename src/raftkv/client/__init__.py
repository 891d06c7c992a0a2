"""Clients of the HTTP contract: one node, or a cluster."""
