"""raftkv-bench: throughput, latency and failover, side by side with etcd."""
