"""The node runtime: `raftkv-node --config node.yaml` (see `main`).

General layout:
- `config`: the YAML config (reference fields and defaults, extras), one-line field errors.
- `driver`: the one task that feeds the core and carries out each `Ready` in order.
- `transport` (outbound) and `raft_routes` (inbound): one-way peer messages in envelopes.
- `app`, `kv_routes`, `admin`: the HTTP contract; `context`: deadlines, body limits, the
  one-hop forward; `wire`: bodies and envelopes; `waiters`: requests waiting on the log.
- `logs`, `metrics`, `openapi`: one line per event, Prometheus and JSON metrics, the spec.
"""
