"""Storage: the durable log store, hard state, snapshots and node identity."""
